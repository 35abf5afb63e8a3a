import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError, UnsupportedError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { get_encoding } from 'tiktoken';
import { describe, expect, it } from 'vitest';
import { loadGgufTokenizer } from '../loaders/gguf.js';
import { buildGguf, type TestValue } from '../test-utils/gguf-file.js';

const GPT2 = 'tokenizers/llama-cpp/ggml-vocab-gpt-2.gguf';
const SPM = 'tokenizers/llama-cpp/ggml-vocab-llama-spm.gguf';
const BERT = 'tokenizers/llama-cpp/ggml-vocab-bert-bge.gguf';

describeWithFixtures('GgufTokenizer on llama.cpp vocabularies', [GPT2, SPM, BERT], () => {
  const gpt2 = loadGgufTokenizer(readFileSync(fixturePath(GPT2)), { source: GPT2 });
  const spm = loadGgufTokenizer(readFileSync(fixturePath(SPM)), { source: SPM });
  const bert = loadGgufTokenizer(readFileSync(fixturePath(BERT)), { source: BERT });

  it('round-trips random Unicode through the byte-level vocabulary', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(gpt2.decode(gpt2.encode(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any GPT-2 ids as their bytes decoded at once, in one call or streamed', () => {
    const reference = new TextDecoder('utf-8', { ignoreBOM: true });
    // Independent of the decoder: the token's characters read through GPT-2's byte alphabet.
    const alphabet = new Map<string, number>();
    for (let byte = 0; byte < 256; byte++) {
      const code = isPrintable(byte) ? byte : 0x100 + byte - countPrintable(byte);
      alphabet.set(String.fromCharCode(code), byte);
    }
    const bytesOf = (id: number) =>
      id === 50256
        ? [...new TextEncoder().encode('<|endoftext|>')]
        : [...gpt2.idToToken(id)!].map((c) => alphabet.get(c)!);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: gpt2.vocabSize - 1 }), { maxLength: 30 }),
        fc.boolean(),
        (ids, skip) => {
          const kept = ids.filter((id) => !(skip && id === 50256));
          const expected = reference.decode(Uint8Array.from(kept.flatMap(bytesOf)));
          expect(gpt2.decode(ids, { skipSpecialTokens: skip })).toBe(expected);
          const stream = gpt2.createStreamDecoder({ skipSpecialTokens: skip });
          expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives tiktoken’s ids for text whose words repeat (word cache hits and misses)', () => {
    const words = [
      ' the',
      ' cat',
      'Cat',
      ' 😁',
      '日本語',
      ' 12345',
      '\n\n',
      '  ',
      "'s",
      ' çà',
      '!!',
      ' tokenization',
    ];
    const tiktoken = get_encoding('gpt2');
    try {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...words), { maxLength: 60 }), (parts) => {
          const text = parts.join('');
          const expected = Array.from(tiktoken.encode(text));
          expect(gpt2.encode(text)).toEqual(expected);
          expect(gpt2.encode(text)).toEqual(expected);
        }),
        { numRuns: 200 },
      );
    } finally {
      tiktoken.free();
    }
  });

  it('encodes a lone surrogate as U+FFFD, cached or not', () => {
    const replaced = gpt2.encode('\ufffdx \ufffdx');
    expect(gpt2.encode('\ud800x \ud800x')).toEqual(replaced);
    expect(gpt2.encode('\ud800x \ud800x')).toEqual(replaced);
  });

  it('round-trips SentencePiece text and drops the dummy prefix', () => {
    const text = 'Hello  world\n\tçà 🦙 日本';
    expect(spm.decode(spm.encode(text, { addSpecialTokens: true }), { skipSpecialTokens: true })).toBe(text);
    expect(spm.decode([1, 15043], { skipSpecialTokens: false })).toBe('<s> Hello');
  });

  it('streams without breaking characters split over tokens', () => {
    const text = 'a 😁 b 中文 ✅';
    for (const tokenizer of [gpt2, spm]) {
      const ids = tokenizer.encode(text);
      const stream = tokenizer.createStreamDecoder();
      const chunks = ids.map((id) => stream.push(id));
      chunks.push(stream.flush());
      expect(chunks.join('')).toBe(tokenizer.decode(ids));
      for (const chunk of chunks) expect(chunk).not.toContain('\ufffd');
    }
  });

  it('adds BOS/EOS/CLS/SEP and parses special tokens only when asked', () => {
    expect(spm.encode('Hi', { addSpecialTokens: true })[0]).toBe(1);
    expect(bert.encode('hello', { addSpecialTokens: true })).toEqual([101, 7592, 102]);
    expect(gpt2.encode('<|endoftext|>', { parseSpecialTokens: true })).toEqual([50256]);
    expect(gpt2.encode('<|endoftext|>')).not.toEqual([50256]);
    expect(spm.encode('a</s>b', { parseSpecialTokens: true })).toContain(2);
    expect(
      bert.decode(bert.encode('Hello, World!', { addSpecialTokens: true }), { skipSpecialTokens: true }),
    ).toBe('hello, world!');
    expect(bert.specialTokens).toMatchObject({ unknown: 100, separator: 102, classifier: 101, padding: 0 });
  });

  it('reports the UTF-16 range of every token', () => {
    const text = 'Hello wörld 😁!';
    for (const tokenizer of [gpt2, spm, bert]) {
      const { ids, offsets } = tokenizer.encodeWithOffsets(text, { addSpecialTokens: true });
      expect(ids).toEqual(tokenizer.encode(text, { addSpecialTokens: true }));
      expect(offsets).toHaveLength(ids.length);
      for (const [start, end] of offsets) {
        expect(0 <= start && start <= end && end <= text.length).toBe(true);
      }
    }
    expect(gpt2.encodeWithOffsets('Hello world').offsets).toEqual([
      [0, 5],
      [5, 11],
    ]);
    expect(bert.encodeWithOffsets('Hello wörld').offsets).toEqual([
      [0, 5],
      [6, 11],
    ]);
  });

  it('handles empty input, NUL, lone surrogates and very long words', () => {
    for (const tokenizer of [gpt2, spm, bert]) {
      expect(tokenizer.encode('')).toEqual([]);
      expect(tokenizer.encode('\ud800')).toEqual(tokenizer.encode('\ufffd'));
    }
    expect(gpt2.decode(gpt2.encode('a\u0000b'))).toBe('a\u0000b');
    expect(bert.encode('a'.repeat(200_000))).toEqual([100]);
    expect(gpt2.decode(gpt2.encode('ab'.repeat(50_000)))).toBe('ab'.repeat(50_000));
    expect(() => gpt2.decode([gpt2.vocabSize])).toThrow(InvalidArgumentError);
  });
});

/** A minimal byte-level vocabulary: the 256 byte characters plus the merge "Ġ t". */
function gpt2Metadata(overrides: [string, TestValue | undefined][] = []): [string, TestValue][] {
  const bytes = Array.from({ length: 256 }, (_, byte) => {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    return printable ? String.fromCharCode(byte) : '';
  });
  let next = 256;
  const tokens = bytes.map((char) => char || String.fromCharCode(next++));
  const entries = new Map<string, TestValue | undefined>([
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'gpt-2' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: [...tokens, 'Ġt'] }],
    ['tokenizer.ggml.merges', { type: 'strings', value: ['Ġ t'] }],
    ...overrides,
  ]);
  return [...entries].filter((entry): entry is [string, TestValue] => entry[1] !== undefined);
}

describe('loadGgufTokenizer on malformed vocabularies', () => {
  it('loads a minimal byte-level vocabulary', () => {
    const tokenizer = loadGgufTokenizer(buildGguf(gpt2Metadata()));
    expect(tokenizer.encode(' t')).toEqual([256]);
    expect(tokenizer.decode([256, 72])).toBe(' tH');
  });

  it('names missing keys, wrong types, bad lengths and unknown merges', () => {
    const cases: [[string, TestValue | undefined][], RegExp][] = [
      [
        [['tokenizer.ggml.tokens', undefined]],
        /tokenizer.ggml.tokens": expected an array of strings, found "no such key"/,
      ],
      [[['tokenizer.ggml.merges', undefined]], /tokenizer.ggml.merges": expected an array of strings/],
      [
        [['tokenizer.ggml.model', { type: 'uint32', value: 1 }]],
        /model": expected a string, found "a uint32"/,
      ],
      [[['tokenizer.ggml.tokens', { type: 'int32s', value: [1] }]], /found "an array of int32"/],
      [[['tokenizer.ggml.merges', { type: 'strings', value: ['Ġ zz'] }]], /merge 0 "Ġ zz".*found "zz"/],
      [
        [['tokenizer.ggml.merges', { type: 'strings', value: ['Ġt'] }]],
        /merges: merge 0: expected two tokens separated by a space, found "Ġt"/,
      ],
      [[['tokenizer.ggml.token_type', { type: 'int32s', value: [1, 1] }]], /expected 257 entries/],
      [
        [['tokenizer.ggml.tokens', { type: 'strings', value: ['a', 'a'] }]],
        /unique tokens, found "\\"a\\" at ids 0 and 1"/,
      ],
      [[['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }]], /add_bos_token/],
    ];
    for (const [overrides, message] of cases) {
      const bytes = buildGguf(gpt2Metadata(overrides));
      expect(() => loadGgufTokenizer(bytes, { source: 'v.gguf' })).toThrow(FormatError);
      expect(() => loadGgufTokenizer(bytes, { source: 'v.gguf' })).toThrow(message);
    }
  });

  it('rejects unsupported models and pre-tokenizers', () => {
    const t5 = buildGguf(gpt2Metadata([['tokenizer.ggml.model', { type: 'string', value: 't5' }]]));
    expect(() => loadGgufTokenizer(t5)).toThrow(UnsupportedError);
    const pre = buildGguf(gpt2Metadata([['tokenizer.ggml.pre', { type: 'string', value: 'nonesuch' }]]));
    expect(() => loadGgufTokenizer(pre)).toThrow(/pre "nonesuch" is not a supported pre-tokenizer type/);
    expect(() => loadGgufTokenizer('x' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });
});

/** Whether GPT-2's byte alphabet keeps `byte` as its own character. */
function isPrintable(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
}

/** How many bytes below `byte` are printable (the others map to U+0100 on, in order). */
function countPrintable(byte: number): number {
  let count = 0;
  for (let below = 0; below < byte; below++) if (isPrintable(below)) count++;
  return count;
}
