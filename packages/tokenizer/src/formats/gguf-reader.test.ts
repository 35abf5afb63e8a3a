import { readFileSync } from 'node:fs';
import { FormatError, isRotorError, UnsupportedError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, buildGguf, type TestTensor } from '../test-utils/gguf-file.js';
import { GGML_TYPES, readGguf } from './gguf-reader.js';

const F32 = (name: string, dims: number[], offset: number): TestTensor => ({
  name,
  dims,
  type: 0,
  offset,
  byteSize: 4 * dims.reduce((a, b) => a * b, 1),
});

/** Header up to the metadata: magic, version, tensor count, metadata count. */
function header(tensorCount: number | bigint, metadataCount: number | bigint, version = 3): ByteWriter {
  return new ByteWriter()
    .u8(0x47)
    .u8(0x47)
    .u8(0x55)
    .u8(0x46)
    .u32(version)
    .u64(tensorCount)
    .u64(metadataCount);
}

describe('readGguf', () => {
  it('reads metadata of every kind and the tensor directory', () => {
    const bytes = buildGguf(
      [
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['llama.context_length', { type: 'uint32', value: 2048 }],
        ['x.signed', { type: 'int32', value: -5 }],
        ['x.float', { type: 'float32', value: 0.5 }],
        ['x.flag', { type: 'bool', value: true }],
        ['x.big', { type: 'uint64', value: 1n << 40n }],
        ['x.names', { type: 'strings', value: ['a', 'ü', ''] }],
        ['x.ints', { type: 'int32s', value: [1, -2, 3] }],
        ['x.floats', { type: 'float32s', value: [1.5, -2] }],
      ],
      [F32('a', [4, 2], 0), F32('b', [3], 32), { name: 'q', dims: [64], type: 2, offset: 64, byteSize: 36 }],
    );
    const gguf = readGguf(bytes, { source: 'test.gguf' });
    expect(gguf.version).toBe(3);
    expect(gguf.alignment).toBe(32);
    expect(gguf.dataOffset % 32).toBe(0);
    expect(gguf.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'llama' });
    expect(gguf.metadata.get('llama.context_length')).toEqual({ type: 'uint32', value: 2048 });
    expect(gguf.metadata.get('x.signed')).toEqual({ type: 'int32', value: -5 });
    expect(gguf.metadata.get('x.float')).toEqual({ type: 'float32', value: 0.5 });
    expect(gguf.metadata.get('x.flag')).toEqual({ type: 'bool', value: true });
    expect(gguf.metadata.get('x.big')).toEqual({ type: 'uint64', value: 1n << 40n });
    expect(gguf.metadata.get('x.names')).toEqual({
      type: 'array',
      elementType: 'string',
      value: ['a', 'ü', ''],
    });
    expect(gguf.metadata.get('x.ints')).toEqual({
      type: 'array',
      elementType: 'int32',
      value: Int32Array.of(1, -2, 3),
    });
    expect(gguf.metadata.get('x.floats')?.value).toEqual(Float32Array.of(1.5, -2));
    expect(gguf.tensors).toEqual([
      { name: 'a', dims: [4, 2], type: 0, typeName: 'F32', elementCount: 8, offset: 0, byteSize: 32 },
      { name: 'b', dims: [3], type: 0, typeName: 'F32', elementCount: 3, offset: 32, byteSize: 12 },
      { name: 'q', dims: [64], type: 2, typeName: 'Q4_0', elementCount: 64, offset: 64, byteSize: 36 },
    ]);
  });

  it('knows the GGML type sizes', () => {
    expect(GGML_TYPES.get(0)).toEqual({ id: 0, name: 'F32', blockSize: 1, blockBytes: 4 });
    expect(GGML_TYPES.get(1)).toEqual({ id: 1, name: 'F16', blockSize: 1, blockBytes: 2 });
    expect(GGML_TYPES.get(2)).toEqual({ id: 2, name: 'Q4_0', blockSize: 32, blockBytes: 18 });
    expect(GGML_TYPES.get(3)).toEqual({ id: 3, name: 'Q4_1', blockSize: 32, blockBytes: 20 });
    expect(GGML_TYPES.get(8)).toEqual({ id: 8, name: 'Q8_0', blockSize: 32, blockBytes: 34 });
    expect(GGML_TYPES.get(30)).toEqual({ id: 30, name: 'BF16', blockSize: 1, blockBytes: 2 });
    expect(GGML_TYPES.get(4)).toBeUndefined();
  });

  it('honours general.alignment and reads GGUF v2', () => {
    const bytes = buildGguf([['general.alignment', { type: 'uint32', value: 64 }]], [F32('a', [16], 64)], {
      version: 2,
      alignment: 64,
    });
    const gguf = readGguf(bytes);
    expect(gguf.version).toBe(2);
    expect(gguf.alignment).toBe(64);
    expect(gguf.dataOffset % 64).toBe(0);
  });

  it('rejects GGUF v1 as unsupported and other versions and magics as malformed', () => {
    expect(() => readGguf(header(0, 0, 1).bytes())).toThrow(UnsupportedError);
    expect(() => readGguf(header(0, 0, 4).bytes())).toThrow(
      'model.gguf byte 4: version: expected 2 or 3, found 4',
    );
    expect(() => readGguf(new TextEncoder().encode('GGML....'))).toThrow(/magic: expected "GGUF"/);
    expect(() => readGguf(new Uint8Array(2))).toThrow(FormatError);
  });

  it('fails fast on counts and lengths larger than the bytes left', () => {
    const huge = 1n << 60n;
    const cases: [Uint8Array, RegExp][] = [
      [header(huge, 0).bytes(), /byte 8: tensor count: expected at most 0 .*found 1152921504606846976/],
      [header(0, huge).bytes(), /byte 16: metadata count: expected at most 0/],
      [header(0, 1).u64(huge).u64(0).bytes(), /byte 24: metadata 0 key length: expected at most 8/],
      [header(0, 1).string('k').u32(9).u32(4).u64(huge).bytes(), /metadata "k" array length/],
      [header(0, 1).string('k').u32(9).u32(8).u64(1_000_000).u64(0).bytes(), /metadata "k" array length/],
      [header(0, 1).string('k').u32(8).u64(0xffffffff).bytes(), /metadata "k" length: expected at most 0/],
      [header(0, 1).string('k').u32(4).bytes(), /metadata "k": expected 4 bytes \(truncated file\?\)/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => readGguf(bytes)).toThrow(FormatError);
      expect(() => readGguf(bytes)).toThrow(message);
    }
  });

  it('rejects unknown value types, bad bools, deep nesting and duplicate keys', () => {
    expect(() => readGguf(header(0, 1).string('k').u32(13).u64(0).bytes())).toThrow(
      'model.gguf byte 33: metadata "k" value type: expected a GGUF value type id 0..12, found 13',
    );
    expect(() => readGguf(header(0, 1).string('k').u32(7).u8(2).bytes())).toThrow(/expected a bool/);
    const nested = header(0, 1).string('k').u32(9);
    for (let i = 0; i < 20; i++) nested.u32(9).u64(1);
    expect(() => readGguf(nested.bytes())).toThrow(/nesting depth/);
    const twice = buildGguf([
      ['k', { type: 'uint32', value: 1 }],
      ['k', { type: 'uint32', value: 2 }],
    ]);
    expect(() => readGguf(twice)).toThrow(/metadata 1 key: expected a key not seen before, found "k"/);
  });

  it('rejects bad alignment', () => {
    for (const value of [0, 3, 48]) {
      const bytes = buildGguf([['general.alignment', { type: 'uint32', value }]]);
      expect(() => readGguf(bytes)).toThrow(/general.alignment.*expected a uint32 power of two/);
    }
    const wrongType = buildGguf([['general.alignment', { type: 'string', value: '32' }]]);
    expect(() => readGguf(wrongType)).toThrow('found "a string"');
  });

  it('rejects bad tensor directories', () => {
    const cases: [TestTensor[], RegExp][] = [
      [[F32('a', [4], 0), F32('a', [4], 32)], /tensor 1 name: expected a name not seen before/],
      [[{ ...F32('a', [4], 0), dims: [1, 1, 1, 1, 1] }], /n_dims: expected 0..4, found 5/],
      [[{ ...F32('a', [4], 0), type: 4 }], /type: expected a known GGML type id/],
      [[{ name: 'q', dims: [33], type: 2, offset: 0, byteSize: 0 }], /dim 0: expected a multiple of 32/],
      [[F32('a', [4], 16)], /offset: expected a multiple of 32 \(alignment\), found 16/],
      [[F32('a', [16], 0), F32('b', [4], 32)], /tensor "b" offset: expected at least 64 .*no overlap/],
    ];
    for (const [tensors, message] of cases) {
      expect(() => readGguf(buildGguf([], tensors))).toThrow(message);
    }
    const truncated = buildGguf([], [F32('a', [16], 0)]);
    expect(() => readGguf(truncated.subarray(0, truncated.length - 1))).toThrow(
      /tensor "a" data end: expected at most 63/,
    );
    const hugeDims = header(1, 0)
      .string('t')
      .u32(4)
      .u64(1n << 20n)
      .u64(1n << 20n)
      .u64(1n << 20n)
      .u64(1n << 20n);
    expect(() => readGguf(hugeDims.u32(0).u64(0).bytes())).toThrow(/element count/);
  });
});

const FIXTURES = [
  'stories260K/stories260K.gguf',
  'tokenizers/llama-cpp/ggml-vocab-llama-spm.gguf',
  'tokenizers/llama-cpp/ggml-vocab-gpt-2.gguf',
  'tokenizers/llama-cpp/ggml-vocab-bert-bge.gguf',
];

describeWithFixtures('readGguf on fixture files', FIXTURES, () => {
  it('reads stories260K.gguf: 48 aligned, contiguous F32 tensors', () => {
    const gguf = readGguf(readFileSync(fixturePath(FIXTURES[0])));
    expect(gguf.version).toBe(3);
    expect(gguf.tensors).toHaveLength(48);
    expect(gguf.metadata.get('llama.context_length')).toEqual({ type: 'uint32', value: 2048 });
    expect(gguf.tensors[0]).toMatchObject({ name: 'token_embd.weight', dims: [64, 512], typeName: 'F32' });
    for (const tensor of gguf.tensors) {
      expect(tensor.offset % gguf.alignment).toBe(0);
      expect(tensor.byteSize).toBe(4 * tensor.elementCount);
    }
  });

  it('reads the vocabulary-only files', () => {
    for (const file of FIXTURES.slice(1)) {
      const gguf = readGguf(readFileSync(fixturePath(file)));
      expect(gguf.tensors).toEqual([]);
      expect(gguf.metadata.get('tokenizer.ggml.tokens')?.type).toBe('array');
    }
  });

  it('returns a result or a RotorError on mutated files (bit flips, truncation, huge counts)', () => {
    // The header of stories260K (metadata and tensor infos) plus its data; the vocab-only files
    // are mostly metadata, so their mutations exercise the string and array paths.
    const files = FIXTURES.map((file) => new Uint8Array(readFileSync(fixturePath(file))));
    const mutation = fc.record({
      file: fc.integer({ min: 0, max: files.length - 1 }),
      kind: fc.constantFrom('flip', 'truncate', 'huge', 'byte'),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    });
    fc.assert(
      fc.property(mutation, ({ file, kind, at, bit, value }) => {
        const original = files[file];
        // Mutate mostly the header, where every count and length lives.
        const headerEnd = Math.min(original.length, 16_384);
        const position = at % headerEnd;
        let bytes: Uint8Array;
        if (kind === 'truncate') {
          bytes = original.subarray(0, position);
        } else {
          bytes = original.slice();
          if (kind === 'flip') bytes[position] ^= 1 << bit;
          else if (kind === 'byte') bytes[position] = Number(value & 0xffn);
          else new DataView(bytes.buffer).setBigUint64(Math.min(position, bytes.length - 8), value, true);
        }
        try {
          readGguf(bytes);
        } catch (error) {
          if (!isRotorError(error)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});
