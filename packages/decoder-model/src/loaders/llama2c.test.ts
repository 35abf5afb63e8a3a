import { readFile } from 'node:fs/promises';
import { isRotorError } from '@rotor/core';
import { loadTokenizerFile } from '@rotor/tokenizer/node';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLanguageModel } from '../language-model.js';
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

  it('rejects an unknown versioned (ak42) format version with an unsupported error', () => {
    const versioned = tied.slice();
    versioned.set([0x32, 0x34, 0x6b, 0x61], 0);
    expect(() => parseLlama2cCheckpoint(versioned)).toThrow(/magic "ak42"\) version 24 is not supported/);
  });

  it.each([true, false])('round-trips the v1 (float32) layout exactly (tied %s)', (tiedEmbeddings) => {
    const weights = randomLlamaWeights({ ...shape, tiedEmbeddings }, 5);
    const bytes = serializeLlama2cCheckpoint(weights, { version: 1 });
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(0x616b3432);
    const parsed = parseLlama2cCheckpoint(bytes);
    expect(parsed.config).toEqual(weights.config);
    for (const [name, tensor] of weights.tensors)
      expect(parsed.tensors.get(name)?.data, name).toEqual(tensor.data);
  });

  it('reads the v2 (Q8_0) layout: each value is its int8 times its group scale', () => {
    const weights = randomLlamaWeights({ ...shape, tiedEmbeddings: false }, 6);
    const bytes = serializeLlama2cCheckpoint(weights, { version: 2, groupSize: 8 });
    const parsed = parseLlama2cCheckpoint(bytes, { source: 'q.bin' });
    expect(new DataView(bytes.buffer).getInt32(37, true)).toBe(8);
    // norms stay float32; matrices are within half a quantisation step of the original
    expect(parsed.tensors.get('layers.1.ffn_norm')?.data).toEqual(
      weights.tensors.get('layers.1.ffn_norm')?.data,
    );
    for (const name of ['token_embedding', 'layers.0.wq', 'layers.1.w2', 'classifier']) {
      const original = weights.tensors.get(name)!.data;
      const read = parsed.tensors.get(name)!.data;
      for (let g = 0; g < original.length / 8; g++) {
        const group = original.subarray(g * 8, (g + 1) * 8);
        const scale = Math.fround(Math.max(...group.map(Math.abs)) / 127);
        for (let i = 0; i < 8; i++) {
          expect(Math.abs(read[g * 8 + i] - group[i])).toBeLessThanOrEqual(scale / 2 + 1e-7);
          expect(Number.isInteger(Math.round(read[g * 8 + i] / scale))).toBe(true);
        }
      }
    }
    const withBadGroup = bytes.slice();
    new DataView(withBadGroup.buffer).setInt32(37, 5, true);
    expectFormatError(withBadGroup, /group_size: expected a positive divisor of dim 16, found 5/);
    expectFormatError(bytes.subarray(0, bytes.length - 1), /truncated\): expected \d+ bytes for version 2/);
    const badFlag = bytes.slice();
    badFlag[36] = 7;
    expectFormatError(badFlag, /shared_classifier flag: expected 0 or 1, found 7/);
    expectFormatError(bytes.subarray(0, 100), /versioned header: expected 256 bytes, found 100/);
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

  it('never throws anything but a RotorError on mutated or truncated v2 files', () => {
    const quantized = serializeLlama2cCheckpoint(randomLlamaWeights(shape, 3), { version: 2 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: quantized.byteLength }),
        fc.array(fc.tuple(fc.nat(300), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (length, flips) => {
          const bytes = quantized.slice(0, length);
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          try {
            parseLlama2cCheckpoint(bytes);
          } catch (error) {
            if (!isRotorError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describeWithFixtures(
  'stories260K in the versioned layouts',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    it('v1 gives the v0 greedy text; v2 (Q8_0) stays close to it', async () => {
      const v0 = await readFile(fixturePath('stories260K/stories260K.bin'));
      const tokenizer = await loadTokenizerFile(fixturePath('stories260K/tok512.bin'), { vocabSize: 512 });
      const texts: string[] = [];
      for (const version of [0, 1, 2] as const) {
        const weights = parseLlama2cCheckpoint(
          serializeLlama2cCheckpoint(parseLlama2cCheckpoint(v0), { version }),
        );
        const model = await createLanguageModel(weights, tokenizer, { backend: 'reference' });
        texts.push(
          await model.generator.generateText('Once upon a time', { temperature: 0, maxNewTokens: 60 }),
        );
        model.dispose();
      }
      expect(texts[1]).toBe(texts[0]);
      expect(texts[2].slice(0, 20)).toBe(texts[0].slice(0, 20));
    });
  },
);
