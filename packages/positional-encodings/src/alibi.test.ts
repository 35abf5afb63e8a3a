import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alibiFactory, alibiSlopes } from './alibi.js';
import { scoreBiasAt } from './score-bias.js';

const context = (numHeads: number) => ({ modelDim: 8 * numHeads, numHeads, headDim: 8, maxPositions: 512 });

/** Press et al.'s `get_slopes`, transcribed from the paper's reference code. */
function getSlopes(n: number): number[] {
  const powerOfTwo = (m: number) => {
    const start = 2 ** -(2 ** -(Math.log2(m) - 3));
    return Array.from({ length: m }, (_, i) => start * start ** i);
  };
  if (Number.isInteger(Math.log2(n))) return powerOfTwo(n);
  const closest = 2 ** Math.floor(Math.log2(n));
  return [
    ...powerOfTwo(closest),
    ...getSlopes(2 * closest)
      .filter((_, i) => i % 2 === 0)
      .slice(0, n - closest),
  ];
}

describe('alibi', () => {
  it('gives 8 heads the slopes 2^-1 ... 2^-8', () => {
    expect(Array.from(alibiSlopes(8))).toEqual([
      2 ** -1,
      2 ** -2,
      2 ** -3,
      2 ** -4,
      2 ** -5,
      2 ** -6,
      2 ** -7,
      2 ** -8,
    ]);
  });

  it('follows the closest-power-of-two recipe for other head counts', () => {
    // 12 heads: the 8 slopes of 8 heads, then every other slope of 16 heads (2^-0.5, 2^-1.5, ...).
    expect(Array.from(alibiSlopes(12))).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5].map((e) => Math.fround(2 ** -e)),
    );
    for (let n = 1; n <= 64; n++) {
      const expected = getSlopes(n).map(Math.fround);
      expect(
        Array.from(alibiSlopes(n)).map((slope, h) => Math.abs(slope - expected[h]) / expected[h]),
      ).toEqual(expected.map(() => 0));
    }
  });

  it('describes itself as a score bias', () => {
    const encoding = alibiFactory.create({ type: 'alibi' }, context(4));
    expect(encoding.hooks).toEqual({ additive: false, rotary: false, scoreBias: true });
    expect(encoding.spec).toEqual({ type: 'alibi', maxBias: 8 });
    const descriptor = encoding.scoreBias!();
    expect(descriptor.type).toBe('alibi');
    expect(descriptor).toBe(encoding.scoreBias!());
    // 4 heads, maxBias 8: 2^(-8k/4) = 2^-2, 2^-4, 2^-6, 2^-8.
    expect(descriptor.type === 'alibi' && Array.from(descriptor.slopes)).toEqual([
      2 ** -2,
      2 ** -4,
      2 ** -6,
      2 ** -8,
    ]);
  });

  it('honours maxBias and rejects bad values', () => {
    // maxBias 16 with 8 heads: 2^(-16k/8) = 2^-2k.
    expect(Array.from(alibiSlopes(8, 16))).toEqual([2, 4, 6, 8, 10, 12, 14, 16].map((e) => 2 ** -e));
    expect(() => alibiFactory.create({ type: 'alibi', maxBias: 0 }, context(4))).toThrow(
      /positionalEncoding\.maxBias: expected a finite number > 0 and <= 126, found 0/,
    );
    expect(() => alibiSlopes(0)).toThrow(/numHeads: expected an integer >= 1, found 0/);
  });

  it('makes the bias depend only on i - j', () => {
    const descriptor = alibiFactory.create({ type: 'alibi' }, context(6)).scoreBias!();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (head, i, j, shift) => {
          const bias = scoreBiasAt(descriptor, head, i, j);
          expect(scoreBiasAt(descriptor, head, i + shift, j + shift)).toBe(bias);
          expect(bias).toBe(-alibiSlopes(6)[head] * Math.abs(i - j));
        },
      ),
    );
  });
});
