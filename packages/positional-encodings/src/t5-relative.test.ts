import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scoreBiasAt } from './score-bias.js';
import { t5RelativeBucket, t5RelativeFactory } from './t5-relative.js';

const distances = [
  -1000, -200, -128, -127, -100, -64, -63, -32, -31, -20, -17, -16, -15, -12, -9, -8, -7, -1, 0, 1, 2, 7, 8,
  9, 15, 16, 20, 32, 64, 100, 127, 128, 1000,
];

describe('t5RelativeBucket', () => {
  it('matches HF _relative_position_bucket for a decoder (32 buckets, max distance 128)', () => {
    // Distance d = max(-relativePosition, 0); exact below 16; else 16 + trunc(ln(d/16) / ln 8 × 16),
    // capped at 31: d = 20 → 16 + trunc(1.717) = 17; 32 → 16 + trunc(5.33) = 21; 64 → 26;
    // 100 → 30; 127 → 31 (15.94); 128 → 32 → 31. Keys after the query all share bucket 0.
    const expected = [
      31, 31, 31, 31, 30, 26, 26, 21, 21, 17, 16, 16, 15, 12, 9, 8, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0,
    ];
    expect(distances.map((d) => t5RelativeBucket(d, false, 32, 128))).toEqual(expected);
  });

  it('matches HF _relative_position_bucket bidirectionally (32 buckets, max distance 128)', () => {
    // 16 buckets per direction, +16 for keys after the query; exact below 8; else
    // 8 + trunc(ln(d/8) / ln 16 × 8), capped at 15: d = 16 → 8 + 2 exactly (float32 log agrees) = 10;
    // d = 15 → 9; 32 → 12; 63 → 13 (5.98); 64 → 14; 128 → 16 → 15.
    const expected = [
      15, 15, 15, 15, 15, 14, 13, 12, 11, 10, 10, 10, 9, 9, 8, 8, 7, 1, 0, 17, 18, 23, 24, 24, 25, 26, 26, 28,
      30, 31, 31, 31, 31,
    ];
    expect(distances.map((d) => t5RelativeBucket(d, true, 32, 128))).toEqual(expected);
  });

  it('handles other bucket counts (HF transcription with float32 numpy)', () => {
    expect(distances.map((d) => t5RelativeBucket(d, true, 8, 20))).toEqual([
      3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 0, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    ]);
    expect(distances.map((d) => t5RelativeBucket(d, false, 10, 50))).toEqual([
      9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 7, 7, 7, 6, 6, 6, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it('stays in range and never decreases with distance', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 4, max: 64 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 5000 }),
        (bidirectional, numBuckets, extra, distance) => {
          const maxExact = Math.floor((bidirectional ? Math.floor(numBuckets / 2) : numBuckets) / 2);
          const maxDistance = maxExact + 1 + extra;
          const here = t5RelativeBucket(-distance, bidirectional, numBuckets, maxDistance);
          const further = t5RelativeBucket(-distance - 1, bidirectional, numBuckets, maxDistance);
          expect(here).toBeGreaterThanOrEqual(0);
          expect(here).toBeLessThan(numBuckets);
          expect(further).toBeGreaterThanOrEqual(here);
        },
      ),
    );
  });

  it('rejects arguments that would give garbage', () => {
    expect(() => t5RelativeBucket(1.5, false, 32, 128)).toThrow(
      /relativePosition: expected an integer, found 1\.5/,
    );
    expect(() => t5RelativeBucket(1, true, 3, 128)).toThrow(/numBuckets: expected an integer >= 4, found 3/);
    expect(() => t5RelativeBucket(1, false, 32, 16)).toThrow(
      /maxDistance: expected an integer > 16, found 16/,
    );
  });
});

describe('t5 strategy', () => {
  const numHeads = 3;
  const table = Float32Array.from({ length: 32 * numHeads }, (_, k) => k / 10);
  const context = (weights: Record<string, Float32Array> = { relative_attention_bias: table }) => ({
    modelDim: 12,
    numHeads,
    headDim: 4,
    maxPositions: 512,
    weight: (name: string) => weights[name],
  });

  it('describes the learned table with defaults for a decoder', () => {
    const encoding = t5RelativeFactory.create({ type: 't5-relative' }, context());
    expect(encoding.spec).toEqual({
      type: 't5-relative',
      numBuckets: 32,
      maxDistance: 128,
      bidirectional: false,
      weight: 'relative_attention_bias',
    });
    const descriptor = encoding.scoreBias!();
    expect(descriptor).toEqual({
      type: 't5',
      numBuckets: 32,
      maxDistance: 128,
      bidirectional: false,
      table,
    });
    // Query 40, key 0: distance 40 → bucket 16 + trunc(ln(2.5)/ln 8 × 16) = 23; head 2 → table[23 × 3 + 2].
    expect(scoreBiasAt(descriptor, 2, 40, 0)).toBe(table[23 * 3 + 2]);
  });

  it('makes the bias depend only on i - j', () => {
    const descriptor = t5RelativeFactory.create({ type: 't5-relative', bidirectional: true }, context())
      .scoreBias!();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: numHeads - 1 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (head, i, j, shift) => {
          expect(scoreBiasAt(descriptor, head, i + shift, j + shift)).toBe(
            scoreBiasAt(descriptor, head, i, j),
          );
        },
      ),
    );
  });

  it('rejects a missing or misshapen table and bad options', () => {
    expect(() => t5RelativeFactory.create({ type: 't5-relative' }, context({}))).toThrow(
      /positionalEncoding\.weight "relative_attention_bias": expected the name of a float32 weight \[32, 3\] the model provides, found no such weight/,
    );
    expect(() => t5RelativeFactory.create({ type: 't5-relative', numBuckets: 16 }, context())).toThrow(
      /expected a \[numBuckets 16, numHeads 3\] table of 48 values, found 96 values/,
    );
    expect(() => t5RelativeFactory.create({ type: 't5-relative', bidirectional: 'yes' }, context())).toThrow(
      /positionalEncoding\.bidirectional: expected true or false, found "yes"/,
    );
    expect(() => t5RelativeFactory.create({ type: 't5-relative', maxDistance: 10 }, context())).toThrow(
      /positionalEncoding\.maxDistance: expected an integer > 16, found 10/,
    );
  });
});
