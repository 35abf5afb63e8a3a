import type { TensorHandle } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { Random } from '../../conformance/build.js';
import { createReferenceBackend } from '../../index.js';

/**
 * A stories260K-shaped decoder (D 64, F 172, 5 layers, 8 heads over 4 KV heads, V 512) with random
 * weights, decoding 256 tokens one at a time through every kernel a Llama block uses. It guards
 * against the reference becoming too slow for the decoder tests that run on it.
 */
describe('reference backend decode speed', () => {
  it('decodes 256 tokens of a stories260K-shaped model in well under the test timeout', async () => {
    const [D, F, L, H, Hkv, V, S] = [64, 172, 5, 8, 4, 512, 256];
    const Dh = D / H;
    const b = createReferenceBackend();
    const random = new Random('decode smoke');
    const weight = (shape: number[]) => b.upload(random.tensor(shape, -0.2, 0.2).data, shape);
    const layers = Array.from({ length: L }, () => ({
      norm1: weight([D]),
      wq: weight([D, D]),
      wk: weight([Hkv * Dh, D]),
      wv: weight([Hkv * Dh, D]),
      wo: weight([D, D]),
      norm2: weight([D]),
      w1: weight([F, D]),
      w2: weight([D, F]),
      w3: weight([F, D]),
      keys: b.allocate([1, S, Hkv * Dh]),
      values: b.allocate([1, S, Hkv * Dh]),
    }));
    const embedding = weight([V, D]);
    const finalNorm = weight([D]);
    const angles = new Float32Array(S * (Dh / 2));
    const sines = new Float32Array(S * (Dh / 2));
    for (let p = 0; p < S; p++) {
      for (let i = 0; i < Dh / 2; i++) {
        angles[p * (Dh / 2) + i] = Math.cos(p * 10000 ** ((-2 * i) / Dh));
        sines[p * (Dh / 2) + i] = Math.sin(p * 10000 ** ((-2 * i) / Dh));
      }
    }
    const cos = b.upload(angles, [S, Dh / 2]);
    const sin = b.upload(sines, [S, Dh / 2]);
    const buffer = (shape: number[]): TensorHandle => b.allocate(shape);
    const [x, xb, xb2, q, k, v, att, hb, hb2, logits] = [
      buffer([1, D]),
      buffer([1, D]),
      buffer([1, D]),
      buffer([1, 1, D]),
      buffer([1, Hkv * Dh]),
      buffer([1, Hkv * Dh]),
      buffer([1, 1, D]),
      buffer([1, F]),
      buffer([1, F]),
      buffer([1, V]),
    ];

    const started = performance.now();
    let token = 1;
    for (let p = 0; p < S; p++) {
      b.run('embedding', { table: embedding }, { ids: [token] }, x);
      for (const layer of layers) {
        b.run('rmsNorm', { x, weight: layer.norm1 }, { epsilon: 1e-5 }, xb);
        b.run('matmul', { x: xb, w: layer.wq }, {}, q);
        b.run('matmul', { x: xb, w: layer.wk }, {}, k);
        b.run('matmul', { x: xb, w: layer.wv }, {}, v);
        const rotary = { headDim: Dh, rotaryDim: Dh, layout: 'interleaved', positionOffset: p } as const;
        b.run('applyRotary', { x: q, cos, sin }, { ...rotary, numHeads: H }, q);
        b.run('applyRotary', { x: k, cos, sin }, { ...rotary, numHeads: Hkv }, k);
        b.run('writeRows', { src: k }, { rowOffset: p }, layer.keys);
        b.run('writeRows', { src: v }, { rowOffset: p }, layer.values);
        b.run(
          'attention',
          { q, k: layer.keys, v: layer.values },
          { numHeads: H, numKvHeads: Hkv, headDim: Dh, kvOffset: p, causal: true },
          att,
        );
        b.run('matmul', { x: att, w: layer.wo }, {}, xb2);
        b.run('add', { a: x, b: xb2 }, {}, x);
        b.run('rmsNorm', { x, weight: layer.norm2 }, { epsilon: 1e-5 }, xb);
        b.run('matmul', { x: xb, w: layer.w1 }, {}, hb);
        b.run('matmul', { x: xb, w: layer.w3 }, {}, hb2);
        b.run('silu', { x: hb }, {}, hb);
        b.run('mul', { a: hb, b: hb2 }, {}, hb);
        b.run('matmul', { x: hb, w: layer.w2 }, {}, xb);
        b.run('add', { a: x, b: xb }, {}, x);
      }
      b.run('rmsNorm', { x, weight: finalNorm }, { epsilon: 1e-5 }, x);
      b.run('matmul', { x, w: embedding }, {}, logits);
      const values = await b.read(logits);
      token = values.indexOf(Math.max(...values));
      expect(Number.isFinite(values[token])).toBe(true);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeLessThan(15);
  });
});
