import { InvalidArgumentError } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLossy, PackedDecoder, TokenBytes } from './token-bytes.js';

const reference = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes biased towards UTF-8 structure: ASCII, leads, continuations and the edge values. */
const byteArbitrary = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(
    0x20,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xed,
    0xef,
    0xf0,
    0xf4,
    0xf5,
    0xff,
    0x9f,
    0xa0,
    0x8f,
    0x90,
  ),
  fc.integer({ min: 0, max: 0xff }),
);
const bytesArbitrary = fc.array(byteArbitrary, { maxLength: 40 }).map((bytes) => Uint8Array.from(bytes));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function packed(tokens: Uint8Array[]): TokenBytes {
  return new TokenBytes(tokens.length, (id, out, at, room) => {
    if (tokens[id].length > room) return -1;
    out.set(tokens[id], at);
    return tokens[id].length;
  });
}

describe('decodeLossy', () => {
  it('replaces invalid UTF-8 exactly as TextDecoder does', () => {
    fc.assert(
      fc.property(bytesArbitrary, (bytes) => {
        expect(decodeLossy(bytes, bytes.length)).toBe(reference.decode(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('gives TextDecoder’s text for long inputs, mostly ASCII or mostly not', () => {
    const piece = fc.oneof(
      bytesArbitrary,
      fc.string({ unit: 'grapheme', maxLength: 30 }).map((text) => new TextEncoder().encode(text)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((text) => new TextEncoder().encode(text)),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 4, maxLength: 60 }), (pieces) => {
        const bytes = concat(pieces);
        expect(decodeLossy(bytes, bytes.length)).toBe(reference.decode(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes only the first `length` bytes of a longer buffer', () => {
    const bytes = new TextEncoder().encode('日本語のテキスト'.repeat(20));
    expect(decodeLossy(bytes, 60)).toBe(reference.decode(bytes.subarray(0, 60)));
    expect(decodeLossy(bytes, 90)).toBe('日本語のテキスト'.repeat(20).slice(0, 30));
  });
});

describe('PackedDecoder', () => {
  it('gives the text of all token bytes decoded at once, whole and partial tokens mixed', () => {
    const tokensArbitrary = fc.array(
      fc.oneof(
        bytesArbitrary,
        fc.string({ unit: 'grapheme', maxLength: 4 }).map((text) => new TextEncoder().encode(text)),
      ),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(
        tokensArbitrary.chain((tokens) =>
          fc.tuple(
            fc.constant(tokens),
            fc.array(fc.integer({ min: 0, max: tokens.length - 1 }), { maxLength: 40 }),
            fc.boolean(),
          ),
        ),
        ([tokens, ids, stripFirstSpace]) => {
          const skippable = new Uint8Array(tokens.length);
          skippable[0] = 1;
          const decoder = new PackedDecoder(packed(tokens), { skippable, stripFirstSpace });
          for (const skip of [false, true]) {
            const kept = ids.filter((id) => !(skip && id === 0)).map((id) => tokens[id]);
            let bytes = concat(kept);
            if (stripFirstSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
            // Twice: the first call writes the tokens met, the second reads them back.
            expect(decoder.decode(ids, skip)).toBe(reference.decode(bytes));
            expect(decoder.decode(ids, skip)).toBe(reference.decode(bytes));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects ids outside the vocabulary with InvalidArgumentError', () => {
    const decoder = new PackedDecoder(packed([Uint8Array.of(0x61)]), {
      skippable: new Uint8Array(1),
      stripFirstSpace: false,
    });
    for (const id of [-1, 1, 0.5, Number.NaN, '0' as unknown as number]) {
      expect(() => decoder.decode([0, id], false)).toThrow(InvalidArgumentError);
      expect(() => decoder.decode([0, id], false)).toThrow(/ids\[1\]/);
    }
  });
});
