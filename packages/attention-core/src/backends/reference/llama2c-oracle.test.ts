import { readFileSync } from 'node:fs';
import type { TensorHandle } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { expect, it } from 'vitest';
import { createReferenceBackend } from '../../index.js';

const MODEL = 'stories260K/stories260K.bin';
const LOGITS = 'stories260K/reference/logits_once_upon_a_time_n200.f32';
const TRACE = 'stories260K/reference/trace_once_upon_a_time_n200.txt';

/**
 * The llama2.c forward pass spelled out with the reference kernels on the real stories260K weights,
 * checked against the logits run.c printed: the kernels' numerics match run.c's.
 */
describeWithFixtures('reference kernels against llama2.c run.c', [MODEL, LOGITS, TRACE], () => {
  it('reproduces run.c logits at 200 positions within 1e-4', async () => {
    const file = readFileSync(fixturePath(MODEL));
    const header = new Int32Array(file.buffer, file.byteOffset, 7);
    const [D, F, L, H, Hkv, V, seqLength] = header;
    const Dh = D / H;
    const KV = Hkv * Dh;
    const floats = new Float32Array(
      file.buffer.slice(file.byteOffset + 28, file.byteOffset + file.byteLength),
    );
    let at = 0;
    const take = (count: number) => {
      at += count;
      return floats.subarray(at - count, at);
    };
    const b = createReferenceBackend();
    const perLayer = (rows: number, cols: number) => {
      const all = take(L * rows * cols);
      return Array.from({ length: L }, (_, l) =>
        b.upload(all.subarray(l * rows * cols, (l + 1) * rows * cols), cols === 1 ? [rows] : [rows, cols]),
      );
    };
    const embedding = b.upload(take(V * D), [V, D]);
    const [rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3] = [
      perLayer(D, 1),
      perLayer(D, D),
      perLayer(KV, D),
      perLayer(KV, D),
      perLayer(D, D),
      perLayer(D, 1),
      perLayer(F, D),
      perLayer(D, F),
      perLayer(F, D),
    ];
    const finalNorm = b.upload(take(D), [D]);

    // run.c: freq = 1 / powf(10000, 2i / head_size); angle = pos * freq, all in float.
    const f = Math.fround;
    const half = Dh / 2;
    const cosTable = new Float32Array(seqLength * half);
    const sinTable = new Float32Array(seqLength * half);
    for (let p = 0; p < seqLength; p++) {
      for (let i = 0; i < half; i++) {
        const angle = f(p * f(1 / f(10000 ** f((2 * i) / Dh))));
        cosTable[p * half + i] = Math.cos(angle);
        sinTable[p * half + i] = Math.sin(angle);
      }
    }
    const cos = b.upload(cosTable, [seqLength, half]);
    const sin = b.upload(sinTable, [seqLength, half]);
    const keys = Array.from({ length: L }, () => b.allocate([1, seqLength, KV]));
    const values = Array.from({ length: L }, () => b.allocate([1, seqLength, KV]));
    const buffer = (shape: number[]): TensorHandle => b.allocate(shape);
    const [x, xb, xb2, q, k, v, att, hb, hb2, logits] = [
      buffer([1, D]),
      buffer([1, D]),
      buffer([1, D]),
      buffer([1, 1, D]),
      buffer([1, KV]),
      buffer([1, KV]),
      buffer([1, 1, D]),
      buffer([1, F]),
      buffer([1, F]),
      buffer([1, V]),
    ];

    const trace = readFileSync(fixturePath(TRACE), 'utf8');
    const fed = [1, ...(/TOKEN_IDS:([\d ]+)/.exec(trace)?.[1].trim().split(/\s+/).map(Number) ?? [])];
    const expected = new Float32Array(new Uint8Array(readFileSync(fixturePath(LOGITS))).buffer);
    const positions = expected.length / V;
    let worst = 0;
    for (let p = 0; p < positions; p++) {
      b.run('embedding', { table: embedding }, { ids: [fed[p]] }, x);
      for (let l = 0; l < L; l++) {
        b.run('rmsNorm', { x, weight: rmsAtt[l] }, { epsilon: 1e-5 }, xb);
        b.run('matmul', { x: xb, w: wq[l] }, {}, q);
        b.run('matmul', { x: xb, w: wk[l] }, {}, k);
        b.run('matmul', { x: xb, w: wv[l] }, {}, v);
        const rotary = { headDim: Dh, rotaryDim: Dh, layout: 'interleaved', positionOffset: p } as const;
        b.run('applyRotary', { x: q, cos, sin }, { ...rotary, numHeads: H }, q);
        b.run('applyRotary', { x: k, cos, sin }, { ...rotary, numHeads: Hkv }, k);
        b.run('writeRows', { src: k }, { rowOffset: p }, keys[l]);
        b.run('writeRows', { src: v }, { rowOffset: p }, values[l]);
        const attrs = { numHeads: H, numKvHeads: Hkv, headDim: Dh, kvOffset: p, causal: true };
        b.run('attention', { q, k: keys[l], v: values[l] }, attrs, att);
        b.run('matmul', { x: att, w: wo[l] }, {}, xb2);
        b.run('add', { a: x, b: xb2 }, {}, x);
        b.run('rmsNorm', { x, weight: rmsFfn[l] }, { epsilon: 1e-5 }, xb);
        b.run('matmul', { x: xb, w: w1[l] }, {}, hb);
        b.run('matmul', { x: xb, w: w3[l] }, {}, hb2);
        b.run('silu', { x: hb }, {}, hb);
        b.run('mul', { a: hb, b: hb2 }, {}, hb);
        b.run('matmul', { x: hb, w: w2[l] }, {}, xb);
        b.run('add', { a: x, b: xb }, {}, x);
      }
      b.run('rmsNorm', { x, weight: finalNorm }, { epsilon: 1e-5 }, x);
      b.run('matmul', { x, w: embedding }, {}, logits);
      const actual = await b.read(logits);
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[p * V + i]));
    }
    expect(positions).toBe(200);
    expect(worst).toBeLessThan(1e-4);
  });
});
