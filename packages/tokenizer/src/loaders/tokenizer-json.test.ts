import { FormatError, UnsupportedError } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { splitPieces } from '../pre-tokenizers/from-json.js';
import { loadGpt2Tokenizer, loadTiktokenRanks } from './gpt2-files.js';
import { loadTokenizerJson } from './tokenizer-json.js';

const cps = (text: string) => Uint32Array.from(text, (char) => char.codePointAt(0)!);
const text = (pieces: { cps: Uint32Array }[]) => pieces.map((piece) => String.fromCodePoint(...piece.cps));

/** A SentencePiece-style BPE as Llama 2's tokenizer.json spells it. */
function llamaStyle(preTokenizer: unknown, decoder: unknown, normalizer: unknown = null) {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let byte = 0; byte < 256; byte++)
    vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + byte;
  for (const token of ['▁', 'h', 'i', '▁h', '▁hi', 'a', '▁a']) vocab[token] = Object.keys(vocab).length;
  return {
    added_tokens: [
      { id: 0, content: '<unk>', special: true },
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
    decoder,
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
  };
}

const LLAMA_DECODER = {
  type: 'Sequence',
  decoders: [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
};

describe('loadTokenizerJson: SentencePiece-style BPE', () => {
  it('Metaspace (prepend first), byte fallback, template, and the Llama decoder chain', () => {
    const tokenizer = loadTokenizerJson(
      llamaStyle(
        { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
        LLAMA_DECODER,
      ),
    );
    const h = tokenizer.tokenToId('▁hi')!;
    expect(tokenizer.encode('hi a')).toEqual([h, tokenizer.tokenToId('▁a')]);
    expect(tokenizer.encode('hi', { addSpecialTokens: true })).toEqual([1, h]);
    // é is not in the vocabulary: its UTF-8 bytes C3 A9.
    expect(tokenizer.encode('é')).toEqual([tokenizer.tokenToId('▁'), 3 + 0xc3, 3 + 0xa9]);
    // After a special token, "first" adds no prefix.
    expect(tokenizer.encode('<s>hi', { parseSpecialTokens: true })).toEqual([
      1,
      tokenizer.tokenToId('h'),
      tokenizer.tokenToId('i'),
    ]);
    expect(tokenizer.encode('<s>hi')).not.toContain(1);
    expect(tokenizer.decode(tokenizer.encode('hi é a'))).toBe('hi é a');
    expect(tokenizer.decode([1, h], { skipSpecialTokens: true })).toBe('hi');
    const stream = tokenizer.createStreamDecoder();
    const ids = tokenizer.encode('hi é a');
    expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe('hi é a');
  });

  it('the legacy normalizer form (Prepend + Replace) and tokenizer_config special tokens', () => {
    const tokenizer = loadTokenizerJson(
      llamaStyle(null, LLAMA_DECODER, {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      }),
      {
        tokenizerConfig: {
          bos_token: { content: '<s>' },
          eos_token: '</s>',
          add_bos_token: true,
          add_eos_token: true,
        },
      },
    );
    expect(tokenizer.encode('hi', { addSpecialTokens: true })).toEqual([1, tokenizer.tokenToId('▁hi'), 2]);
    expect(tokenizer.specialTokens).toEqual({ bos: 1, eos: 2, unknown: 0 });
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('Metaspace decoder drops the first token’s replacement unless the scheme is never', () => {
    const tokenizer = loadTokenizerJson(
      llamaStyle(
        { type: 'Metaspace', prepend_scheme: 'always' },
        { type: 'Metaspace', prepend_scheme: 'always' },
      ),
    );
    expect(tokenizer.decode(tokenizer.encode('hi a'))).toBe('hi a');
  });
});

describe('loadTokenizerJson: WordPiece (BERT)', () => {
  const vocab: Record<string, number> = {};
  for (const token of [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    'hello',
    'world',
    '##s',
    ',',
    'un',
    '##able',
    '中',
  ]) {
    vocab[token] = Object.keys(vocab).length;
  }
  const bert = loadTokenizerJson({
    added_tokens: [
      { id: 2, content: '[CLS]', special: true },
      { id: 3, content: '[SEP]', special: true },
    ],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });

  it('normalizes, splits and cuts words, with CLS/SEP', () => {
    expect(bert.encode('Héllo, WORLDS 中x', { addSpecialTokens: true })).toEqual([2, 4, 7, 5, 6, 10, 1, 3]);
    expect(bert.encode('unable')).toEqual([8, 9]);
    expect(bert.decode([2, 4, 7, 5, 6, 3], { skipSpecialTokens: true })).toBe('hello, worlds');
  });
});

describe('pre-tokenizers', () => {
  it('split behaviours follow tokenizers', () => {
    const pieces = [{ cps: cps('a--b-c'), atStart: true }];
    const dash = (input: Uint32Array) => {
      const out: number[] = [];
      input.forEach((cp, i) => {
        if (cp === 0x2d) out.push(i, i + 1);
      });
      return out;
    };
    expect(text(splitPieces(pieces, dash, 'Removed'))).toEqual(['a', 'b', 'c']);
    expect(text(splitPieces(pieces, dash, 'Isolated'))).toEqual(['a', '-', '-', 'b', '-', 'c']);
    expect(text(splitPieces(pieces, dash, 'MergedWithPrevious'))).toEqual(['a-', '-', 'b-', 'c']);
    expect(text(splitPieces(pieces, dash, 'MergedWithNext'))).toEqual(['a', '-', '-b', '-c']);
    expect(text(splitPieces(pieces, dash, 'Contiguous'))).toEqual(['a', '--', 'b', '-', 'c']);
    expect(text(splitPieces(pieces, dash, 'Removed', true))).toEqual(['-', '-', '-']);
  });

  it('Whitespace, WhitespaceSplit, Digits, Split and ByteLevel in a Sequence', () => {
    const vocab: Record<string, number> = { '[UNK]': 0 };
    const make = (preTokenizer: unknown) =>
      loadTokenizerJson({
        pre_tokenizer: preTokenizer,
        model: { type: 'WordPiece', unk_token: '[UNK]', vocab },
        decoder: { type: 'Fuse' },
      });
    const words = (preTokenizer: unknown, input: string) => {
      const tokenizer = make(preTokenizer);
      return tokenizer.encode(input).length;
    };
    expect(words({ type: 'Whitespace' }, 'Hi, there! x_y')).toBe(5);
    expect(words({ type: 'WhitespaceSplit' }, 'Hi, there!\u0085x')).toBe(3);
    expect(words({ type: 'Digits', individual_digits: true }, 'a123')).toBe(4);
    expect(words({ type: 'Digits', individual_digits: false }, 'a123b')).toBe(3);
    expect(
      words(
        {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: '\\p{N}{1,3}' }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
          ],
        },
        'x1234567',
      ),
    ).toBe(4);
  });
});

describe('malformed and unsupported files', () => {
  const base = () => ({ model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] } });

  it('typed errors name the path, expected and found', () => {
    expect(() => loadTokenizerJson('{"model": ')).toThrow(FormatError);
    expect(() => loadTokenizerJson(new Uint8Array([0x7b, 0xff]))).toThrow(FormatError);
    expect(() => loadTokenizerJson('[]')).toThrow(/\(root\)": expected an object, found "an array of 0"/);
    expect(() => loadTokenizerJson('{}')).toThrow(/"model": expected a model object/);
    expect(() => loadTokenizerJson({ model: { ...base().model, merges: ['a c'] } })).toThrow(
      /merge 0 "a c": expected tokens present in the vocabulary, found "c"/,
    );
    expect(() => loadTokenizerJson({ model: { ...base().model, merges: ['ab'] } })).toThrow(
      /"model.merges\[0\]": expected two tokens separated by a space/,
    );
    expect(() => loadTokenizerJson({ model: { ...base().model, merges: [['a', 'b', 'c']] } })).toThrow(
      FormatError,
    );
    expect(() => loadTokenizerJson({ model: { ...base().model, vocab: { a: -1 } } })).toThrow(
      /"model.vocab.a": expected a non-negative integer/,
    );
    expect(() => loadTokenizerJson({ model: { ...base().model, vocab: [] } })).toThrow(FormatError);
    expect(() => loadTokenizerJson({ model: { ...base().model, unk_token: 'zz' } })).toThrow(
      /"model.unk_token": expected a token of the vocabulary/,
    );
    expect(() => loadTokenizerJson({ ...base(), added_tokens: [{ id: 'x', content: 'a' }] })).toThrow(
      /"added_tokens\[0\].id"/,
    );
    expect(() =>
      loadTokenizerJson({ ...base(), pre_tokenizer: { type: 'Split', pattern: {}, behavior: 'Isolated' } }),
    ).toThrow(FormatError);
    expect(() =>
      loadTokenizerJson({
        ...base(),
        pre_tokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'Sideways' },
      }),
    ).toThrow(/behavior": expected Removed, Isolated/);
    expect(() =>
      loadTokenizerJson({
        ...base(),
        post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: 'X' } }] },
      }),
    ).toThrow(/special_tokens.X": expected an entry/);
    expect(() => loadTokenizerJson(base(), { tokenizerConfig: { bos_token: '<s>' } })).toThrow(
      /tokenizer_config.json: "bos_token": expected a token of tokenizer.json/,
    );
  });

  it('unknown stage types and regexes are UnsupportedError naming them', () => {
    expect(() =>
      loadTokenizerJson({ ...base(), pre_tokenizer: { type: 'Split', pattern: { Regex: '(a+)+$' } } }),
    ).toThrow(/split regex "\(a\+\)\+\$" is not supported/);
    expect(() =>
      loadTokenizerJson({ ...base(), pre_tokenizer: { type: 'Split', pattern: { Regex: '(a+)+$' } } }),
    ).toThrow(UnsupportedError);
    expect(() => loadTokenizerJson({ model: { type: 'WordLevel', vocab: {} } })).toThrow(
      /model type "WordLevel"/,
    );
    expect(() => loadTokenizerJson({ ...base(), normalizer: { type: 'Precompiled' } })).toThrow(
      UnsupportedError,
    );
    expect(() => loadTokenizerJson({ ...base(), decoder: { type: 'CTC' } })).toThrow(UnsupportedError);
    expect(() => loadTokenizerJson({ model: { ...base().model, dropout: 0.1 } })).toThrow(UnsupportedError);
  });
});

describe('GPT-2 and tiktoken files', () => {
  it('malformed files are FormatErrors naming the line', () => {
    expect(() => loadGpt2Tokenizer('{"a": 0}', '#version: 0.2\nab\n')).toThrow(
      /vocab.bpe: line 2: expected a merge/,
    );
    expect(() => loadGpt2Tokenizer('{"a": 0, "b": 1}', 'a b\n')).toThrow(FormatError);
    expect(() => loadGpt2Tokenizer('{"a": ', 'a b\n')).toThrow(FormatError);
    expect(() => loadTiktokenRanks('YQ== 0\nnot base64!\n', { pattern: 'gpt2' })).toThrow(
      /line 2: expected "<base64> <rank>"/,
    );
    expect(() => loadTiktokenRanks('YQ== 0\nYg== 0\n', { pattern: 'gpt2' })).toThrow(
      /line 2: expected a rank used once/,
    );
    expect(() => loadTiktokenRanks('YQ== 99999999\n', { pattern: 'gpt2' })).toThrow(
      /expected a rank below the line count/,
    );
    expect(() => loadTiktokenRanks('YQ== 0\n', { pattern: 'gpt2' })).toThrow(
      /expected every byte 0..255 as a token/,
    );
    expect(() => loadTiktokenRanks('YQ== 0\n', { pattern: 'p100k' as 'gpt2' })).toThrow(UnsupportedError);
  });
});
