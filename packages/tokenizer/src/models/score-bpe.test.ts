import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadLlama2cTokenizer } from '../loaders/llama2c.js';
import { ScoreBpeModel } from './score-bpe.js';

/**
 * Straightforward port of the merge loop of llama2.c run.c `encode` (commit 350e04f): rescan
 * all pairs per merge, keep the first strictly better score. Lookup gives the lowest id of a
 * piece, the rule ScoreBpeModel documents.
 */
function runCMerge(tokens: readonly number[], pieces: readonly string[], scores: Float32Array): number[] {
  const lookup = new Map<string, number>();
  for (let id = pieces.length - 1; id >= 0; id--) lookup.set(pieces[id], id);
  const result = tokens.slice();
  for (;;) {
    let bestScore = Math.fround(-1e10);
    let bestId = -1;
    let bestIndex = -1;
    for (let i = 0; i < result.length - 1; i++) {
      const id = lookup.get(pieces[result[i]] + pieces[result[i + 1]]) ?? -1;
      if (id !== -1 && scores[id] > bestScore) {
        bestScore = scores[id];
        bestId = id;
        bestIndex = i;
      }
    }
    if (bestIndex === -1) return result;
    result[bestIndex] = bestId;
    result.splice(bestIndex + 1, 1);
  }
}

/** run.c's codepoint grouping with byte fallback, giving the symbols before merging. */
function runCSymbols(text: string, model: ScoreBpeModel): number[] {
  const bytes = new TextEncoder().encode(text);
  const symbols = [1];
  if (bytes.length > 0) symbols.push(model.lookup(' '));
  let buffer: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] & 0xc0) !== 0x80) buffer = [];
    buffer.push(bytes[i]);
    if ((bytes[i + 1] & 0xc0) === 0x80 && buffer.length < 4) continue;
    const id = model.lookup(String.fromCharCode(...buffer));
    if (id !== -1) symbols.push(id);
    else for (const byte of buffer) symbols.push(byte + 3);
    buffer = [];
  }
  return symbols;
}

describe('ScoreBpeModel', () => {
  it('merges the highest score first and the leftmost pair on ties', () => {
    // pieces: a b ab ba; "ab" and "ba" tie, so in "aba" the left pair wins.
    const model = new ScoreBpeModel(['a', 'b', 'ab', 'ba'], [0, 0, -1, -1]);
    expect(model.merge([0, 1, 0])).toEqual([2, 0]);
    const preferBa = new ScoreBpeModel(['a', 'b', 'ab', 'ba'], [0, 0, -2, -1]);
    expect(preferBa.merge([0, 1, 0])).toEqual([0, 3]);
  });

  it('never merges pieces scoring at or below -1e10, like run.c', () => {
    const model = new ScoreBpeModel(['a', 'b', 'ab'], [0, 0, -1e10]);
    expect(model.merge([0, 1])).toEqual([0, 1]);
    expect(new ScoreBpeModel(['a', 'b', 'ab'], [0, 0, -9.9e9]).merge([0, 1])).toEqual([2]);
  });

  it('resolves a duplicated piece to its lowest id', () => {
    const model = new ScoreBpeModel(['a', 'b', 'ab', 'ab'], [0, 0, -5, 3]);
    expect(model.lookup('ab')).toBe(2);
    expect(model.merge([0, 1])).toEqual([2]);
  });

  it('rejects bad symbols and mismatched tables', () => {
    const model = new ScoreBpeModel(['a'], [0]);
    expect(() => model.merge([0, 1])).toThrow(InvalidArgumentError);
    expect(() => model.merge([0.5])).toThrow(InvalidArgumentError);
    expect(() => new ScoreBpeModel(['a', 'b'], [0])).toThrow(InvalidArgumentError);
  });

  it('matches the run.c loop on random small vocabularies (ties, duplicates, empty pieces, floor)', () => {
    const vocabulary = fc
      .array(
        fc.record({
          piece: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 0, maxLength: 4 }),
          // Few distinct scores so ties are common; -1e10 and below never merge.
          score: fc.constantFrom(0, -0, -1, -2, -3, 1.5, -1e10, -2e10),
        }),
        { minLength: 1, maxLength: 24 },
      )
      .map((entries) => [
        { piece: 'a', score: 0 },
        { piece: 'b', score: 0 },
        { piece: 'c', score: 0 },
        ...entries,
      ]);
    fc.assert(
      fc.property(
        vocabulary.chain((entries) =>
          fc.tuple(fc.constant(entries), fc.array(fc.nat(entries.length - 1), { maxLength: 40 })),
        ),
        ([entries, symbols]) => {
          const pieces = entries.map((entry) => entry.piece);
          const scores = Float32Array.from(entries, (entry) => entry.score);
          const model = new ScoreBpeModel(pieces, scores);
          expect(model.merge(symbols)).toEqual(runCMerge(symbols, pieces, scores));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describeWithFixtures('ScoreBpeModel on tok512', ['stories260K/tok512.bin'], () => {
  const tokenizer = loadLlama2cTokenizer(readFileSync(fixturePath('stories260K/tok512.bin')));
  const pieces: string[] = [];
  const scores = new Float32Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    pieces.push(String.fromCharCode(...(tokenizer.pieceBytes(id) ?? [])));
    scores[id] = tokenizer.score(id) ?? 0;
  }
  const model = new ScoreBpeModel(pieces, scores);
  const alphabet = [...new Set(pieces.slice(259).join(''))];

  it('matches the run.c loop on random strings over the vocabulary alphabet', () => {
    const text = fc.string({ unit: fc.constantFrom(...alphabet, 'é', '🦙', '\n'), maxLength: 60 });
    fc.assert(
      fc.property(text, (value) => {
        const symbols = runCSymbols(value, model);
        const expected = runCMerge(symbols, pieces, scores);
        expect(model.merge(symbols)).toEqual(expected);
        expect(tokenizer.encode(value, { addSpecialTokens: true })).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
