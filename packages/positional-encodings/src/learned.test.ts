import { isRotorError } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { learnedFactory } from './learned.js';

const wpe = Float32Array.from({ length: 6 * 4 }, (_, k) => k);
const context = (weights: Record<string, unknown> = { wpe }) => ({
  modelDim: 4,
  numHeads: 2,
  headDim: 2,
  maxPositions: 1024,
  weight: (name: string) => weights[name] as Float32Array | undefined,
});

describe('learned', () => {
  it('returns rows of the table, as views, with maxPositions = table length', () => {
    const encoding = learnedFactory.create({ type: 'learned' }, context());
    expect(encoding.spec).toEqual({ type: 'learned', weight: 'wpe' });
    expect(encoding.maxPositions).toBe(6);
    const rows = encoding.additive!(2, 3);
    expect(Array.from(rows)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(rows.buffer).toBe(wpe.buffer);
  });

  it('reads the tensor named by the spec', () => {
    const other = new Float32Array(8).fill(7);
    const encoding = learnedFactory.create(
      { type: 'learned', weight: 'pos_emb' },
      context({ pos_emb: other }),
    );
    expect(encoding.maxPositions).toBe(2);
    expect(Array.from(encoding.additive!(1, 1))).toEqual([7, 7, 7, 7]);
  });

  it('refuses positions past the table with ContextOverflowError', () => {
    const encoding = learnedFactory.create({ type: 'learned' }, context());
    expect(() => encoding.additive!(5, 2)).toThrow(
      /expected positions below 6, .*found a window ending at 7/,
    );
    try {
      encoding.additive!(6, 1);
    } catch (error) {
      expect(isRotorError(error, 'CONTEXT_OVERFLOW')).toBe(true);
    }
  });

  it('reports missing or malformed tables', () => {
    expect(() => learnedFactory.create({ type: 'learned' }, context({}))).toThrow(
      /positionalEncoding\.weight "wpe": expected the name of a float32 weight \[maxPositions, 4\] the model provides, found no such weight/,
    );
    expect(() => learnedFactory.create({ type: 'learned' }, context({ wpe: new Float64Array(8) }))).toThrow(
      /found a Float64Array/,
    );
    expect(() => learnedFactory.create({ type: 'learned' }, context({ wpe: new Float32Array(6) }))).toThrow(
      /expected a \[maxPositions, 4\] table \(a non-zero multiple of 4 values\), found 6 values/,
    );
    expect(() => learnedFactory.create({ type: 'learned', weight: 3 }, context())).toThrow(
      /positionalEncoding\.weight: expected a non-empty string, found 3/,
    );
  });
});
