import { readFileSync } from 'node:fs';
import { InvalidArgumentError, UnsupportedError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadLlama2cTokenizer } from '../loaders/llama2c.js';
import { buildLlama2cFile, syntheticVocabulary } from '../test-utils/llama2c-file.js';
import type { Llama2cTokenizer } from './llama2c-tokenizer.js';

const REFERENCE = 'stories260K/reference';

function readText(relativePath: string): string {
  return readFileSync(fixturePath(relativePath), 'utf8');
}

function traceIds(relativePath: string, label: string): number[] {
  const line = readText(relativePath)
    .split('\n')
    .find((text) => text.startsWith(`${label}:`));
  if (line === undefined) throw new Error(`${relativePath} has no ${label} line`);
  return line
    .slice(label.length + 1)
    .trim()
    .split(/\s+/)
    .map(Number);
}

function streamDecode(
  tokenizer: Llama2cTokenizer,
  ids: readonly number[],
  skipSpecialTokens = false,
): string {
  const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens });
  return ids.map((id) => decoder.push(id)).join('') + decoder.flush();
}

/** Pseudo-random story-like text (fixed seed) built from common TinyStories words. */
function storyText(length: number): string {
  const words =
    'Once upon a time there was a little girl named Lily . She loved to play outside in the park , with her big red ball ! "Hello," said Tom . They were happy and smiled every day'.split(
      ' ',
    );
  let seed = 12345;
  let text = '';
  while (text.length < length) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    text += `${words[seed % words.length]}${seed % 17 === 0 ? '\n' : ' '}`;
  }
  return text.slice(0, length);
}

/**
 * Best-of-five wall times (ms) of `run(small)` and `run(large)`, interleaved so that noise
 * from other processes and garbage collection hits both alike.
 */
function bestTimes(run: (input: string) => void, small: string, large: string): [number, number] {
  const best: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let attempt = 0; attempt < 5; attempt++) {
    [small, large].forEach((input, index) => {
      const start = performance.now();
      run(input);
      best[index] = Math.min(best[index], performance.now() - start);
    });
  }
  return best;
}

describeWithFixtures(
  'Llama2cTokenizer on tok512 against llama2.c run.c',
  [
    'stories260K/tok512.bin',
    `${REFERENCE}/tok512_encode_vectors.json`,
    `${REFERENCE}/trace_once_upon_a_time_n200.txt`,
    `${REFERENCE}/trace_noprompt_n200.txt`,
    `${REFERENCE}/expected_once_upon_a_time_n200.txt`,
  ],
  () => {
    const tokenizer = loadLlama2cTokenizer(readFileSync(fixturePath('stories260K/tok512.bin')), {
      vocabSize: 512,
    });

    it('reports the vocabulary', () => {
      expect(tokenizer.vocabSize).toBe(512);
      expect(tokenizer.maxTokenLength).toBe(7);
      expect(tokenizer.specialTokens).toEqual({ unknown: 0, bos: 1, eos: 2 });
      expect(tokenizer.idToToken(1)).toBe('\n<s>\n');
      expect(tokenizer.idToToken(3 + 0x41)).toBe('<0x41>');
      expect(tokenizer.idToToken(259)).toBe(' t');
      expect(tokenizer.idToToken(512)).toBeUndefined();
      expect(tokenizer.idToToken(-1)).toBeUndefined();
      expect(tokenizer.tokenToId(' Lily')).toBe(317);
      expect(tokenizer.tokenToId('nope')).toBeUndefined();
      expect(tokenizer.score(260)).toBe(-1);
      expect(tokenizer.pieceBytes(410)).toEqual(new Uint8Array([0x20]));
    });

    it('encodes every case of tok512_encode_vectors.json', () => {
      const vectors = JSON.parse(readText(`${REFERENCE}/tok512_encode_vectors.json`)) as {
        cases: { text: string; ids: number[] }[];
      };
      expect(vectors.cases.length).toBeGreaterThan(0);
      for (const { text, ids } of vectors.cases) {
        expect(tokenizer.encode(text, { addSpecialTokens: true }), JSON.stringify(text)).toEqual(ids);
        expect(tokenizer.encode(text), JSON.stringify(text)).toEqual(ids.slice(1));
      }
    });

    it('encodes the traced prompts', () => {
      expect(tokenizer.encode('Once upon a time', { addSpecialTokens: true })).toEqual(
        traceIds(`${REFERENCE}/trace_once_upon_a_time_n200.txt`, 'PROMPT_IDS'),
      );
      expect(tokenizer.encode('', { addSpecialTokens: true })).toEqual(
        traceIds(`${REFERENCE}/trace_noprompt_n200.txt`, 'PROMPT_IDS'),
      );
    });

    it('decodes a generated sequence exactly as run.c printed it, at once and streamed', () => {
      const ids = traceIds(`${REFERENCE}/trace_once_upon_a_time_n200.txt`, 'TOKEN_IDS');
      const expected = readText(`${REFERENCE}/expected_once_upon_a_time_n200.txt`).replace(/\n$/, '');
      // run.c prints each token with the previous one: BOS before the first.
      expect(tokenizer.decode([1, ...ids], { skipSpecialTokens: true })).toBe(expected);
      expect(tokenizer.decode([1, ...ids]).slice('\n<s>\n'.length)).toBe(expected);
      expect(streamDecode(tokenizer, [1, ...ids], true)).toBe(expected);
    });

    it('keeps a leading space unless the previous id is BOS', () => {
      expect(tokenizer.decode([317])).toBe(' Lily');
      expect(tokenizer.decode([1, 317])).toBe('\n<s>\nLily');
      expect(tokenizer.decode([1, 317], { skipSpecialTokens: true })).toBe('Lily');
      expect(tokenizer.decode([317, 2, 0])).toBe(' Lily\n</s>\n<unk>');
      expect(tokenizer.decode([317, 2, 0], { skipSpecialTokens: true })).toBe(' Lily');
      // A byte token is not stripped: its piece starts with '<'.
      expect(tokenizer.decode([1, 3 + 0x20], { skipSpecialTokens: true })).toBe(' ');
    });

    it('round-trips any text through encode with BOS and decode skipping it', () => {
      const check = (text: string) => {
        const ids = tokenizer.encode(text, { addSpecialTokens: true });
        expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(text);
        expect(streamDecode(tokenizer, ids, true)).toBe(text);
      };
      fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 80 }), check), { numRuns: 300 });
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), check), { numRuns: 300 });
      fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), check), { numRuns: 200 });
      for (const text of ['', ' ', '  x', 'x ', '\uFEFFbom', 'nul\0byte', '<s>', 'é', '🦙🦙']) check(text);
    });

    it('replaces lone surrogates with U+FFFD', () => {
      const ids = tokenizer.encode('a\uD800b', { addSpecialTokens: true });
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('a\uFFFDb');
    });

    it('parses special-token strings only when asked', () => {
      const plain = tokenizer.encode('<s>Once</s>', { addSpecialTokens: true });
      expect(plain).toEqual(
        tokenizer.encode('<s>Once</s>', { addSpecialTokens: true, parseSpecialTokens: false }),
      );
      expect(plain).not.toContain(2);
      const once = tokenizer.encode('Once');
      expect(tokenizer.encode('Once</s>', { parseSpecialTokens: true })).toEqual([...once, 2]);
      // The dummy prefix belongs to the start of the text only.
      const afterSpecial = tokenizer.encode('<s>Once<unk>', {
        addSpecialTokens: true,
        parseSpecialTokens: true,
      });
      expect(afterSpecial[0]).toBe(1);
      expect(afterSpecial[1]).toBe(1);
      expect(afterSpecial.at(-1)).toBe(0);
      expect(tokenizer.decode(afterSpecial.slice(2, -1))).toBe('Once');
      expect(tokenizer.encode('<s>', { parseSpecialTokens: true })).toEqual([1]);
      expect(tokenizer.encode('a</s>b', { parseSpecialTokens: true })).toEqual([
        ...tokenizer.encode('a'),
        2,
        tokenizer.tokenToId('b'),
      ]);
    });

    it('streams a character split over byte tokens whole, exactly once', () => {
      // tok512 has no piece "ï" (C3 AF), so it falls back to two byte tokens.
      expect(tokenizer.encode('ï')).toEqual([410, 0xc3 + 3, 0xaf + 3]);
      const decoder = tokenizer.createStreamDecoder();
      expect(decoder.push(0xc3 + 3)).toBe('');
      expect(decoder.push(0xaf + 3)).toBe('ï');
      const llama = [0xf0, 0x9f, 0xa6, 0x99].map((byte) => byte + 3);
      expect(llama.map((id) => decoder.push(id))).toEqual(['', '', '', '🦙']);
      expect(decoder.flush()).toBe('');
    });

    it('flushes a dangling lead byte as U+FFFD and then starts afresh', () => {
      const decoder = tokenizer.createStreamDecoder();
      expect(decoder.push(317)).toBe(' Lily');
      expect(decoder.push(0xc3 + 3)).toBe('');
      expect(decoder.flush()).toBe('\uFFFD');
      expect(decoder.push(317)).toBe(' Lily');
      expect(decoder.push(0xc3 + 3)).toBe('');
      expect(decoder.push(3 + 0x41)).toBe('\uFFFDA');
    });

    it('streams what decode returns, for any ids', () => {
      fc.assert(
        fc.property(fc.array(fc.nat(511), { maxLength: 40 }), fc.boolean(), (ids, skip) => {
          expect(streamDecode(tokenizer, ids, skip)).toBe(tokenizer.decode(ids, { skipSpecialTokens: skip }));
        }),
        { numRuns: 500 },
      );
    });

    it('rejects ids outside the vocabulary', () => {
      expect(() => tokenizer.decode([5, 512])).toThrow(InvalidArgumentError);
      expect(() => tokenizer.decode([-1])).toThrow(/ids\[0\]/);
      expect(() => tokenizer.decode([1.5])).toThrow(InvalidArgumentError);
      expect(() => tokenizer.createStreamDecoder().push(Number.NaN)).toThrow(InvalidArgumentError);
      expect(() => tokenizer.encode(42 as unknown as string)).toThrow(InvalidArgumentError);
    });

    it('encodes in near-linear time (4x the input takes well under 16x, the quadratic growth)', () => {
      // 'l' merges pairwise ("ll"); 'a' never merges.
      for (const make of [
        storyText,
        (length: number) => 'l'.repeat(length),
        (length: number) => 'a'.repeat(length),
      ]) {
        const [small, large] = bestTimes((text) => tokenizer.encode(text), make(50_000), make(200_000));
        expect(large / small).toBeLessThan(8);
      }
    });
  },
);

describe('Llama2cTokenizer on a synthetic vocabulary', () => {
  const file = buildLlama2cFile(syntheticVocabulary([' ', 'a', 'b', 'ab', ' ab', 'é', ' é']));

  it('uses codepoint pieces before byte fallback, and merges multi-byte pieces', () => {
    const tokenizer = loadLlama2cTokenizer(file);
    const id = (piece: string) => tokenizer.tokenToId(piece);
    expect(tokenizer.encode('ab')).toEqual([id(' ab')]);
    expect(tokenizer.encode('é')).toEqual([id(' é')]);
    expect(tokenizer.encode('bé')).toEqual([id(' '), id('b'), id('é')]);
    expect(tokenizer.encode('ü')).toEqual([id(' '), 0xc3 + 3, 0xbc + 3]);
    expect(
      tokenizer.decode(tokenizer.encode('xéü', { addSpecialTokens: true }), { skipSpecialTokens: true }),
    ).toBe('xéü');
  });

  it('names the missing piece when the vocabulary cannot encode', () => {
    const noSpace = loadLlama2cTokenizer(buildLlama2cFile(syntheticVocabulary(['a'])));
    expect(noSpace.encode('')).toEqual([]);
    expect(() => noSpace.encode('a')).toThrow(UnsupportedError);
    const tiny = loadLlama2cTokenizer(
      buildLlama2cFile(syntheticVocabulary([' ']).slice(0, 3).concat({ piece: ' ', score: 0 })),
    );
    expect(tiny.encode(' ')).toEqual([3, 3]);
    expect(() => tiny.encode('a')).toThrow(/byte-fallback id for byte 0x61/);
  });

  it('shows pieces that are not valid UTF-8 with U+FFFD and does not look them up', () => {
    const entries = syntheticVocabulary([' ']);
    entries.push({ piece: new Uint8Array([0x20, 0xc3]), score: -5 });
    const tokenizer = loadLlama2cTokenizer(buildLlama2cFile(entries));
    expect(tokenizer.idToToken(entries.length - 1)).toBe(' \uFFFD');
    expect(tokenizer.tokenToId(' \uFFFD')).toBeUndefined();
    expect(tokenizer.pieceBytes(entries.length - 1)).toEqual(new Uint8Array([0x20, 0xc3]));
  });
});
