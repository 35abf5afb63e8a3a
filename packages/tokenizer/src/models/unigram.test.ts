import { Tokenizer } from '@huggingface/tokenizers';
import { FormatError, InvalidArgumentError } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTokenizerJson } from '../loaders/tokenizer-json.js';

/** Characters of the generated texts: ASCII, Latin-1, Cyrillic, CJK, an astral emoji, `▁`. */
const KNOWN = [...'abcdeghiklmnorstuy', 'é', 'ß', 'д', 'я', '中', '文', '😀', '▁'];
/** Characters no entry covers alone. */
const UNKNOWN = ['q', 'ж', '語', '🎉'];

function unigramJson(vocab: [string, number][], unkId: number | null, options: Record<string, unknown> = {}) {
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...options,
    model: { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: false },
  };
}

/** A vocabulary: `<unk>`, every known character, random multi-character entries; scores from a small set, so ties happen. */
const vocabArbitrary = fc
  .tuple(
    fc.array(
      fc
        .array(fc.constantFrom(...KNOWN, ...UNKNOWN), { minLength: 2, maxLength: 5 })
        .map((cs) => cs.join('')),
      { maxLength: 60 },
    ),
    fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 100, maxLength: 100 }),
    fc.nat(40),
  )
  .map(([words, scoreSeeds, unkAt]) => {
    const texts = [...new Set([...KNOWN, ...words])];
    const vocab: [string, number][] = texts.map((text, i) => [text, -scoreSeeds[i % scoreSeeds.length] / 2]);
    const unkId = Math.min(unkAt, vocab.length);
    vocab.splice(unkId, 0, ['<unk>', 0]);
    return { vocab, unkId };
  });

/** Text where unknown characters never touch: the oracle does not fuse them (Hugging Face does). */
const textArbitrary = fc
  .array(fc.oneof(fc.constantFrom(...KNOWN), fc.constantFrom(...UNKNOWN), fc.constant(' ')), {
    maxLength: 40,
  })
  .map((chars) => {
    const out: string[] = [];
    for (const char of chars) {
      if (UNKNOWN.includes(char) && UNKNOWN.includes(out.at(-1) ?? '')) out.push('a');
      out.push(char);
    }
    return out.join('');
  });

describe('Unigram model', () => {
  it('gives the ids of @huggingface/tokenizers (Viterbi, ties, unknown characters)', () => {
    fc.assert(
      fc.property(
        vocabArbitrary,
        fc.array(textArbitrary, { minLength: 1, maxLength: 5 }),
        ({ vocab, unkId }, texts) => {
          // `split: false`: the oracle (a JavaScript port) does not split on `▁` as Hugging Face does.
          const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false };
          for (const options of [{}, { pre_tokenizer: metaspace, decoder: metaspace }]) {
            const json = unigramJson(vocab, unkId, options);
            const ours = loadTokenizerJson(json);
            const oracle = new Tokenizer(json, {});
            for (const text of texts) expect(ours.encode(text)).toEqual(oracle.encode(text).ids);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('fuses unknown characters, then tries the whole piece, byte fallback and the unknown id', () => {
    const vocab: [string, number][] = [
      ['<unk>', 0],
      ['a', -1],
      ['b', -1],
      ['ab', -1.5],
      ['qz', -30],
    ];
    const bytes: [string, number][] = [0x71, 0x7a, 0xd0, 0xb6].map((b) => [
      `<0x${b.toString(16).toUpperCase()}>`,
      -50,
    ]);
    const plain = loadTokenizerJson(unigramJson(vocab, 0));
    expect(plain.encode('ab')).toEqual([3]);
    // `q` and `ж` are unknown: fused into one piece, one unknown id.
    expect(plain.encode('aqжb')).toEqual([1, 0, 2]);
    const fallback = loadTokenizerJson({
      ...unigramJson([...vocab, ...bytes], 0),
      model: { type: 'Unigram', unk_id: 0, vocab: [...vocab, ...bytes], byte_fallback: true },
    });
    // The fused piece "qж" is not an entry: its bytes; "z" alone is covered by no byte token but by its own.
    expect(fallback.encode('aqжb')).toEqual([1, 5, 7, 8, 2]);
    // "ы" has no byte tokens: the unknown id.
    expect(fallback.encode('ыa')).toEqual([0, 1]);
  });

  it('rejects unknown characters without unk_id, and malformed models, with typed errors', () => {
    const noUnknown = loadTokenizerJson(unigramJson([['a', -1]], null));
    expect(noUnknown.encode('aa')).toEqual([0, 0]);
    expect(() => noUnknown.encode('ab')).toThrow(InvalidArgumentError);
    expect(() => noUnknown.encode('ab')).toThrow(/no unk_id/);
    const model = (value: unknown) => () =>
      loadTokenizerJson({ model: { type: 'Unigram', ...(value as object) } });
    expect(model({})).toThrow(FormatError);
    expect(model({ vocab: [] })).toThrow(/at least one entry/);
    expect(model({ vocab: [['a']] })).toThrow(/"model.vocab\[0\]": expected a pair/);
    expect(model({ vocab: [['a', 'x']] })).toThrow(/"model.vocab\[0\]\[1\]": expected a finite number/);
    expect(model({ vocab: [[1, -1]] })).toThrow(/"model.vocab\[0\]\[0\]"/);
    expect(model({ vocab: [['a', -1]], unk_id: 3 })).toThrow(/"model.unk_id": expected an id below 1/);
    expect(model({ vocab: [['a', -1]], unk_id: -1 })).toThrow(FormatError);
    expect(model({ vocab: [['a', -1]], byte_fallback: 'yes' })).toThrow(FormatError);
  });

  it('round-trips through the Metaspace decoder', () => {
    const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    const vocab: [string, number][] = [
      ['<unk>', 0],
      ...KNOWN.map((c): [string, number] => [c, -2]),
      ['▁a', -1],
    ];
    const tokenizer = loadTokenizerJson(
      unigramJson(vocab, 0, { pre_tokenizer: metaspace, decoder: metaspace }),
    );
    const text = 'a bé 中文 😀';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });
});
