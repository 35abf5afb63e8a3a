/**
 * Mutations of a seed file, as fast-check arbitraries: truncation anywhere, bit flips, length and
 * count fields overwritten with huge, negative or zero values, random bytes after the magic, and
 * duplicated or deleted chunks (duplicated keys, missing keys).
 */
import fc from 'fast-check';

/** Values that break length and count fields, little-endian 32-bit. */
const EXTREME_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x40000000, 0x10000];

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; bits: number[] }
  | { kind: 'word'; at: number; value: number; wide: boolean }
  | { kind: 'random-tail'; from: number; seed: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'delete'; at: number; length: number };

/** Arbitrary mutations for a file of `size` bytes; fields in the first 4 KiB (headers) are favoured. */
export function mutationArbitrary(size: number): fc.Arbitrary<Mutation[]> {
  const position = fc.oneof(fc.nat(Math.max(0, Math.min(size, 4096) - 1)), fc.nat(Math.max(0, size - 1)));
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(size) }),
    fc.record({
      kind: fc.constant('flip' as const),
      bits: fc.array(fc.nat(Math.max(0, size * 8 - 1)), { minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('word' as const),
      at: position,
      value: fc.oneof(fc.constantFrom(...EXTREME_U32), fc.nat()),
      wide: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('random-tail' as const),
      from: fc.integer({ min: 4, max: Math.max(4, size) }),
      seed: fc.nat(),
    }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at: position,
      length: fc.integer({ min: 1, max: 256 }),
    }),
    fc.record({
      kind: fc.constant('delete' as const),
      at: position,
      length: fc.integer({ min: 1, max: 256 }),
    }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 });
}

/** Applies mutations to a copy of `seed`. */
export function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = seed.slice();
  for (const m of mutations) {
    switch (m.kind) {
      case 'truncate':
        bytes = bytes.subarray(0, Math.min(m.at, bytes.length));
        break;
      case 'flip':
        for (const bit of m.bits) if (bit >> 3 < bytes.length) bytes[bit >> 3] ^= 1 << (bit & 7);
        break;
      case 'word': {
        const at = m.at - (m.at % 4);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (at + 4 <= bytes.length) view.setUint32(at, m.value >>> 0, true);
        // The high half of a 64-bit field: all ones makes it huge or negative.
        if (m.wide && at + 8 <= bytes.length) view.setUint32(at + 4, m.value === 0 ? 0 : 0xffffffff, true);
        break;
      }
      case 'random-tail': {
        let state = m.seed | 1;
        for (let i = Math.min(m.from, bytes.length); i < bytes.length; i++) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          bytes[i] = state & 0xff;
        }
        break;
      }
      case 'duplicate': {
        const at = Math.min(m.at, bytes.length);
        const chunk = bytes.slice(at, at + m.length);
        const out = new Uint8Array(bytes.length + chunk.length);
        out.set(bytes.subarray(0, at + chunk.length));
        out.set(chunk, at + chunk.length);
        out.set(bytes.subarray(at + chunk.length), at + 2 * chunk.length);
        bytes = out;
        break;
      }
      case 'delete': {
        const at = Math.min(m.at, bytes.length);
        const out = new Uint8Array(bytes.length - Math.min(m.length, bytes.length - at));
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at + m.length), at);
        bytes = out;
        break;
      }
    }
  }
  return bytes;
}
