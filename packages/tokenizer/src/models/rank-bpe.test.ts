import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MergeRule, RankBpeModel } from './rank-bpe.js';

/** The textbook rule on strings: merge the lowest-ranked pair present, leftmost on ties, until none. */
function naiveMerge(word: string[], merges: readonly MergeRule[]): string[] {
  const ranks = new Map<string, number>();
  merges.forEach(([left, right], rank) => {
    const key = `${left}\u0000${right}`;
    if (!ranks.has(key)) ranks.set(key, rank);
  });
  const symbols = [...word];
  for (;;) {
    let best = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(`${symbols[i]}\u0000${symbols[i + 1]}`);
      if (rank !== undefined && rank < best) {
        best = rank;
        at = i;
      }
    }
    if (at < 0) return symbols;
    symbols.splice(at, 2, symbols[at] + symbols[at + 1]);
  }
}

/** Random merges over a three-letter alphabet: repeats, overlaps and unreachable tokens included. */
const mergesArbitrary = fc
  .array(fc.tuple(fc.stringMatching(/^[abc]{1,3}$/), fc.stringMatching(/^[abc]{1,3}$/)), { maxLength: 30 })
  .map((pairs) => pairs.map(([left, right]) => [left, right] as MergeRule));

describe('RankBpeModel', () => {
  it('matches the textbook merge rule on short and long words', () => {
    fc.assert(
      fc.property(mergesArbitrary, fc.stringMatching(/^[abc]{0,80}$/), (merges, text) => {
        const vocabulary = new Map<string, number>();
        const add = (token: string) => {
          if (!vocabulary.has(token)) vocabulary.set(token, vocabulary.size);
        };
        for (const char of 'abc') add(char);
        for (const [left, right] of merges) {
          add(left);
          add(right);
          add(left + right);
        }
        const tokens = [...vocabulary.keys()];
        const model = RankBpeModel.fromRules(vocabulary, merges, 'test');
        const symbols = Int32Array.from(text, (char) => vocabulary.get(char)!);
        const count = model.merge(symbols, symbols.length);
        const merged = Array.from(symbols.subarray(0, count), (id) => tokens[id]);
        expect(merged).toEqual(naiveMerge([...text], merges));
      }),
      { numRuns: 500 },
    );
  });
});
