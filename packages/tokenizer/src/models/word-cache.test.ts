import { describe, expect, it } from 'vitest';
import { WordCache } from './word-cache.js';

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
