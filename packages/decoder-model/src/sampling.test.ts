import { describe, expect, it } from 'vitest';
import { argmax, Sampler, XorShiftRandom } from './sampling.js';

/** llama2.c's random_u32 with BigInt, as the oracle for the two-halves implementation. */
function referenceRandom(seed: bigint) {
  let state = seed;
  const mask = (1n << 64n) - 1n;
  return () => {
    state ^= state >> 12n;
    state = (state ^ (state << 25n)) & mask;
    state ^= state >> 27n;
    return Number(((state * 0x2545f4914f6cdd1dn) & mask) >> 32n);
  };
}

describe('XorShiftRandom', () => {
  it('matches llama2.c random_u32 for many seeds and draws', () => {
    for (const seed of [1, 42, 1234567, 2 ** 32 + 5, 2 ** 52 + 12345, 0xffffffff]) {
      const ours = new XorShiftRandom(seed);
      const oracle = referenceRandom(BigInt(seed));
      for (let i = 0; i < 1000; i++) expect(ours.nextUint32()).toBe(oracle());
    }
  });

  it('gives floats in [0, 1) and never sticks at zero for seed 0', () => {
    const random = new XorShiftRandom(0);
    const values = Array.from({ length: 100 }, () => random.nextFloat32());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(90);
  });

  it('rejects seeds that are not safe non-negative integers', () => {
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 60]) expect(() => new XorShiftRandom(seed)).toThrow(/seed/);
  });
});

describe('Sampler', () => {
  const logits = Float32Array.from([1, 3, 2, 3, -1]);

  it('is greedy at temperature 0, first index on ties', () => {
    expect(new Sampler(5, { temperature: 0 }).sample(logits)).toBe(1);
    expect(argmax([Number.NaN, 1, 2])).toBe(2);
  });

  it('reproduces a seeded sequence and does not modify the logits', () => {
    const copy = logits.slice();
    const draw = (seed: number) => {
      const sampler = new Sampler(5, { temperature: 1.3, topP: 0.95, seed });
      return Array.from({ length: 50 }, () => sampler.sample(logits));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(logits).toEqual(copy);
  });

  it('top-k keeps only the k most likely tokens', () => {
    const sampler = new Sampler(5, { temperature: 5, topK: 2, topP: 0, seed: 3 });
    const seen = new Set(Array.from({ length: 300 }, () => sampler.sample(logits)));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('top-p keeps the smallest nucleus above p', () => {
    // probabilities ∝ e^[10, 9, 0, ...]: the first two hold > 99.9%, so p = 0.9 keeps both, never the rest
    const peaked = Float32Array.from([10, 9, 0, 0, 0]);
    const sampler = new Sampler(5, { temperature: 1, topP: 0.9, seed: 11 });
    const seen = new Set(Array.from({ length: 300 }, () => sampler.sample(peaked)));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('rejects invalid options naming the field', () => {
    expect(() => new Sampler(5, { temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler(5, { topK: 1.5 })).toThrow(/topK/);
    expect(() => new Sampler(5, { topP: 2 })).toThrow(/topP/);
    expect(() => new Sampler(5, { seed: -3 })).toThrow(/seed/);
  });
});
