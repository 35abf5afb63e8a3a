import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRotorError } from '@rotor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { serializeLlama2cCheckpoint } from '../loaders/llama2c.js';
import { serializeHuggingFaceModel, serializeSafetensors } from '../loaders/safetensors.js';
import { randomGpt2Weights, randomLlamaWeights } from '../random-weights.js';
import { readModelWeightsFile } from './index.js';

const shape = {
  modelDim: 16,
  hiddenDim: 24,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 2,
  vocabSize: 20,
  maxSequenceLength: 8,
};

describe('readModelWeightsFile', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rotor-weights-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('reads a Hugging Face folder given as the folder, its config.json or its .safetensors', async () => {
    const weights = randomGpt2Weights(shape, 2);
    const { config, safetensors } = serializeHuggingFaceModel(weights);
    writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
    writeFileSync(join(folder, 'model.safetensors'), safetensors);
    for (const path of [folder, join(folder, 'config.json'), join(folder, 'model.safetensors')]) {
      const progress: { loaded: number; total?: number }[] = [];
      const read = await readModelWeightsFile(path, { onProgress: (p) => progress.push(p) });
      expect(progress.at(-1)).toEqual({ loaded: safetensors.byteLength, total: safetensors.byteLength });
      expect(read.config).toEqual(weights.config);
      expect(read.tensors.get('layers.0.wk')).toEqual(weights.tensors.get('layers.0.wk'));
    }
  });

  it('reads sharded safetensors through model.safetensors.index.json', async () => {
    const sharded = mkdtempSync(join(folder, 'sharded-'));
    const weights = randomLlamaWeights(shape, 3);
    const { config, safetensors } = serializeHuggingFaceModel(weights);
    const { parseSafetensors } = await import('../loaders/safetensors.js');
    const all = [...parseSafetensors(safetensors)];
    const halves = [all.slice(0, 4), all.slice(4)];
    const weightMap: Record<string, string> = {};
    halves.forEach((half, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      for (const [name] of half) weightMap[name] = file;
      const entries = half.map(
        ([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: t.data }] as const,
      );
      writeFileSync(join(sharded, file), serializeSafetensors(new Map(entries)));
    });
    writeFileSync(join(sharded, 'config.json'), JSON.stringify(config));
    writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    const read = await readModelWeightsFile(sharded);
    const bin = join(folder, 'model.bin');
    writeFileSync(bin, serializeLlama2cCheckpoint(weights));
    expect(read.tensors.get('layers.0.w2')).toEqual(
      (await readModelWeightsFile(bin)).tensors.get('layers.0.w2'),
    );
  });

  it('reports unreadable files and bad JSON with typed errors', async () => {
    const broken = mkdtempSync(join(folder, 'broken-'));
    writeFileSync(join(broken, 'config.json'), '{"model_type":');
    for (const path of [join(folder, 'missing.bin'), broken, join(folder, 'nothing-here', 'config.json')]) {
      const error = await readModelWeightsFile(path).catch((e: unknown) => e);
      expect(isRotorError(error), String(error)).toBe(true);
    }
  });
});
