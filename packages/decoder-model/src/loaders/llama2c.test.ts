import { isRotorError } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomLlamaWeights } from '../random-weights.js';
import { parseLlama2cCheckpoint, serializeLlama2cCheckpoint } from './llama2c.js';

const shape = {
  modelDim: 16,
  hiddenDim: 24,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 32,
  maxSequenceLength: 8,
};

function withHeader(bytes: Uint8Array, field: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setInt32(field * 4, value, true);
  return copy;
}

function expectFormatError(bytes: Uint8Array, pattern: RegExp) {
  let caught: unknown;
  try {
    parseLlama2cCheckpoint(bytes, { source: 'test.bin' });
  } catch (error) {
    caught = error;
  }
  expect(isRotorError(caught), `expected a RotorError, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('llama2.c v0 checkpoints', () => {
  const tied = serializeLlama2cCheckpoint(randomLlamaWeights(shape, 3));
  const separate = serializeLlama2cCheckpoint(randomLlamaWeights({ ...shape, tiedEmbeddings: false }, 4));

  it('round-trips shared and separate classifiers', () => {
    for (const [bytes, tiedEmbeddings] of [
      [tied, true],
      [separate, false],
    ] as const) {
      const weights = parseLlama2cCheckpoint(bytes);
      expect(weights.config).toMatchObject({ ...shape, headDim: 4, tiedEmbeddings });
      expect(weights.tensors.has('classifier')).toBe(!tiedEmbeddings);
      expect(serializeLlama2cCheckpoint(weights)).toEqual(bytes);
    }
  });

  it('reads from an unaligned byte offset', () => {
    const shifted = new Uint8Array(tied.byteLength + 1);
    shifted.set(tied, 1);
    const weights = parseLlama2cCheckpoint(shifted.subarray(1));
    expect(weights.tensors.get('final_norm')?.data).toEqual(
      parseLlama2cCheckpoint(tied).tensors.get('final_norm')?.data,
    );
  });

  it('rejects truncated files and trailing bytes with the expected size', () => {
    expectFormatError(new Uint8Array(0), /test\.bin: header: expected at least 28 bytes, found 0 bytes/);
    expectFormatError(tied.subarray(0, 27), /expected at least 28 bytes, found 27 bytes/);
    expectFormatError(tied.subarray(0, 28), /file size \(truncated\): expected \d+ bytes/);
    expectFormatError(tied.subarray(0, tied.byteLength - 4), /truncated/);
    const longer = new Uint8Array(tied.byteLength + 4);
    longer.set(tied);
    expectFormatError(longer, /trailing bytes/);
  });

  it('rejects impossible header values, naming the field', () => {
    expectFormatError(withHeader(tied, 0, 0), /header field dim: expected a positive integer/);
    expectFormatError(withHeader(tied, 2, -3), /header field n_layers: .*found -3/);
    expectFormatError(withHeader(tied, 5, 0), /header field vocab_size: expected a non-zero integer/);
    expectFormatError(withHeader(tied, 0, 0x7fffffff), /header field dim: .*found 2147483647/);
    expectFormatError(withHeader(tied, 3, 5), /header field n_heads: expected a divisor of dim 16, found 5/);
    expectFormatError(
      withHeader(tied, 4, 3),
      /header field n_kv_heads: expected a divisor of n_heads 4, found 3/,
    );
    expectFormatError(withHeader(tied, 4, 8), /n_kv_heads/);
    expectFormatError(withHeader(withHeader(tied, 0, 12), 3, 4), /even head size/);
    // Huge but individually valid dimensions: rejected by the size check before any allocation.
    expectFormatError(withHeader(withHeader(tied, 0, 1 << 24), 1, 1 << 24), /truncated/);
  });

  it('rejects the versioned (v1/v2) format with an unsupported error', () => {
    const versioned = tied.slice();
    versioned.set([0x32, 0x34, 0x6b, 0x61], 0);
    expect(() => parseLlama2cCheckpoint(versioned)).toThrow(/ak42/);
  });

  it('never throws anything but a RotorError on mutated or truncated files', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: tied.byteLength }),
        fc.array(fc.tuple(fc.nat(tied.byteLength - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (length, flips) => {
          const bytes = tied.slice(0, length);
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          try {
            parseLlama2cCheckpoint(bytes);
          } catch (error) {
            if (!isRotorError(error)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
