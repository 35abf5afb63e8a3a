#!/usr/bin/env node
/**
 * Writes small random checkpoints of each architecture the decoder model runs, for tests and
 * benchmarks:
 *   <out>/llama/model.bin                         llama2.c v0 (interleaved RoPE, SwiGLU, GQA)
 *   <out>/llama-hf/{config.json,model.safetensors}  the same Llama, Hugging Face layout (half-split q/k rows)
 *   <out>/gpt2/{config.json,model.safetensors}      GPT-2 (Conv1D weights, fused c_attn, learned positions)
 *   <out>/gpt1/{config.json,model.safetensors}      post-norm sinusoidal decoder (model_type "rotor")
 *
 * Usage: node tools/make-random-checkpoint.mjs [out-dir] [--seed N] [--dim D] [--layers L]
 *        [--heads H] [--kv-heads K] [--hidden F] [--vocab V] [--context S]
 * Needs `pnpm build` (it imports @rotor/decoder-model's dist).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  randomGpt1Weights,
  randomGpt2Weights,
  randomLlamaWeights,
  serializeHuggingFaceModel,
  serializeLlama2cCheckpoint,
} from '../packages/decoder-model/dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '1' },
    dim: { type: 'string', default: '64' },
    layers: { type: 'string', default: '2' },
    heads: { type: 'string', default: '4' },
    'kv-heads': { type: 'string', default: '2' },
    hidden: { type: 'string', default: '128' },
    vocab: { type: 'string', default: '512' },
    context: { type: 'string', default: '128' },
  },
});
const integer = (name) => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`make-random-checkpoint: --${name}: expected a positive integer, found ${values[name]}`);
    process.exit(2);
  }
  return value;
};
const out = resolve(positionals[0] ?? 'random-checkpoints');
const seed = integer('seed');
const shape = {
  modelDim: integer('dim'),
  hiddenDim: integer('hidden'),
  numLayers: integer('layers'),
  numHeads: integer('heads'),
  numKvHeads: integer('kv-heads'),
  vocabSize: integer('vocab'),
  maxSequenceLength: integer('context'),
};
const fullHeads = { ...shape, numKvHeads: shape.numHeads };

const write = (folder, files) => {
  mkdirSync(join(out, folder), { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(out, folder, name), data);
    console.log(join(out, folder, name));
  }
};
const huggingFace = (weights) => {
  const { config, safetensors } = serializeHuggingFaceModel(weights);
  return { 'config.json': `${JSON.stringify(config, null, 2)}\n`, 'model.safetensors': safetensors };
};

const llama = randomLlamaWeights(shape, seed);
write('llama', { 'model.bin': serializeLlama2cCheckpoint(llama) });
write('llama-hf', huggingFace(llama));
write('gpt2', huggingFace(randomGpt2Weights(fullHeads, seed)));
write('gpt1', huggingFace(randomGpt1Weights(fullHeads, seed)));
