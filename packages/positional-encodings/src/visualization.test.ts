import { describe, expect, it } from 'vitest';
import { alibiFactory } from './alibi.js';
import { noneFactory } from './none.js';
import { ropeFactory } from './rope.js';
import { sinusoidalFactory } from './sinusoidal.js';
import { encodingMatrix, rotaryAngles } from './visualization.js';

const context = { modelDim: 8, numHeads: 2, headDim: 4, maxPositions: 64 };

describe('encodingMatrix', () => {
  it('shows the additive table of additive strategies', () => {
    const encoding = sinusoidalFactory.create({ type: 'sinusoidal' }, context);
    const matrix = encodingMatrix(encoding, 5);
    expect(matrix).toMatchObject({ kind: 'additive', positions: 5, dims: 8 });
    expect(Array.from(matrix.values)).toEqual(Array.from(encoding.additive!(0, 5)));
  });

  it('shows RoPE as the rotated unit vector (cos, sin) of every pair', () => {
    const encoding = ropeFactory.create({ type: 'rope', layout: 'half-split' }, context);
    const matrix = encodingMatrix(encoding, 3);
    expect(matrix).toMatchObject({ kind: 'rotary', positions: 3, dims: 4 });
    // Position 2, pairs with invFreq 1 and 0.01 (base 10000, rotaryDim 4).
    const f = Math.fround;
    expect(Array.from(matrix.values.subarray(8))).toEqual([
      f(Math.cos(2)),
      f(Math.sin(2)),
      f(Math.cos(f(2 * f(0.01)))),
      f(Math.sin(f(2 * f(0.01)))),
    ]);
  });

  it('shows score biases by distance and head', () => {
    const matrix = encodingMatrix(alibiFactory.create({ type: 'alibi' }, context), 3);
    // 2 heads: slopes 2^-4, 2^-8; row r = -slope × r.
    expect(matrix).toMatchObject({ kind: 'score-bias', positions: 3, dims: 2 });
    expect(Array.from(matrix.values)).toEqual([-0, -0, -(2 ** -4), -(2 ** -8), -(2 ** -3), -(2 ** -7)]);
  });

  it('shows nothing for NoPE', () => {
    expect(encodingMatrix(noneFactory.create({ type: 'none' }, context), 4)).toEqual({
      kind: 'none',
      positions: 4,
      dims: 0,
      values: new Float32Array(0),
    });
  });
});

describe('rotaryAngles', () => {
  it('returns the exact, unwrapped angles of RoPE', () => {
    const table = rotaryAngles(ropeFactory.create({ type: 'rope' }, context), 10);
    expect(table.positions).toBe(10);
    expect(table.dims).toBe(2);
    expect(table.values[9 * 2]).toBe(9);
    expect(table.values[9 * 2 + 1]).toBe(Math.fround(9 * Math.fround(0.01)));
  });

  it('reads other rotary strategies back through atan2', () => {
    const rope = ropeFactory.create({ type: 'rope' }, context);
    const wrapped = { ...rope, type: 'wrapped', hooks: rope.hooks, rotary: rope.rotary!.bind(rope) };
    const table = rotaryAngles(wrapped, 10);
    // Position 9, pair 0: angle 9 wraps to 9 - 4π... within float32 rounding.
    expect(table.values[9 * 2]).toBeCloseTo(9 - 2 * Math.PI, 5);
  });

  it('refuses strategies without the rotary hook', () => {
    expect(() => rotaryAngles(noneFactory.create({ type: 'none' }, context), 3)).toThrow(
      /rotaryAngles: encoding: expected a strategy with the rotary hook, found "none"/,
    );
  });
});
