/**
 * GPT-2 (pre-norm LayerNorm, tanh-GELU, learned positions, biases) and the post-norm sinusoidal
 * decoder checked against a naive float64 forward pass written from the formulas in
 * shared/docs/background.md, one sequence at a time with no cache.
 */
import { createReferenceBackend } from '@rotor/attention-core';
import type { ModelConfig } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describe, expect, it } from 'vitest';
import { DecoderModel } from './model.js';
import { randomGpt1Weights, randomGpt2Weights, randomLlamaWeights } from './random-weights.js';
import { type ModelWeights, weightNames as names } from './weights.js';

const shape = {
  modelDim: 16,
  hiddenDim: 40,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 4,
  vocabSize: 30,
  maxSequenceLength: 12,
};

async function build(weights: ModelWeights, maxPrefillRows?: number) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
    weight: (name) => weights.tensors.get(name)?.data,
  });
  return DecoderModel.create(weights, {
    backend: createReferenceBackend(),
    positionalEncoding,
    maxPrefillRows,
  });
}

/** Logits of the last token of `ids`, computed naively from the weights (no RoPE: additive positions only). */
function naiveLogits(weights: ModelWeights, ids: number[]): Float64Array {
  const c: ModelConfig = weights.config;
  const get = (name: string) => weights.tensors.get(name)?.data;
  const D = c.modelDim;
  const Dh = c.headDim;
  const T = ids.length;
  const linear = (x: number[], w: Float32Array, rows: number, bias?: Float32Array) =>
    Array.from({ length: rows }, (_, n) => {
      let sum = bias ? bias[n] : 0;
      for (let k = 0; k < x.length; k++) sum += x[k] * w[n * x.length + k];
      return sum;
    });
  const norm = (x: number[], weight: Float32Array, bias?: Float32Array) => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    return x.map(
      (v, i) => ((v - mean) / Math.sqrt(variance + c.normEpsilon)) * weight[i] + (bias ? bias[i] : 0),
    );
  };
  const gelu = (x: number) =>
    c.mlp === 'gelu-tanh'
      ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
      : 0.5 * x * (1 + erf(x / Math.SQRT2));
  let xs = ids.map((id, pos) => {
    const row = Array.from(get(names.tokenEmbedding)!.subarray(id * D, (id + 1) * D));
    if (c.positionalEncoding.type === 'learned') {
      const table = get(names.positionEmbedding)!;
      return row.map((v, i) => v + table[pos * D + i]);
    }
    return row.map((v, i) => v + (i % 2 === 0 ? Math.sin : Math.cos)(pos / 10000 ** ((2 * (i >> 1)) / D)));
  });
  const pre = c.normPlacement === 'pre';
  for (let l = 0; l < c.numLayers; l++) {
    const normA = (x: number[]) => norm(x, get(names.attentionNorm(l))!, get(names.attentionNormBias(l)));
    const normF = (x: number[]) => norm(x, get(names.ffnNorm(l))!, get(names.ffnNormBias(l)));
    const inputs = pre ? xs.map(normA) : xs;
    const q = inputs.map((x) => linear(x, get(names.wq(l))!, D, get(names.wqBias(l))));
    const k = inputs.map((x) => linear(x, get(names.wk(l))!, D, get(names.wkBias(l))));
    const v = inputs.map((x) => linear(x, get(names.wv(l))!, D, get(names.wvBias(l))));
    const attended = q.map((qi, i) => {
      const out = new Array<number>(D).fill(0);
      for (let h = 0; h < c.numHeads; h++) {
        const scores = k.slice(0, i + 1).map((kj) => {
          let s = 0;
          for (let d = 0; d < Dh; d++) s += qi[h * Dh + d] * kj[h * Dh + d];
          return s / Math.sqrt(Dh);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++)
          for (let d = 0; d < Dh; d++) out[h * Dh + d] += (e[j] / sum) * v[j][h * Dh + d];
      }
      return linear(out, get(names.wo(l))!, D, get(names.woBias(l)));
    });
    xs = xs.map((x, i) => x.map((value, d) => value + attended[i][d]));
    if (!pre) xs = xs.map(normA);
    const ffnInputs = pre ? xs.map(normF) : xs;
    const ffn = ffnInputs.map((x) => {
      const hidden = linear(x, get(names.w1(l))!, c.hiddenDim, get(names.w1Bias(l))).map(gelu);
      return linear(hidden, get(names.w2(l))!, D, get(names.w2Bias(l)));
    });
    xs = xs.map((x, i) => x.map((value, d) => value + ffn[i][d]));
    if (!pre) xs = xs.map(normF);
  }
  let last = xs[T - 1];
  const finalNorm = get(names.finalNorm);
  if (finalNorm) last = norm(last, finalNorm, get(names.finalNormBias));
  return Float64Array.from(linear(last, get(names.tokenEmbedding)!, c.vocabSize));
}

/** erf from its Maclaurin series (float64 accurate for the small arguments a test meets). */
function erf(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.each([
  ['GPT-2 (pre-norm, learned positions, tanh-GELU, biases)', randomGpt2Weights(shape, 5)],
  ['GPT-1 order (post-norm, sinusoidal positions, GELU, no final norm)', randomGpt1Weights(shape, 6)],
])('%s', (_, weights) => {
  const ids = [3, 17, 0, 29, 8, 8, 1, 12];

  it('matches a naive float64 forward pass at every position, decoding with the KV cache', async () => {
    const model = await build(weights);
    for (let p = 0; p < ids.length; p++) {
      const logits = await model.forward([ids[p]], p);
      expect(maxAbsDifference(logits, naiveLogits(weights, ids.slice(0, p + 1)))).toBeLessThan(1e-4);
    }
  });

  it('gives the same logits prefilled in one pass or in chunks', async () => {
    const stepped = await build(weights);
    let last: Float32Array = new Float32Array(0);
    for (let p = 0; p < ids.length; p++) last = await stepped.forward([ids[p]], p);
    for (const rows of [undefined, 3]) {
      const batched = await build(weights, rows);
      expect(maxAbsDifference(await batched.forward(ids, 0), last)).toBeLessThan(1e-5);
    }
  });
});

describe('configurable block', () => {
  it('keeps the Llama draws of randomLlamaWeights and gives GPT models every bias', () => {
    const gpt2 = randomGpt2Weights(shape);
    expect(gpt2.tensors.get(names.wqBias(1))?.shape).toEqual([16]);
    expect(gpt2.tensors.get(names.positionEmbedding)?.shape).toEqual([12, 16]);
    expect(gpt2.tensors.has(names.w3(0))).toBe(false);
    expect(randomGpt1Weights(shape).tensors.has(names.finalNorm)).toBe(false);
    expect(randomLlamaWeights(shape).tensors.has(names.wqBias(0))).toBe(false);
  });

  it('rejects unknown block options and a missing required tensor with typed errors', async () => {
    const weights = randomGpt2Weights(shape);
    const bad = { ...weights, config: { ...weights.config, mlp: 'relu' } as unknown as ModelConfig };
    await expect(build(bad)).rejects.toThrow(/mlp: expected one of swiglu, gelu, gelu-tanh, found relu/);
    const tensors = new Map(weights.tensors);
    tensors.delete(names.finalNorm);
    await expect(build({ ...weights, tensors })).rejects.toThrow(/"final_norm" is missing/);
    const wrong = new Map(weights.tensors);
    wrong.set(names.w1Bias(0), { dtype: 'f32', shape: [3], data: new Float32Array(3) });
    await expect(build({ ...weights, tensors: wrong })).rejects.toThrow(
      /layers\.0\.w1_bias.*expected shape \[40\]/,
    );
  });
});
