/**
 * Token text → id over the vocabulary's own strings, open addressing in one Int32Array. Unlike
 * a `Map` it looks up a substring, or two substrings joined, without creating a string, which
 * is what resolving ~10^5 merge lines `"left right"` to ids needs; and it is smaller.
 */

/** Something that maps a token's text to its id. */
export interface TokenLookup {
  get(token: string): number | undefined;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** A read-only index of `tokens`; the first id of a repeated text wins. */
export class TokenIndex implements TokenLookup {
  /** Ids, -1 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** The first repeated text found while building: `[first id, second id]`. */
  readonly duplicate: readonly [number, number] | undefined;

  constructor(private readonly tokens: readonly string[]) {
    let capacity = 16;
    while (capacity < 2 * tokens.length) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity).fill(-1);
    let duplicate: [number, number] | undefined;
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id];
      let slot = hashRange(FNV_OFFSET, token, 0, token.length) & this.mask;
      for (; ; slot = (slot + 1) & this.mask) {
        const stored = this.slots[slot];
        if (stored === -1) {
          this.slots[slot] = id;
          break;
        }
        if (tokens[stored] === token) {
          duplicate ??= [stored, id];
          break;
        }
      }
    }
    this.duplicate = duplicate;
  }

  /** The id of `token`, or undefined. */
  get(token: string): number | undefined {
    const id = this.findJoined(token, 0, token.length, 0, 0);
    return id < 0 ? undefined : id;
  }

  /** The id of `text[start, end)`, or -1. */
  find(text: string, start: number, end: number): number {
    return this.findJoined(text, start, end, 0, 0);
  }

  /** The id of `text[start1, end1) + text[start2, end2)`, or -1. */
  findJoined(text: string, start1: number, end1: number, start2: number, end2: number): number {
    const length = end1 - start1 + (end2 - start2);
    const hash = hashRange(hashRange(FNV_OFFSET, text, start1, end1), text, start2, end2);
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.slots[slot];
      if (id === -1) return -1;
      const token = this.tokens[id];
      if (token.length !== length) continue;
      let same = true;
      let at = 0;
      for (let i = start1; same && i < end1; i++) same = token.charCodeAt(at++) === text.charCodeAt(i);
      for (let i = start2; same && i < end2; i++) same = token.charCodeAt(at++) === text.charCodeAt(i);
      if (same) return id;
    }
  }
}

/** FNV-1a over UTF-16 units, continuing from `hash`; non-negative. */
function hashRange(hash: number, text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash >>> 0;
}

/**
 * Token bytes → id over byte ranges of one buffer; the first id of repeated bytes wins.
 * Queries are byte ranges of any buffer (merge lines in a GGUF file, an encoded string). The
 * hash is polynomial, so the hash of two joined ranges follows from theirs ({@link joinHashes})
 * and a merge line is hashed once; slots keep full hashes, so bytes are compared only on a hit.
 */
export class ByteTokenIndex {
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;
  /** The first repeated token found while building: `[first id, second id]`. */
  readonly duplicate: readonly [number, number] | undefined;

  /** Token `id` is `bytes[starts[id], ends[id])`. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
  ) {
    let capacity = 16;
    while (capacity < 2 * starts.length) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity).fill(-1);
    this.hashes = new Int32Array(capacity);
    let duplicate: [number, number] | undefined;
    for (let id = 0; id < starts.length; id++) {
      const hash = polynomialHash(bytes, starts[id], ends[id]);
      const found = this.find(bytes, starts[id], ends[id], 0, 0, hash);
      if (found >= 0) {
        duplicate ??= [found, id];
        continue;
      }
      let slot = mix(hash) & this.mask;
      while (this.slots[slot] !== -1) slot = (slot + 1) & this.mask;
      this.slots[slot] = id;
      this.hashes[slot] = hash;
    }
    this.duplicate = duplicate;
  }

  /** The id whose bytes are `source[start1, end1) + source[start2, end2)`, or -1. */
  findJoined(source: Uint8Array, start1: number, end1: number, start2: number, end2: number): number {
    const hash = joinHashes(
      polynomialHash(source, start1, end1),
      polynomialHash(source, start2, end2),
      end2 - start2,
    );
    return this.find(source, start1, end1, start2, end2, hash);
  }

  /** {@link findJoined} with the joined ranges' {@link polynomialHash} already known. */
  find(source: Uint8Array, start1: number, end1: number, start2: number, end2: number, hash: number): number {
    const { bytes, starts, ends } = this;
    const length = end1 - start1 + (end2 - start2);
    for (let slot = mix(hash) & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.slots[slot];
      if (id === -1) return -1;
      if (this.hashes[slot] !== hash) continue;
      let at = starts[id];
      if (ends[id] - at !== length) continue;
      let same = true;
      for (let i = start1; same && i < end1; i++) same = bytes[at++] === source[i];
      for (let i = start2; same && i < end2; i++) same = bytes[at++] === source[i];
      if (same) return id;
    }
  }
}

/** The multiplier of {@link polynomialHash}. */
export const HASH_BASE = 0x01000193;
/** HASH_BASE^n mod 2^32, grown on demand. */
const basePowers: number[] = [1];

/** `sum bytes[i] * HASH_BASE^(end - 1 - i)` mod 2^32, as a signed 32-bit integer. */
export function polynomialHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, HASH_BASE) + bytes[i] + 1) | 0;
  return hash;
}

/** The {@link polynomialHash} of `a + b` from those of `a` and `b` (`b` being `lengthB` bytes). */
export function joinHashes(hashA: number, hashB: number, lengthB: number): number {
  while (basePowers.length <= lengthB)
    basePowers.push(Math.imul(basePowers[basePowers.length - 1], HASH_BASE));
  return (Math.imul(hashA, basePowers[lengthB]) + hashB) | 0;
}

/** Spreads a polynomial hash's bits over the low ones used for slots. */
function mix(hash: number): number {
  const mixed = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return mixed ^ (mixed >>> 16);
}
