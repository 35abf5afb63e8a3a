import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodePointWordCache, HASH_SEED, hashCodePoint, WordCache } from './word-cache.js';

describe('WordCache', () => {
  it('returns the ids it remembered, single or several', () => {
    const cache = new WordCache();
    cache.remember('a', [9, 7], 1);
    cache.remember('bc', [1, 2, 3], 0);
    const ids = [5];
    expect(cache.appendTo('a', ids)).toBe(true);
    expect(cache.appendTo('bc', ids)).toBe(true);
    expect(ids).toEqual([5, 7, 1, 2, 3]);
    expect(cache.appendTo('zz', ids)).toBe(false);
    expect(ids).toEqual([5, 7, 1, 2, 3]);
  });

  it('keeps no entry aliased to the caller’s array', () => {
    const cache = new WordCache();
    const ids = [1, 2];
    cache.remember('x', ids, 0);
    ids[0] = 99;
    const out: number[] = [];
    cache.appendTo('x', out);
    expect(out).toEqual([1, 2]);
  });

  it('stays within its capacity and skips long keys', () => {
    const cache = new WordCache({ capacity: 3, maxKeyLength: 4 });
    for (let i = 0; i < 10; i++) {
      cache.remember(`w${i}`, [i], 0);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
    const out: number[] = [];
    expect(cache.appendTo('w9', out)).toBe(true);
    cache.remember('too long', [1], 0);
    expect(cache.appendTo('too long', out)).toBe(false);
    expect(out).toEqual([9]);
  });
});

describe('CodePointWordCache', () => {
  const word = (text: string) => {
    const cps = Uint32Array.from(Array.from(text, (c) => c.codePointAt(0)!));
    return { cps, hash: cps.reduce((h, cp) => hashCodePoint(h, cp), HASH_SEED) };
  };

  it('returns the ids it remembered for a run of code points, wherever the run lies', () => {
    const cache = new CodePointWordCache();
    const text = word('xab😀c');
    const key = word('ab😀');
    cache.remember(text.cps, 1, 4, key.hash, [9, 7, 8], 1);
    const ids = [5];
    expect(cache.appendTo(key.cps, 0, 3, key.hash, ids)).toBe(true);
    expect(ids).toEqual([5, 7, 8]);
    const other = word('ab😁');
    expect(cache.appendTo(other.cps, 0, 3, other.hash, ids)).toBe(false);
    // Same hash, different code points: no false hit.
    expect(cache.appendTo(other.cps, 0, 3, key.hash, ids)).toBe(false);
    expect(ids).toEqual([5, 7, 8]);
  });

  it('stays within its capacity, skips long words and finds every word it holds', () => {
    const cache = new CodePointWordCache({ capacity: 50, maxKeyLength: 6 });
    for (let i = 0; i < 500; i++) {
      const w = word(`w${i}`);
      cache.remember(w.cps, 0, w.cps.length, w.hash, [i, i + 1], 0);
      expect(cache.size).toBeLessThanOrEqual(50);
      const out: number[] = [];
      expect(cache.appendTo(w.cps, 0, w.cps.length, w.hash, out)).toBe(true);
      expect(out).toEqual([i, i + 1]);
    }
    const long = word('toolong');
    cache.remember(long.cps, 0, long.cps.length, long.hash, [1], 0);
    expect(cache.appendTo(long.cps, 0, long.cps.length, long.hash, [])).toBe(false);
  });

  it('agrees with a Map on random words (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }), { maxLength: 200 }),
        (words) => {
          const cache = new CodePointWordCache({ capacity: 64 });
          const expected = new Map<string, number[]>();
          words.forEach((text, i) => {
            const w = word(text);
            const out: number[] = [];
            if (cache.appendTo(w.cps, 0, w.cps.length, w.hash, out)) {
              expect(out).toEqual(expected.get(text));
            } else {
              expected.set(text, [i, 2 * i]);
              if (cache.size >= 64) expected.clear();
              expected.set(text, [i, 2 * i]);
              cache.remember(w.cps, 0, w.cps.length, w.hash, [i, 2 * i], 0);
            }
          });
        },
      ),
    );
  });
});
