import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sinusoidalFactory } from './sinusoidal.js';

const context = (modelDim: number) => ({ modelDim, numHeads: 1, headDim: modelDim, maxPositions: 1024 });

describe('sinusoidal', () => {
  it('equals the closed form at tabulated points', () => {
    // D = 4, base 10000: columns sin(pos), cos(pos), sin(pos / 100), cos(pos / 100).
    const table = sinusoidalFactory.create({ type: 'sinusoidal' }, context(4)).additive!(0, 101);
    const expected: Record<number, number[]> = {
      0: [0, 1, 0, 1],
      1: [0.8414709848078965, 0.5403023058681398, 0.009999833334166664, 0.9999500004166653],
      10: [-0.5440211108893698, -0.8390715290764524, 0.09983341664682815, 0.9950041652780258],
      100: [-0.5063656411097588, 0.8623188722876839, 0.8414709848078965, 0.5403023058681398],
    };
    for (const [pos, values] of Object.entries(expected)) {
      values.forEach((value, dim) => {
        expect(table[Number(pos) * 4 + dim]).toBeCloseTo(value, 7);
      });
    }
  });

  it('uses the configured base and an odd width', () => {
    // D = 5, base 100: wavelengths 100^(0/5), 100^(2/5) = 6.30957, 100^(4/5) = 39.8107.
    const row = sinusoidalFactory.create({ type: 'sinusoidal', base: 100 }, context(5)).additive!(3, 1);
    expect(Array.from(row)).toHaveLength(5);
    expect(row[2]).toBeCloseTo(Math.sin(3 / 6.309573444801933), 7);
    expect(row[3]).toBeCloseTo(Math.cos(3 / 6.309573444801933), 7);
    expect(row[4]).toBeCloseTo(Math.sin(3 / 39.810717055349734), 7);
  });

  it('moves every (sin, cos) pair by a rotation that depends only on the offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 2, max: 1e5, noNaN: true }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 500 }),
        (modelDim, base, pos, delta) => {
          const encoding = sinusoidalFactory.create({ type: 'sinusoidal', base }, context(modelDim));
          const here = encoding.additive!(pos, 1);
          const there = encoding.additive!(pos + delta, 1);
          for (let i = 0; 2 * i + 1 < modelDim; i++) {
            // R(δ) = [[cos b, sin b], [-sin b, cos b]] on (sin, cos), b = δ / base^(2i/D): no pos in it.
            const b = delta / base ** ((2 * i) / modelDim);
            const [s, c] = [here[2 * i], here[2 * i + 1]];
            expect(there[2 * i]).toBeCloseTo(Math.cos(b) * s + Math.sin(b) * c, 5);
            expect(there[2 * i + 1]).toBeCloseTo(-Math.sin(b) * s + Math.cos(b) * c, 5);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects bad specs and windows', () => {
    expect(() => sinusoidalFactory.create({ type: 'sinusoidal', base: 0.5 }, context(4))).toThrow(
      /positionalEncoding\.base: expected a finite number > 1, found 0\.5/,
    );
    expect(() => sinusoidalFactory.create({ type: 'sinusoidal', period: 3 }, context(4))).toThrow(
      /positionalEncoding\.period: expected no such field/,
    );
    const encoding = sinusoidalFactory.create({ type: 'sinusoidal' }, context(4));
    expect(() => encoding.additive!(0, 2 ** 27)).toThrow(
      /count: expected a table of at most 268435456 values/,
    );
    expect(() => encoding.additive!(0, -2)).toThrow(/count: expected an integer >= 0, found -2/);
  });
});
