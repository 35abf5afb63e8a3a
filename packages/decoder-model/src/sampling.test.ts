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

  it('penalises tokens already in the context: repetition, presence and frequency', () => {
    const close = Float32Array.from([3, 2.9, -1, -1.05]);
    const greedy = (options: ConstructorParameters<typeof Sampler>[1], seen: number[]) => {
      const sampler = new Sampler(4, { temperature: 0, ...options });
      sampler.observe(seen);
      return sampler.sample(close);
    };
    expect(greedy({}, [0])).toBe(0);
    expect(greedy({ repetitionPenalty: 1.1 }, [0])).toBe(1);
    // a negative logit is multiplied: -1 * 1.1 = -1.1 < -1.05
    const negative = new Sampler(2, { temperature: 0, repetitionPenalty: 1.1 });
    negative.observe([0]);
    expect(negative.sample(Float32Array.from([-1, -1.05]))).toBe(1);
    expect(greedy({ presencePenalty: 0.2 }, [0])).toBe(1);
    expect(greedy({ frequencyPenalty: 0.06 }, [0])).toBe(0);
    expect(greedy({ frequencyPenalty: 0.06 }, [0, 0])).toBe(1);
    expect(close).toEqual(Float32Array.from([3, 2.9, -1, -1.05]));
  });

  it('rejects invalid options naming the field', () => {
    expect(() => new Sampler(5, { minP: 1.5 })).toThrow(/minP/);
    expect(() => new Sampler(5, { repetitionPenalty: 0 })).toThrow(/repetitionPenalty/);
    expect(() => new Sampler(5, { presencePenalty: Number.NaN })).toThrow(/presencePenalty/);
    expect(() => new Sampler(5, { frequencyPenalty: Number.POSITIVE_INFINITY })).toThrow(/frequencyPenalty/);
    expect(() => new Sampler(5, { temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler(5, { topK: 1.5 })).toThrow(/topK/);
    expect(() => new Sampler(5, { topP: 2 })).toThrow(/topP/);
    expect(() => new Sampler(5, { seed: -3 })).toThrow(/seed/);
  });
});

/**
 * Each sampler's distribution over a fixed logit vector, checked by a chi-square goodness-of-fit
 * test against the distribution computed in float64 from its definition. Seeded, so the test is
 * deterministic; the critical values are those of significance 0.001.
 */
describe('sampler distributions (chi-square)', () => {
  const logits = Float32Array.from([2, 1.5, 1, 0.5, 0, -0.5, -1, -2]);
  const CRITICAL_0_001 = [Number.NaN, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32];
  const draws = 40000;

  const softmax = (values: number[]) => {
    const max = Math.max(...values);
    const e = values.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  };
  const renormalised = (p: number[], keep: (i: number) => boolean) => {
    const kept = p.map((v, i) => (keep(i) ? v : 0));
    const sum = kept.reduce((a, b) => a + b, 0);
    return kept.map((v) => v / sum);
  };
  const base = softmax(Array.from(logits));
  const order = base.map((_, i) => i).sort((a, b) => base[b] - base[a]);
  const nucleus = (p: number) => {
    let cumulative = 0;
    const kept = new Set<number>();
    for (const i of order) {
      kept.add(i);
      cumulative += base[i];
      if (cumulative > p) break;
    }
    return kept;
  };

  const cases: [string, ConstructorParameters<typeof Sampler>[1], number[]][] = [
    ['temperature 0.7', { temperature: 0.7, topP: 0 }, softmax(Array.from(logits, (l) => l / 0.7))],
    ['temperature 1.5', { temperature: 1.5, topP: 0 }, softmax(Array.from(logits, (l) => l / 1.5))],
    ['top-k 3', { temperature: 1, topK: 3, topP: 0 }, renormalised(base, (i) => i < 3)],
    ['top-p 0.8', { temperature: 1, topP: 0.8 }, renormalised(base, (i) => nucleus(0.8).has(i))],
    [
      'min-p 0.2',
      { temperature: 1, topP: 0, minP: 0.2 },
      renormalised(base, (i) => base[i] >= 0.2 * base[0]),
    ],
    [
      'min-p 0.1 with top-p 0.95',
      { temperature: 1, topP: 0.95, minP: 0.1 },
      (() => {
        const minP = renormalised(base, (i) => base[i] >= 0.1 * base[0]);
        let cumulative = 0;
        const kept = new Set<number>();
        for (const i of order) {
          kept.add(i);
          cumulative += minP[i];
          if (cumulative > 0.95) break;
        }
        return renormalised(minP, (i) => kept.has(i));
      })(),
    ],
  ];

  it.each(cases)('%s matches its definition', (_, options, expected) => {
    const sampler = new Sampler(logits.length, { ...options, seed: 20261122 });
    const observed = new Array<number>(logits.length).fill(0);
    for (let i = 0; i < draws; i++) observed[sampler.sample(logits)]++;
    let chiSquare = 0;
    let categories = 0;
    for (let i = 0; i < logits.length; i++) {
      if (expected[i] === 0) {
        expect(observed[i], `token ${i} is outside the sampler's support`).toBe(0);
        continue;
      }
      categories++;
      chiSquare += (observed[i] - draws * expected[i]) ** 2 / (draws * expected[i]);
    }
    expect(categories).toBeGreaterThan(1);
    expect(chiSquare).toBeLessThan(CRITICAL_0_001[categories - 1]);
  });
});
