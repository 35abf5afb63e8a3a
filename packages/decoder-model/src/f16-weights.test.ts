import {
  createReferenceBackend,
  createWasmBackend,
  halfToFloat,
  WEBGPU_F32_TOLERANCE,
  webgpuBackend,
} from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import {
  type Backend,
  type DType,
  FormatError,
  type HostTensor,
  InvalidArgumentError,
  ShapeError,
} from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { readGguf } from '@rotor/tokenizer';
import { describe, expect, it } from 'vitest';
import { serializeGguf } from './export/gguf.js';
import { parseGgufWeights } from './loaders/gguf.js';
import { DecoderModel, type DecoderModelOptions } from './model.js';
import { randomLlamaWeights } from './random-weights.js';
import { type ModelWeights, requireTensor, type StoredWeightType, weightNames } from './weights.js';

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

/** Logits of a model fed `ids` one at a time (teacher-forced), then of one prefill of all of them. */
async function logits(model: DecoderModel, ids: readonly number[]): Promise<number[][]> {
  const rows: number[][] = [];
  for (let p = 0; p < ids.length; p++) rows.push(Array.from(await model.forward([ids[p]], p)));
  rows.push(Array.from(await model.forward(ids, 0)));
  model.dispose();
  return rows;
}

/** Counts the dtypes `backend.upload` is called with. */
function countUploads(backend: Backend): Map<DType, number> {
  const counts = new Map<DType, number>();
  const original = backend.upload.bind(backend);
  backend.upload = ((data, shape, dtype = 'f32') => {
    counts.set(dtype, (counts.get(dtype) ?? 0) + 1);
    return original(data, shape, dtype);
  }) as Backend['upload'];
  return counts;
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
const ids = [1, 5, 9, 2, 33, 17, 8, 40];
const MATRICES_PER_LAYER = 7;
const tied = serializeGguf(randomLlamaWeights(shape, 5), { weightType: 'f16' });
const untied = serializeGguf(randomLlamaWeights({ ...shape, tiedEmbeddings: false }, 6), {
  weightType: 'f16',
});

/** Byte equality without the element-wise diffing of `toEqual` (slow on large arrays). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

describe('f16 GGUF weights', () => {
  it('serializeGguf writes every matrix as F16; keepQuantized keeps them as half bits, even at an odd offset', () => {
    const file = readGguf(tied);
    const types = new Map(file.tensors.map((t) => [t.name, t.typeName]));
    expect(types.get('token_embd.weight')).toBe('F16');
    expect(types.get('blk.1.ffn_down.weight')).toBe('F16');
    expect(types.get('blk.1.ffn_norm.weight')).toBe('F32');
    expect(file.metadata.get('general.file_type')).toEqual({ type: 'uint32', value: 1 });
    const shifted = new Uint8Array(tied.length + 1);
    shifted.set(tied, 1);
    const kept = parseGgufWeights(shifted.subarray(1), { keepQuantized: true });
    const plain = parseGgufWeights(tied);
    expect(plain.quantized).toBeUndefined();
    const wq = kept.quantized?.get(weightNames.wq(0));
    expect(wq?.dtype).toBe('f16');
    expect(wq?.data).toBeInstanceOf(Uint16Array);
    expect(kept.tensors.has(weightNames.wq(0))).toBe(false);
    // tied: the embedding is f32 for lookups, its halves are the classifier
    expect(kept.tensors.get(weightNames.tokenEmbedding)?.dtype).toBe('f32');
    expect(kept.quantized?.get(weightNames.classifier)?.dtype).toBe('f16');
    expect(kept.quantized?.size).toBe(shape.numLayers * MATRICES_PER_LAYER + 1);
    const decoded = requireTensor(kept, weightNames.wq(0), [64, 64]).data;
    expect(Array.from(decoded)).toEqual(Array.from(plain.tensors.get(weightNames.wq(0))!.data));
    expect(decoded[3]).toBe(halfToFloat(wq!.data[3]));
  });

  it('exports kept f16 matrices unchanged as F16, and like decoded f32 weights as any other type', () => {
    const kept = parseGgufWeights(tied, { keepQuantized: true });
    const plain = parseGgufWeights(tied);
    expect(sameBytes(serializeGguf(kept, { weightType: 'f16' }), tied)).toBe(true);
    expect(sameBytes(serializeGguf(plain, { weightType: 'f16' }), tied)).toBe(true);
    for (const weightType of ['f32', 'q8_0', 'q4_0'] as const) {
      const fromKept = serializeGguf(kept, { weightType });
      expect(sameBytes(fromKept, serializeGguf(plain, { weightType })), weightType).toBe(true);
    }
    const keptUntied = parseGgufWeights(untied, { keepQuantized: true });
    expect(keptUntied.config.tiedEmbeddings).toBe(false);
    expect(sameBytes(serializeGguf(keptUntied, { weightType: 'f16' }), untied)).toBe(true);
  });

  it('on the reference backend (f16 declared) logits equal those of the f32-decoded file', async () => {
    for (const bytes of [tied, untied]) {
      const backend = createReferenceBackend();
      const uploads = countUploads(backend);
      const kept = await logits(
        await buildModel(parseGgufWeights(bytes, { keepQuantized: true }), backend),
        ids,
      );
      // every layer matrix and the classifier (a tied one as its own f16 copy)
      expect(uploads.get('f16')).toBe(shape.numLayers * MATRICES_PER_LAYER + 1);
      expect(kept).toEqual(
        await logits(await buildModel(parseGgufWeights(bytes), createReferenceBackend()), ids),
      );
    }
  });

  it('on wasm (no f16) the halves are decoded to f32 at upload; logits equal the f32-decoded file', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    try {
      for (const bytes of [tied, untied]) {
        const uploads = countUploads(backend);
        const kept = await logits(
          await buildModel(parseGgufWeights(bytes, { keepQuantized: true }), backend),
          ids,
        );
        expect([...uploads.keys()]).toEqual(['f32']);
        expect(kept).toEqual(await logits(await buildModel(parseGgufWeights(bytes), backend), ids));
      }
    } finally {
      backend.destroy();
    }
  });

  it('quantize applies to kept f16 matrices as to the decoded f32 ones', async () => {
    const run = async (weights: ModelWeights) => {
      const backend = createReferenceBackend();
      const uploads = countUploads(backend);
      const rows = await logits(await buildModel(weights, backend, { quantize: 'q8_0' }), ids);
      return { rows, f16: uploads.get('f16') };
    };
    const kept = await run(parseGgufWeights(tied, { keepQuantized: true }));
    expect(kept.f16).toBeUndefined();
    expect(kept.rows).toEqual((await run(parseGgufWeights(tied))).rows);
  });

  it('rejects malformed f16 data with typed errors', async () => {
    expect(() => parseGgufWeights(tied.subarray(0, tied.length - 100), { keepQuantized: true })).toThrow(
      FormatError,
    );
    const kept = parseGgufWeights(tied, { keepQuantized: true });
    const withMatrix = (name: string, tensor: HostTensor<StoredWeightType>): ModelWeights => ({
      ...kept,
      quantized: new Map([...kept.quantized!, [name, tensor]]),
    });
    const short = withMatrix(weightNames.wk(1), {
      dtype: 'f16',
      shape: [32, 64],
      data: new Uint16Array(32 * 64 - 1),
    });
    const message = 'model weights: tensor "layers.1.wk" (f16): expected 2048 storage elements, found 2047';
    expect(() => requireTensor(short, weightNames.wk(1), [32, 64])).toThrow(ShapeError);
    expect(() => requireTensor(short, weightNames.wk(1), [32, 64])).toThrow(message);
    await expect(buildModel(short, createReferenceBackend())).rejects.toThrow(message);
    const wasm = await createWasmBackend({ threads: 1 });
    await expect(buildModel(short, wasm)).rejects.toThrow(ShapeError);
    wasm.destroy();
    const bytes = withMatrix(weightNames.classifier, {
      dtype: 'f16',
      shape: [64, 64],
      data: new Uint8Array(2 * 64 * 64) as unknown as Uint16Array,
    });
    await expect(buildModel(bytes, createReferenceBackend())).rejects.toThrow(
      new InvalidArgumentError(
        'model weights: tensor "classifier" (f16): data: expected a Uint16Array, found Uint8Array',
      ),
    );
    const wrongShape = withMatrix(weightNames.wo(0), {
      dtype: 'f16',
      shape: [64, 32],
      data: new Uint16Array(2048),
    });
    expect(() => serializeGguf(wrongShape, { weightType: 'f16' })).toThrow(ShapeError);
    const plain = parseGgufWeights(tied);
    const tensors = new Map(plain.tensors);
    const wv = tensors.get(weightNames.wv(0))!;
    const large = new Float32Array(wv.data);
    large[5] = 70000;
    tensors.set(weightNames.wv(0), { ...wv, data: large });
    expect(() => serializeGguf({ ...plain, tensors }, { weightType: 'f16' })).toThrow(
      new InvalidArgumentError(
        'gguf writer: tensor "blk.0.attn_v.weight"[5]: expected a value within the f16 range (|x| <= 65504), found 70000',
      ),
    );
  });
});

// Module scope keeps Dawn's instance alive for the whole file.
const gpu = await createNodeGpu().catch(() => undefined);

describe('f16 GGUF weights on WebGPU', () => {
  it('runs kept f16 matrices as f16 and matches the reference logits', async (context) => {
    const factory = webgpuBackend({ gpu });
    const probe = gpu ? await factory.probe() : { available: false, reason: 'Dawn is not installed' };
    if (!probe.available) {
      // Only a machine without a WebGPU adapter passes over this, and never under CI.
      expect(process.env.CI, `webgpu is unavailable: ${probe.reason}`).not.toBe('true');
      context.skip(`skipped by capability: no WebGPU adapter here: ${probe.reason}`);
      return;
    }
    const backend = await factory.create();
    try {
      const uploads = countUploads(backend);
      const gpuLogits = await logits(
        await buildModel(parseGgufWeights(tied, { keepQuantized: true }), backend),
        ids,
      );
      expect(uploads.get('f16')).toBe(shape.numLayers * MATRICES_PER_LAYER + 1);
      const expected = await logits(await buildModel(parseGgufWeights(tied), createReferenceBackend()), ids);
      for (let r = 0; r < expected.length; r++) {
        for (let i = 0; i < expected[r].length; i++) {
          expect(Math.abs(gpuLogits[r][i] - expected[r][i]), `row ${r} logit ${i}`).toBeLessThan(
            WEBGPU_F32_TOLERANCE,
          );
        }
      }
    } finally {
      backend.destroy();
    }
  });
});
