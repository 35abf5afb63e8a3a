import { createReferenceBackend } from '@rotor/attention-core';
import { isRotorError } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecoderModel } from '../model.js';
import { randomGpt1Weights, randomGpt2Weights, randomLlamaWeights } from '../random-weights.js';
import type { ModelWeights } from '../weights.js';
import { configFromHuggingFace } from './hugging-face.js';
import { parseLlama2cCheckpoint, serializeLlama2cCheckpoint } from './llama2c.js';
import {
  parseHuggingFaceModel,
  parseSafetensors,
  serializeHuggingFaceModel,
  serializeSafetensors,
} from './safetensors.js';

const shape = {
  modelDim: 32,
  hiddenDim: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 40,
  maxSequenceLength: 16,
};

async function build(weights: ModelWeights) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
    weight: (name) => weights.tensors.get(name)?.data,
  });
  return DecoderModel.create(weights, { backend: createReferenceBackend(), positionalEncoding });
}

async function worstDifference(a: ModelWeights, b: ModelWeights, ids: number[]): Promise<number> {
  const [first, second] = [await build(a), await build(b)];
  let worst = 0;
  for (let p = 0; p < ids.length; p++) {
    const x = await first.forward([ids[p]], p);
    const y = await second.forward([ids[p]], p);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

function expectRotorError(run: () => unknown, pattern: RegExp) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isRotorError(caught), `expected a RotorError, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('Hugging Face safetensors + config.json', () => {
  const ids = [1, 5, 9, 39, 0, 12, 12, 30, 7, 3, 22, 18];

  it.each([true, false])(
    'a Llama model as llama2.c (interleaved) and as HF safetensors (half-split q/k rows) gives the same logits (tied %s)',
    async (tiedEmbeddings) => {
      const original = randomLlamaWeights({ ...shape, tiedEmbeddings }, 21);
      const fromBin = parseLlama2cCheckpoint(serializeLlama2cCheckpoint(original));
      const { config, safetensors } = serializeHuggingFaceModel(original);
      const fromHf = parseHuggingFaceModel(JSON.parse(JSON.stringify(config)), [safetensors]);
      expect(fromHf.config.positionalEncoding).toEqual({ type: 'rope', layout: 'half-split', base: 10000 });
      expect(fromHf.tensors.get('layers.1.wq')?.data).not.toEqual(original.tensors.get('layers.1.wq')?.data);
      const worst = await worstDifference(fromBin, fromHf, ids);
      console.info(
        `llama2.c vs safetensors (tied ${tiedEmbeddings}): max |logit difference| = ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThan(1e-5);
    },
  );

  it('round-trips GPT-2 (Conv1D transposes, fused c_attn) to the same tensors', async () => {
    const original = randomGpt2Weights({ ...shape, numKvHeads: 4 }, 4);
    const { config, safetensors } = serializeHuggingFaceModel(original);
    const parsed = parseHuggingFaceModel(config, [safetensors]);
    expect(parsed.config).toEqual(original.config);
    for (const [name, tensor] of original.tensors) expect(parsed.tensors.get(name), name).toEqual(tensor);
    expect(await worstDifference(original, parsed, ids)).toBe(0);
  });

  it('stores the post-norm sinusoidal decoder as model_type "rotor" with canonical names', async () => {
    const original = randomGpt1Weights({ ...shape, numKvHeads: 4 }, 8);
    const { config, safetensors } = serializeHuggingFaceModel(original);
    expect(config.model_type).toBe('rotor');
    const parsed = parseHuggingFaceModel(JSON.parse(JSON.stringify(config)), [safetensors]);
    expect(parsed.config).toEqual(original.config);
    expect(await worstDifference(original, parsed, ids)).toBe(0);
  });

  it('converts F16 and BF16 to f32 exactly', () => {
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000]);
    const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x0001]);
    const bytes = serializeSafetensors(
      new Map([
        ['a', { dtype: 'F16' as const, shape: [2, 3], data: f16 }],
        ['b', { dtype: 'BF16' as const, shape: [3], data: bf16 }],
      ]),
    );
    const tensors = parseSafetensors(bytes);
    expect(Array.from(tensors.get('a')!.data)).toEqual([
      1,
      -2,
      2 ** -24,
      65504,
      Number.POSITIVE_INFINITY,
      -0,
    ]);
    expect(tensors.get('a')!.shape).toEqual([2, 3]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([
      1,
      -3,
      new Float32Array(new Uint32Array([0x10000]).buffer)[0],
    ]);
  });

  it('maps config.json fields, including rope_theta and rope_scaling', () => {
    const base = {
      model_type: 'llama',
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      vocab_size: 100,
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
    };
    expect(configFromHuggingFace(base)).toMatchObject({
      numKvHeads: 2,
      headDim: 8,
      normEpsilon: 1e-5,
      tiedEmbeddings: false,
    });
    const scaled = configFromHuggingFace({
      ...base,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    });
    expect(scaled.positionalEncoding).toEqual({
      type: 'rope',
      layout: 'half-split',
      base: 500000,
      scaling: { type: 'llama3', factor: 8, originalMaxPositions: 8192, lowFreqFactor: 1, highFreqFactor: 4 },
    });
    expect(
      configFromHuggingFace({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).positionalEncoding,
    ).toMatchObject({
      scaling: { type: 'linear', factor: 2 },
    });
    expectRotorError(
      () => configFromHuggingFace({ ...base, model_type: 'bert' }),
      /model_type.*found "bert"/,
    );
    expectRotorError(
      () => configFromHuggingFace({ ...base, hidden_size: -1 }),
      /"hidden_size": expected a positive integer/,
    );
    expectRotorError(
      () => configFromHuggingFace({ ...base, rope_scaling: { rope_type: 'longrope' } }),
      /rope_scaling/,
    );
  });

  describe('malformed files', () => {
    const good = serializeSafetensors(
      new Map([['x', { dtype: 'F32' as const, shape: [2, 2], data: new Float32Array(4) }]]),
    );
    const withHeader = (json: string, data = 16) => {
      const header = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + header.length + data);
      new DataView(out.buffer).setUint32(0, header.length, true);
      out.set(header, 8);
      return out;
    };

    it('rejects bad header lengths, JSON, dtypes, shapes and offsets with typed errors', () => {
      expectRotorError(() => parseSafetensors(good.subarray(0, 5)), /header length: expected 8 bytes/);
      const huge = good.slice();
      new DataView(huge.buffer).setUint32(4, 1, true);
      expectRotorError(() => parseSafetensors(huge), /header length: expected at most/);
      expectRotorError(() => parseSafetensors(withHeader('{"x": ')), /invalid JSON/);
      expectRotorError(() => parseSafetensors(withHeader('[1]')), /expected a JSON object/);
      expectRotorError(
        () => parseSafetensors(withHeader('{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}')),
        /tensor "x": dtype: .*found "Q4"/,
      );
      expectRotorError(
        () => parseSafetensors(withHeader('{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,32]}}')),
        /data_offsets: expected \[begin, end\] with begin <= end <= 16/,
      );
      expectRotorError(
        () => parseSafetensors(withHeader('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}')),
        /expected 12 bytes for F32 shape \[3\], found 16/,
      );
      expectRotorError(
        () => parseSafetensors(withHeader('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}}')),
        /shape: expected a list of non-negative integers/,
      );
      expectRotorError(() => parseHuggingFaceModel({ model_type: 'gpt2' }, [good]), /"n_embd"/);
      const { config } = serializeHuggingFaceModel(randomGpt2Weights({ ...shape, numKvHeads: 4 }));
      expectRotorError(
        () => parseHuggingFaceModel(config, [good]),
        /tensor "transformer\.wte\.weight" is missing/,
      );
    });

    it('never throws anything but a RotorError on mutated or truncated files', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: good.byteLength }),
          fc.array(fc.tuple(fc.nat(good.byteLength - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
          (length, flips) => {
            const bytes = good.slice(0, length);
            for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
            try {
              parseSafetensors(bytes);
            } catch (error) {
              if (!isRotorError(error)) throw error;
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
