import { createReferenceBackend } from '@rotor/attention-core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describe, expect, it } from 'vitest';
import { DecoderModel } from './model.js';
import { randomLlamaWeights } from './random-weights.js';

const shape = {
  modelDim: 16,
  hiddenDim: 24,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 30,
  maxSequenceLength: 16,
};
const weights = randomLlamaWeights(shape, 21);
const ids = [1, 5, 9, 2, 17, 4, 4, 28];

async function model(spec = weights.config.positionalEncoding) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(spec, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
  });
  return DecoderModel.create(weights, {
    backend: createReferenceBackend(),
    positionalEncoding,
    maxPrefillRows: 3,
  });
}

/** Layer 0's attention recomputed from the weights: rmsnorm → q, k → interleaved RoPE → softmax(q·k / √Dh). */
function layerZero(): Float64Array {
  const D = 16;
  const Dh = 4;
  const T = ids.length;
  const get = (name: string) => weights.tensors.get(name)!.data;
  const embedding = get('token_embedding');
  const norm = get('layers.0.attention_norm');
  const project = (w: Float32Array, rows: number, x: Float64Array) =>
    Float64Array.from({ length: rows }, (_, r) => x.reduce((sum, v, c) => sum + v * w[r * D + c], 0));
  const rope = (v: Float64Array, position: number) => {
    for (let h = 0; h < v.length / Dh; h++) {
      for (let i = 0; i < Dh / 2; i++) {
        const angle = Math.fround(
          position * Math.fround(1 / Math.fround(10000 ** Math.fround((2 * i) / Dh))),
        );
        const [a, b] = [v[h * Dh + 2 * i], v[h * Dh + 2 * i + 1]];
        const [c, s] = [Math.fround(Math.cos(angle)), Math.fround(Math.sin(angle))];
        v[h * Dh + 2 * i] = a * c - b * s;
        v[h * Dh + 2 * i + 1] = a * s + b * c;
      }
    }
    return v;
  };
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  ids.forEach((id, t) => {
    const x = Float64Array.from(embedding.subarray(id * D, (id + 1) * D));
    const scale = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / D + 1e-5);
    const xb = x.map((v, i) => v * scale * norm[i]);
    qs.push(rope(project(get('layers.0.wq'), 16, xb), t));
    ks.push(rope(project(get('layers.0.wk'), 8, xb), t));
  });
  const out = new Float64Array(4 * T * T);
  for (let h = 0; h < 4; h++) {
    const g = Math.floor(h / 2);
    for (let i = 0; i < T; i++) {
      const scores = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += qs[i][h * Dh + d] * ks[j][g * Dh + d];
        return dot / Math.sqrt(Dh);
      });
      const max = Math.max(...scores);
      const exp = scores.map((s) => Math.exp(s - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      exp.forEach((e, j) => {
        out[(h * T + i) * T + j] = e / sum;
      });
    }
  }
  return out;
}

describe('DecoderModel.attentionWeights', () => {
  it('matches attention recomputed from the weights (layer 0, GQA, RoPE, chunked prefill)', async () => {
    const weightsOfLayer = await (await model()).attentionWeights(ids, 0);
    const expected = layerZero();
    for (let i = 0; i < expected.length; i++) expect(weightsOfLayer[i]).toBeCloseTo(expected[i], 5);
  });

  it('gives causal probability rows for every layer and score-bias strategies', async () => {
    for (const spec of [undefined, { type: 'alibi' }]) {
      const m = await model(spec);
      const T = ids.length;
      const w = await m.attentionWeights(ids, 1);
      for (let h = 0; h < 4; h++) {
        for (let i = 0; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < T; j++) {
            const value = w[(h * T + i) * T + j];
            if (j > i) expect(value).toBe(0);
            sum += value;
          }
          expect(sum).toBeCloseTo(1, 6);
        }
      }
    }
  });

  it('rejects bad layers and lengths, and resets the cache record', async () => {
    const m = await model();
    await m.forward(ids, 0);
    expect(m.cachedPrefixLength(ids)).toBe(ids.length);
    await m.attentionWeights(ids, 0);
    expect(m.cachedPrefixLength(ids)).toBe(0);
    await expect(m.attentionWeights(ids, 2)).rejects.toThrow(/layer: expected an integer in \[0, 2\)/);
    await expect(m.attentionWeights([], 0)).rejects.toThrow(/token ids/);
  });
});
