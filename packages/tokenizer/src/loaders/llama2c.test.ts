import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError, isRotorError, RotorError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildLlama2cFile, syntheticVocabulary } from '../test-utils/llama2c-file.js';
import { loadLlama2cTokenizer } from './llama2c.js';

/** A valid file: `<unk>`, BOS, EOS, 256 byte tokens, " ", "a" (261 entries, max length 6). */
const valid = buildLlama2cFile(syntheticVocabulary([' ', 'a']));
/** Offset of the entry `index` in `valid` (entries 0..2 are 5, 5 and 6 bytes long, bytes 6). */
function entryOffset(index: number): number {
  const lengths = [5, 5, 6, ...new Array(256).fill(6), 1, 1];
  return 4 + lengths.slice(0, index).reduce((sum, length) => sum + 8 + length, 0);
}

function patched(edit: (view: DataView) => void, bytes = valid): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

function formatError(run: () => unknown): FormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FormatError);
    return error as FormatError;
  }
  throw new Error('expected a FormatError');
}

describe('loadLlama2cTokenizer', () => {
  it('reads entries to the end of the file, or exactly vocabSize entries', () => {
    expect(loadLlama2cTokenizer(valid).vocabSize).toBe(261);
    expect(loadLlama2cTokenizer(valid.buffer as ArrayBuffer).vocabSize).toBe(261);
    expect(loadLlama2cTokenizer(valid, { vocabSize: 259 }).vocabSize).toBe(259);
    const withTrailingBytes = new Uint8Array([...valid, 1, 2, 3]);
    expect(loadLlama2cTokenizer(withTrailingBytes, { vocabSize: 261 }).vocabSize).toBe(261);
    const offsetView = new Uint8Array([9, 9, ...valid]).subarray(2);
    expect(loadLlama2cTokenizer(offsetView).idToToken(260)).toBe('a');
  });

  it('rejects an empty file and a truncated header', () => {
    expect(formatError(() => loadLlama2cTokenizer(new Uint8Array(0))).message).toBe(
      'tokenizer.bin byte 0: file length: expected at least 4 bytes (int32 max_token_length), found 0',
    );
    expect(
      formatError(() => loadLlama2cTokenizer(valid.subarray(0, 3), { source: 'tok.bin' })).message,
    ).toMatch(/^tok\.bin byte 0: file length: .*found 3$/);
  });

  it('rejects an impossible max_token_length', () => {
    for (const value of [0, -1, 65537]) {
      const error = formatError(() => loadLlama2cTokenizer(patched((view) => view.setInt32(0, value, true))));
      expect(error.message).toContain(
        `header max_token_length: expected an integer in 1..65536, found ${value}`,
      );
    }
  });

  it('rejects a truncated entry', () => {
    const error = formatError(() => loadLlama2cTokenizer(valid.subarray(0, entryOffset(5) + 3)));
    expect(error.message).toBe(
      `tokenizer.bin byte ${entryOffset(5)}: entry 5: bytes left for the header: expected 8 (float32 score, int32 length), found 3`,
    );
    expect(error.details).toEqual({ source: 'tokenizer.bin', offset: entryOffset(5) });
    // Cut inside the piece bytes: the length runs past the end.
    expect(formatError(() => loadLlama2cTokenizer(valid.subarray(0, entryOffset(5) + 10))).message).toContain(
      'entry 5 piece length: expected at most 2 (bytes left in the file), found 6',
    );
  });

  it('rejects negative and over-long piece lengths', () => {
    const at = entryOffset(7) + 4;
    expect(
      formatError(() => loadLlama2cTokenizer(patched((view) => view.setInt32(at, -1, true)))).message,
    ).toBe(`tokenizer.bin byte ${at}: entry 7 piece length: expected 0..6 (max_token_length), found -1`);
    expect(
      formatError(() => loadLlama2cTokenizer(patched((view) => view.setInt32(at, 7, true)))).message,
    ).toContain('expected 0..6 (max_token_length), found 7');
  });

  it('rejects a length running past the end of the file', () => {
    const last = entryOffset(260);
    const error = formatError(() =>
      loadLlama2cTokenizer(patched((view) => view.setInt32(last + 4, 2, true))),
    );
    expect(error.message).toContain(
      `byte ${last + 4}: entry 260 piece length: expected at most 1 (bytes left in the file), found 2`,
    );
  });

  it('rejects non-finite scores', () => {
    for (const score of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const error = formatError(() =>
        loadLlama2cTokenizer(patched((view) => view.setFloat32(entryOffset(3), score, true))),
      );
      expect(error.message).toBe(
        `tokenizer.bin byte ${entryOffset(3)}: entry 3 score: expected a finite float32, found ${score}`,
      );
    }
  });

  it('rejects fewer entries than vocabSize, and fewer than three', () => {
    expect(formatError(() => loadLlama2cTokenizer(valid, { vocabSize: 262 })).message).toBe(
      `tokenizer.bin byte ${valid.length}: number of entries before the end of the file: expected 262 (options.vocabSize), found 261`,
    );
    const two = buildLlama2cFile(syntheticVocabulary([]).slice(0, 2));
    expect(formatError(() => loadLlama2cTokenizer(two)).message).toContain(
      'number of entries: expected at least 3 (<unk>, BOS, EOS), found 2',
    );
  });

  it('rejects bad arguments', () => {
    for (const vocabSize of [2, 1.5, -1, Number.NaN]) {
      expect(() => loadLlama2cTokenizer(valid, { vocabSize })).toThrow(InvalidArgumentError);
    }
    expect(() => loadLlama2cTokenizer('tokenizer.bin' as unknown as Uint8Array)).toThrow(
      InvalidArgumentError,
    );
    expect(() => loadLlama2cTokenizer(null as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });

  it('accepts zero-length pieces (run.c itself fails to read them)', () => {
    const entries = syntheticVocabulary([' ']);
    entries.push({ piece: '', score: 0 });
    const tokenizer = loadLlama2cTokenizer(buildLlama2cFile(entries));
    expect(tokenizer.idToToken(entries.length - 1)).toBe('');
    expect(tokenizer.encode('  ')).toEqual([259, 259, 259]);
  });
});

describeWithFixtures(
  'loadLlama2cTokenizer on damaged copies of tok512.bin',
  ['stories260K/tok512.bin'],
  () => {
    const original = new Uint8Array(readFileSync(fixturePath('stories260K/tok512.bin')));

    it('returns a working tokenizer or throws a RotorError, never anything else', () => {
      const damage = fc.record({
        edits: fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
        length: fc.option(fc.nat(original.length), { nil: undefined, freq: 2 }),
        vocabSize: fc.oneof(
          { arbitrary: fc.constantFrom(undefined, 512), weight: 4 },
          { arbitrary: fc.constantFrom(3, 300, 513), weight: 1 },
        ),
      });
      fc.assert(
        fc.property(damage, ({ edits, length, vocabSize }) => {
          const bytes = original.slice(0, length);
          for (const [position, value] of edits) if (position < bytes.length) bytes[position] = value;
          try {
            const tokenizer = loadLlama2cTokenizer(bytes, { vocabSize });
            const ids = tokenizer.encode('Once upon a time, Lily saw 🦙!', { addSpecialTokens: true });
            tokenizer.decode(ids);
            tokenizer.decode(Array.from({ length: tokenizer.vocabSize }, (_, id) => id));
          } catch (error) {
            if (!isRotorError(error)) throw error;
            expect(error).toBeInstanceOf(RotorError);
          }
        }),
        { numRuns: 400 },
      );
    });
  },
);
