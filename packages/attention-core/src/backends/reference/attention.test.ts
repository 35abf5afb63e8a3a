import { type KernelAttrs, type ScoreBiasDescriptor, t5RelativeBucket } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Random } from '../../conformance/build.js';
import { createReferenceBackend } from '../../index.js';

/** Buckets of Hugging Face `_relative_position_bucket` (PyTorch float32), computed outside this project. */
const HF_BUCKETS: readonly [
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
  [number, number][],
][] = [
  [
    true,
    32,
    128,
    [
      [-300, 15],
      [-128, 15],
      [-64, 14],
      [-20, 10],
      [-16, 10],
      [-9, 8],
      [-8, 8],
      [-7, 7],
      [-1, 1],
      [0, 0],
      [1, 17],
      [7, 23],
      [8, 24],
      [9, 24],
      [16, 26],
      [20, 26],
      [64, 30],
      [127, 31],
      [128, 31],
      [300, 31],
    ],
  ],
  [
    false,
    32,
    128,
    [
      [-300, 31],
      [-128, 31],
      [-127, 31],
      [-64, 26],
      [-32, 21],
      [-31, 21],
      [-20, 17],
      [-16, 16],
      [-15, 15],
      [-1, 1],
      [0, 0],
      [5, 0],
    ],
  ],
];

interface Config {
  B: number;
  T: number;
  S: number;
  H: number;
  Hkv: number;
  Dh: number;
  kvOffset: number;
  causal: boolean;
  validLengths?: number[];
  scale?: number;
  scoreBias?: ScoreBiasDescriptor;
  seed: number;
}

const configArbitrary: fc.Arbitrary<Config> = fc
  .record({
    B: fc.integer({ min: 1, max: 3 }),
    T: fc.integer({ min: 1, max: 4 }),
    Hkv: fc.integer({ min: 1, max: 3 }),
    group: fc.integer({ min: 1, max: 3 }),
    Dh: fc.integer({ min: 1, max: 12 }),
    kvOffset: fc.integer({ min: 0, max: 6 }),
    extra: fc.integer({ min: 0, max: 3 }),
    causal: fc.boolean(),
    masked: fc.boolean(),
    scaled: fc.boolean(),
    bias: fc.constantFrom('none', 'alibi', 't5', 't5-bidirectional'),
    numBuckets: fc.integer({ min: 4, max: 40 }),
    seed: fc.integer(),
  })
  .map((r) => {
    const H = r.Hkv * r.group;
    const S = r.kvOffset + r.T + r.extra;
    const random = new Random(`attention property ${r.seed}`);
    const bidirectional = r.bias === 't5-bidirectional';
    const half = bidirectional ? Math.floor(r.numBuckets / 2) : r.numBuckets;
    const scoreBias: ScoreBiasDescriptor | undefined =
      r.bias === 'alibi'
        ? { type: 'alibi', slopes: random.tensor([H], 0, 1).data as Float32Array }
        : r.bias === 'none'
          ? undefined
          : {
              type: 't5',
              numBuckets: r.numBuckets,
              maxDistance: Math.floor(half / 2) + 1 + random.int(0, 20),
              bidirectional,
              table: random.tensor([r.numBuckets * H], -2, 2).data as Float32Array,
            };
    return {
      B: r.B,
      T: r.T,
      S,
      H,
      Hkv: r.Hkv,
      Dh: r.Dh,
      kvOffset: r.kvOffset,
      causal: r.causal,
      validLengths: r.masked ? Array.from({ length: r.B }, () => random.int(0, S)) : undefined,
      scale: r.scaled ? random.uniform(0.1, 2) : undefined,
      scoreBias,
      seed: r.seed,
    };
  });

/**
 * Attention written as the textbook does it, independently of the kernel: a full score row per
 * query with -Infinity at masked slots, the group as `h * Hkv / H`, then softmax and a weighted sum.
 */
function textbookAttention(c: Config, q: Float32Array, k: Float32Array, v: Float32Array): Float64Array {
  const out = new Float64Array(c.B * c.T * c.H * c.Dh);
  const scale = c.scale ?? 1 / Math.sqrt(c.Dh);
  for (let b = 0; b < c.B; b++) {
    for (let t = 0; t < c.T; t++) {
      const i = c.kvOffset + t;
      for (let h = 0; h < c.H; h++) {
        const g = Math.floor((h * c.Hkv) / c.H);
        const qAt = (d: number) => q[((b * c.T + t) * c.H + h) * c.Dh + d];
        const kvAt = (x: Float32Array, j: number, d: number) => x[((b * c.S + j) * c.Hkv + g) * c.Dh + d];
        const scores: number[] = [];
        for (let j = 0; j < c.S; j++) {
          const inRange = j < (c.validLengths ? c.validLengths[b] : c.kvOffset + c.T);
          if (!inRange || (c.causal && j > i)) {
            scores.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < c.Dh; d++) dot += qAt(d) * kvAt(k, j, d);
          let bias = 0;
          if (c.scoreBias?.type === 'alibi') bias = -c.scoreBias.slopes[h] * Math.abs(i - j);
          if (c.scoreBias?.type === 't5') {
            const { bidirectional, numBuckets, maxDistance, table } = c.scoreBias;
            bias = table[t5RelativeBucket(j - i, bidirectional, numBuckets, maxDistance) * c.H + h];
          }
          scores.push(dot * scale + bias);
        }
        const max = Math.max(...scores);
        if (max === -Infinity) continue;
        const weights = scores.map((s) => Math.exp(s - max));
        const total = weights.reduce((x, y) => x + y, 0);
        for (let d = 0; d < c.Dh; d++) {
          let sum = 0;
          for (let j = 0; j < c.S; j++) sum += (weights[j] / total) * kvAt(v, j, d);
          out[((b * c.T + t) * c.H + h) * c.Dh + d] = sum;
        }
      }
    }
  }
  return out;
}

function attrsOf(c: Config, kvOffset = c.kvOffset): KernelAttrs<'attention'> {
  return {
    numHeads: c.H,
    numKvHeads: c.Hkv,
    headDim: c.Dh,
    kvOffset,
    causal: c.causal,
    validLengths: c.validLengths,
    scale: c.scale,
    scoreBias: c.scoreBias,
  };
}

describe('reference attention', () => {
  it('buckets T5 relative positions exactly as Hugging Face does', () => {
    for (const [bidirectional, numBuckets, maxDistance, pairs] of HF_BUCKETS) {
      for (const [relative, bucket] of pairs) {
        expect(t5RelativeBucket(relative, bidirectional, numBuckets, maxDistance), `${relative}`).toBe(
          bucket,
        );
      }
    }
  });

  it('matches textbook attention for any batch, heads, masks, offsets and score biases', async () => {
    const backend = createReferenceBackend();
    await fc.assert(
      fc.asyncProperty(configArbitrary, async (c) => {
        const random = new Random(`attention data ${c.seed}`);
        const q = random.tensor([c.B, c.T, c.H * c.Dh], -2, 2).data as Float32Array;
        const k = random.tensor([c.B, c.S, c.Hkv * c.Dh], -2, 2).data as Float32Array;
        const v = random.tensor([c.B, c.S, c.Hkv * c.Dh], -2, 2).data as Float32Array;
        const handles = {
          q: backend.upload(q, [c.B, c.T, c.H * c.Dh]),
          k: backend.upload(k, [c.B, c.S, c.Hkv * c.Dh]),
          v: backend.upload(v, [c.B, c.S, c.Hkv * c.Dh]),
        };
        const out = backend.allocate([c.B, c.T, c.H * c.Dh]);
        backend.run('attention', handles, attrsOf(c), out);
        const actual = await backend.read(out);
        const expected = textbookAttention(c, q, k, v);
        for (let e = 0; e < expected.length; e++) {
          expect(Math.abs(actual[e] - expected[e])).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(expected[e])),
          );
        }
        for (const handle of [...Object.values(handles), out]) backend.dispose(handle);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same rows for a whole prefill as for one token at a time', async () => {
    const backend = createReferenceBackend();
    await fc.assert(
      fc.asyncProperty(
        configArbitrary.filter((c) => c.causal && c.validLengths === undefined),
        async (c) => {
          const random = new Random(`prefill ${c.seed}`);
          const width = c.H * c.Dh;
          const q = random.tensor([c.B, c.T, width], -2, 2).data as Float32Array;
          const k = backend.upload(random.tensor([c.B, c.S, c.Hkv * c.Dh]).data, [c.B, c.S, c.Hkv * c.Dh]);
          const v = backend.upload(random.tensor([c.B, c.S, c.Hkv * c.Dh]).data, [c.B, c.S, c.Hkv * c.Dh]);
          const whole = backend.allocate([c.B, c.T, width]);
          backend.run('attention', { q: backend.upload(q, [c.B, c.T, width]), k, v }, attrsOf(c), whole);
          const all = await backend.read(whole);
          const one = backend.allocate([c.B, 1, width]);
          for (let t = 0; t < c.T; t++) {
            const row = new Float32Array(c.B * width);
            for (let b = 0; b < c.B; b++)
              row.set(q.subarray((b * c.T + t) * width, (b * c.T + t + 1) * width), b * width);
            backend.run(
              'attention',
              { q: backend.upload(row, [c.B, 1, width]), k, v },
              attrsOf(c, c.kvOffset + t),
              one,
            );
            const stepped = await backend.read(one);
            for (let b = 0; b < c.B; b++) {
              expect(stepped.subarray(b * width, (b + 1) * width)).toEqual(
                all.subarray((b * c.T + t) * width, (b * c.T + t + 1) * width),
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('accepts 2-D q, k, v as a batch of one', async () => {
    const backend = createReferenceBackend();
    const q = backend.upload(Float32Array.from([1, 0]), [1, 2]);
    const k = backend.upload(Float32Array.from([0, 0, 1, 0]), [2, 2]);
    const v = backend.upload(Float32Array.from([2, 4, 6, 8]), [2, 2]);
    const out = backend.allocate([1, 1, 2]);
    backend.run(
      'attention',
      { q, k, v },
      { numHeads: 1, numKvHeads: 1, headDim: 2, kvOffset: 1, causal: true, scale: 0 },
      out,
    );
    expect([...(await backend.read(out))]).toEqual([4, 6]);
  });
});
