import { readFile } from 'node:fs/promises';
import {
  createReferenceBackend,
  createWasmBackend,
  dequantizeBlocks,
  quantizeBlocks,
} from '@rotor/attention-core';
import type { Backend } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { readGguf } from '@rotor/tokenizer';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { serializeGguf } from './export/gguf.js';
import { parseGgufWeights } from './loaders/gguf.js';
import { parseLlama2cCheckpoint } from './loaders/llama2c.js';
import { DecoderModel, type DecoderModelOptions } from './model.js';
import { loadLanguageModelFile } from './node/index.js';
import { randomLlamaWeights } from './random-weights.js';
import { type ModelWeights, requireTensor, weightNames } from './weights.js';

async function buildModel(
  weights: ModelWeights,
  backend: Backend,
  options: Partial<DecoderModelOptions> = {},
): Promise<DecoderModel> {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
  });
  return DecoderModel.create(weights, { backend, positionalEncoding, ...options });
}

/** A reference backend that declares only f32 and i32 (as a backend without quantized kernels would). */
function f32OnlyBackend(): Backend {
  const inner = createReferenceBackend();
  const capabilities = { ...inner.capabilities, dtypes: ['f32', 'i32'] as const };
  return new Proxy(inner, {
    get: (target, key) => {
      if (key === 'capabilities') return capabilities;
      if (key === 'upload') {
        return (data: Float32Array, shape: number[], dtype = 'f32') => {
          if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`uploaded ${dtype}`);
          return target.upload(data, shape, dtype);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Logits of a model fed `ids` one at a time (teacher-forced). */
async function stepLogits(model: DecoderModel, ids: readonly number[]): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (let p = 0; p < ids.length; p++) rows.push(await model.forward([ids[p]], p));
  return rows;
}

function argmaxOf(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Top-1 agreement and mean cosine similarity of two runs' logits, position by position. */
function agreement(
  expected: Float32Array[],
  actual: Float32Array[],
): { top1: number; cosine: number; minCosine: number } {
  let same = 0;
  let total = 0;
  let minimum = 1;
  for (let p = 0; p < expected.length; p++) {
    if (argmaxOf(expected[p]) === argmaxOf(actual[p])) same++;
    const c = cosine(expected[p], actual[p]);
    total += c;
    minimum = Math.min(minimum, c);
  }
  return { top1: same / expected.length, cosine: total / expected.length, minCosine: minimum };
}

const shape = {
  modelDim: 64,
  hiddenDim: 96,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 64,
  maxSequenceLength: 32,
};

describe('quantized weights', () => {
  const weights = randomLlamaWeights(shape, 3);
  const ids = [1, 5, 9, 2, 33, 17, 8, 40];

  it('GGUF Q8_0/Q4_0 written by serializeGguf reads back with readGguf, kept quantized on request', () => {
    for (const weightType of ['q8_0', 'q4_0'] as const) {
      const bytes = serializeGguf(weights, { weightType });
      const file = readGguf(bytes);
      const types = new Map(file.tensors.map((t) => [t.name, t.typeName]));
      expect(types.get('blk.0.attn_q.weight')).toBe(weightType.toUpperCase());
      expect(types.get('blk.0.attn_norm.weight')).toBe('F32');
      expect(file.metadata.get('llama.block_count')).toEqual({ type: 'uint32', value: 2 });
      const kept = parseGgufWeights(bytes, { keepQuantized: true });
      // GGUF stores the epsilon as float32
      expect(kept.config).toEqual({
        ...weights.config,
        normEpsilon: Math.fround(weights.config.normEpsilon),
      });
      expect(kept.quantized?.get(weightNames.w2(1))?.dtype).toBe(weightType);
      expect(kept.tensors.has(weightNames.w2(1))).toBe(false);
      // tied: the embedding is f32 for lookups, its blocks are the classifier
      expect(kept.tensors.get(weightNames.tokenEmbedding)?.dtype).toBe('f32');
      expect(kept.quantized?.get(weightNames.classifier)?.dtype).toBe(weightType);
      const plain = parseGgufWeights(bytes);
      expect(plain.quantized).toBeUndefined();
      const wq = kept.quantized?.get(weightNames.wq(0));
      expect(Array.from(requireTensor(kept, weightNames.wq(0), [64, 64]).data)).toEqual(
        Array.from(dequantizeBlocks(wq!.data as Uint8Array, weightType, 64 * 64)),
      );
      expect(Array.from(plain.tensors.get(weightNames.wq(0))!.data)).toEqual(
        Array.from(dequantizeBlocks(wq!.data as Uint8Array, weightType, 64 * 64)),
      );
    }
    const f32 = parseGgufWeights(serializeGguf(weights));
    for (const [name, tensor] of weights.tensors) {
      expect(Array.from(f32.tensors.get(name)!.data), name).toEqual(Array.from(tensor.data));
    }
  });

  it('quantized matmuls on the reference equal f32 matmuls on dequantised weights; f32-only backends fall back', async () => {
    const kept = parseGgufWeights(serializeGguf(weights, { weightType: 'q8_0' }), { keepQuantized: true });
    const dequantised = parseGgufWeights(serializeGguf(weights, { weightType: 'q8_0' }));
    const fromKept = await stepLogits(await buildModel(kept, createReferenceBackend()), ids);
    const fromF32 = await stepLogits(await buildModel(dequantised, createReferenceBackend()), ids);
    const fallback = await stepLogits(await buildModel(kept, f32OnlyBackend(), { quantize: 'q8_0' }), ids);
    // quantize at upload: the matrices (and a separate classifier copy) quantized, the embedding table f32
    const tensors = new Map(weights.tensors);
    for (const [name, tensor] of weights.tensors) {
      if (tensor.shape.length === 2 && name !== weightNames.tokenEmbedding) {
        tensors.set(name, {
          ...tensor,
          data: dequantizeBlocks(quantizeBlocks(tensor.data, 'q8_0'), 'q8_0', tensor.data.length),
        });
      }
    }
    const embedding = weights.tensors.get(weightNames.tokenEmbedding)!;
    tensors.set(weightNames.classifier, {
      ...embedding,
      data: dequantizeBlocks(quantizeBlocks(embedding.data, 'q8_0'), 'q8_0', embedding.data.length),
    });
    const untied = { config: { ...weights.config, tiedEmbeddings: false }, tensors };
    const onTheFly = await stepLogits(
      await buildModel(weights, createReferenceBackend(), { quantize: 'q8_0' }),
      ids,
    );
    const expected = await stepLogits(await buildModel(untied, createReferenceBackend()), ids);
    for (let p = 0; p < ids.length; p++) {
      expect(Array.from(fromKept[p])).toEqual(Array.from(fromF32[p]));
      expect(Array.from(fallback[p])).toEqual(Array.from(fromF32[p]));
      expect(Array.from(onTheFly[p])).toEqual(Array.from(expected[p]));
    }
  });

  it('runs quantized on the wasm backend close to the reference, and a decode step allocates no tensors', async () => {
    for (const quantize of ['q8_0', 'q4_0'] as const) {
      const backend = await createWasmBackend({ threads: 1 });
      const model = await buildModel(weights, backend, { quantize });
      const reference = await stepLogits(
        await buildModel(weights, createReferenceBackend(), { quantize }),
        ids,
      );
      const counts = { allocate: 0, upload: 0, view: 0 };
      for (const method of Object.keys(counts) as (keyof typeof counts)[]) {
        const original = backend[method].bind(backend) as (...args: unknown[]) => unknown;
        (backend as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          counts[method]++;
          return original(...args);
        };
      }
      const wasm = await stepLogits(model, ids);
      expect(counts).toEqual({ allocate: 0, upload: 0, view: 0 });
      const { minCosine } = agreement(reference, wasm);
      expect(minCosine).toBeGreaterThan(0.999);
      backend.destroy();
    }
  });

  it('rejects an unknown quantize option', async () => {
    await expect(
      buildModel(weights, createReferenceBackend(), { quantize: 'q5_0' as 'q8_0' }),
    ).rejects.toThrow(/quantize: expected "q8_0" or "q4_0"/);
  });
});

describeWithFixtures(
  'stories260K quantized to Q8_0 and Q4_0 GGUF',
  ['stories260K/stories260K.bin', 'stories260K/stories260K.gguf', 'stories260K/tok512.bin'],
  () => {
    it('runs on wasm; logits agree with f32 over 200 positions', async () => {
      const bin = parseLlama2cCheckpoint(await readFile(fixturePath('stories260K/stories260K.bin')));
      const vocabulary = readGguf(await readFile(fixturePath('stories260K/stories260K.gguf'))).metadata;
      const tokenizerKeys = new Map([...vocabulary].filter(([key]) => key.startsWith('tokenizer.')));
      const backend = await createWasmBackend({ threads: 1 });
      const f32Model = await buildModel(bin, backend);
      // the f32 model's own greedy continuation, then teacher-forced into every model
      const ids = [1];
      for (let p = 0; ids.length < 200; p++) ids.push(argmaxOf(await f32Model.forward([ids[p]], p)));
      f32Model.dispose();
      const expected = await stepLogits(await buildModel(bin, backend), ids);
      const results: Record<string, ReturnType<typeof agreement>> = {};
      for (const weightType of ['q8_0', 'q4_0'] as const) {
        const bytes = serializeGguf(bin, { weightType, metadata: tokenizerKeys, name: 'stories260K' });
        const weights = parseGgufWeights(bytes, { keepQuantized: true });
        const model = await buildModel(weights, backend);
        results[weightType] = agreement(expected, await stepLogits(model, ids));
        model.dispose();
      }
      console.log(`stories260K logits vs f32 over 200 positions (wasm): ${JSON.stringify(results)}`);
      expect(results.q8_0.top1).toBeGreaterThan(0.9);
      expect(results.q8_0.cosine).toBeGreaterThan(0.99);
      expect(results.q4_0.top1).toBeGreaterThan(0.5);
      expect(results.q4_0.cosine).toBeGreaterThan(0.9);
      backend.destroy();
    });

    it('a Q8_0 GGUF with the embedded vocabulary generates text like the f32 model', async () => {
      const { writeFile, mkdtemp } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const source = await readFile(fixturePath('stories260K/stories260K.gguf'));
      const weights = parseGgufWeights(source);
      const path = join(await mkdtemp(join(tmpdir(), 'rotor-q8-')), 'stories260K-q8_0.gguf');
      await writeFile(
        path,
        serializeGguf(weights, { weightType: 'q8_0', metadata: readGguf(source).metadata }),
      );
      const greedy = { temperature: 0, maxNewTokens: 40 };
      const quantized = await loadLanguageModelFile(path, { backend: 'wasm', keepQuantized: true });
      const plain = await loadLanguageModelFile(fixturePath('stories260K/stories260K.gguf'), {
        backend: 'wasm',
      });
      const a = await quantized.generator.generateText('Once upon a time', greedy);
      const b = await plain.generator.generateText('Once upon a time', greedy);
      console.log(`greedy, f32: ${JSON.stringify(b)}\ngreedy, q8_0: ${JSON.stringify(a)}`);
      expect(a.length).toBeGreaterThan(40);
      expect(a.slice(0, 30)).toBe(b.slice(0, 30));
      quantized.dispose();
      plain.dispose();
    });
  },
);
