import { InvalidArgumentError } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR } from '../pre-tokenizers/byte-level.js';
import { ByteLevelDecoder } from './byte-level-decoder.js';
import { TokenBytes } from './token-bytes.js';

const reference = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8 = new TextEncoder();
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;

/** Bytes biased towards UTF-8 structure: ASCII, leads, continuations and edge values. */
const byteArbitrary = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(0x20, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90),
  fc.integer({ min: 0, max: 0xff }),
);

/** A token: its string in the vocabulary, its type, and the bytes it decodes to. */
interface Token {
  text: string;
  type: number;
  bytes: Uint8Array;
}

const tokenArbitrary: fc.Arbitrary<Token> = fc.oneof(
  // A byte-level token: each byte spelled as its GPT-2 alphabet character.
  fc
    .tuple(fc.array(byteArbitrary, { maxLength: 12 }), fc.constantFrom(NORMAL, UNKNOWN))
    .map(([bytes, type]) => ({
      text: String.fromCharCode(...bytes.map((byte) => BYTE_TO_CHAR[byte])),
      type,
      bytes: Uint8Array.from(bytes),
    })),
  // A control or user-defined token: its text as is (non-ASCII text takes the packed path).
  fc
    .tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom(CONTROL, USER_DEFINED))
    .map(([text, type]) => ({ text, type, bytes: utf8.encode(text) })),
  // A normal token whose characters spell no bytes: decoded from the packed table, as its UTF-8.
  fc.constantFrom<Token>({ text: 'a€', type: NORMAL, bytes: utf8.encode('a€') }),
);

function decoderOf(tokens: Token[]): ByteLevelDecoder {
  const encoded = tokens.map((token) => utf8.encode(token.text));
  const bytes = new Uint8Array(encoded.reduce((sum, part) => sum + part.length, 0));
  const starts = new Uint32Array(tokens.length);
  const ends = new Uint32Array(tokens.length);
  let at = 0;
  encoded.forEach((part, id) => {
    bytes.set(part, at);
    starts[id] = at;
    at += part.length;
    ends[id] = at;
  });
  return new ByteLevelDecoder(
    { bytes, starts, ends },
    {
      tokenTypes: Int32Array.from(tokens, (token) => token.type),
      textTypes: [CONTROL, USER_DEFINED],
      skippableTypes: [CONTROL, UNKNOWN],
    },
    new TokenBytes(tokens.length, (id, out, at, room) => {
      if (tokens[id].bytes.length > room) return -1;
      out.set(tokens[id].bytes, at);
      return tokens[id].bytes.length;
    }),
  );
}

describe('ByteLevelDecoder', () => {
  it('gives the text of all token bytes decoded at once, on first and later calls', () => {
    fc.assert(
      fc.property(
        fc.array(tokenArbitrary, { minLength: 1, maxLength: 12 }).chain((tokens) =>
          fc.tuple(
            fc.constant(tokens),
            fc.array(fc.array(fc.integer({ min: 0, max: tokens.length - 1 }), { maxLength: 40 }), {
              minLength: 1,
              maxLength: 3,
            }),
          ),
        ),
        ([tokens, sequences]) => {
          const decoder = decoderOf(tokens);
          // Several sequences, then again: tokens are met first, then read from what was kept.
          for (const ids of [...sequences, ...sequences]) {
            for (const skip of [false, true]) {
              const kept = ids.filter((id) => !(skip && [CONTROL, UNKNOWN].includes(tokens[id].type)));
              const bytes = Uint8Array.from(kept.flatMap((id) => [...tokens[id].bytes]));
              expect(decoder.decode(ids, skip)).toBe(reference.decode(bytes));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decodes long sequences that grow its buffer', () => {
    const tokens: Token[] = [
      { text: '\u0120the', type: NORMAL, bytes: utf8.encode(' the') },
      { text: '\u00c3', type: NORMAL, bytes: Uint8Array.of(0xc3) },
      { text: '\u00a9', type: NORMAL, bytes: Uint8Array.of(0xa9) },
    ];
    const ids = Array.from({ length: 300_000 }, (_, i) => (i % 7 === 0 ? 0 : 1 + (i % 2)));
    const bytes = Uint8Array.from(ids.flatMap((id) => [...tokens[id].bytes]));
    expect(decoderOf(tokens).decode(ids, false)).toBe(reference.decode(bytes));
  });

  it('rejects ids outside the vocabulary with InvalidArgumentError', () => {
    const decoder = decoderOf([{ text: 'a', type: NORMAL, bytes: utf8.encode('a') }]);
    for (const id of [-1, 1, 0.5, Number.NaN, '0' as unknown as number]) {
      expect(() => decoder.decode([0, id], false)).toThrow(InvalidArgumentError);
      expect(() => decoder.decode([0, id], false)).toThrow(/ids\[1\]/);
    }
  });
});
