/**
 * A bounded memo from a pre-tokenized word (its text) to its ids, as tiktoken and Hugging Face
 * `tokenizers` keep: words repeat throughout natural text, so most skip the merge loop. When
 * full it is emptied rather than evicted entry by entry, which keeps a hit a single map lookup.
 */

/** Default number of words kept. */
const DEFAULT_CAPACITY = 16_384;
/** Longer words are not kept: they rarely repeat and would let memory grow with the input. */
const DEFAULT_MAX_KEY_LENGTH = 64;

/** Options of {@link WordCache}. */
export interface WordCacheOptions {
  /** Words kept before the cache is emptied. Default 16384. */
  capacity?: number;
  /** Keys longer than this (UTF-16 units) are never stored. Default 64. */
  maxKeyLength?: number;
}

/** Word text → its ids; a single id is stored unboxed. */
export class WordCache {
  private readonly entries = new Map<string, number | readonly number[]>();
  private readonly capacity: number;
  private readonly maxKeyLength: number;

  constructor(options: WordCacheOptions = {}) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH;
  }

  /** Number of words held. */
  get size(): number {
    return this.entries.size;
  }

  /** Appends the ids stored for `key` to `ids`; false (and `ids` untouched) when absent. */
  appendTo(key: string, ids: number[]): boolean {
    const found = this.entries.get(key);
    if (found === undefined) return false;
    if (typeof found === 'number') {
      ids.push(found);
    } else {
      for (let i = 0; i < found.length; i++) ids.push(found[i]);
    }
    return true;
  }

  /** Stores `ids[from, ids.length)` as the ids of `key`, unless the key is too long. */
  remember(key: string, ids: readonly number[], from: number): void {
    if (key.length > this.maxKeyLength) return;
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(key, ids.length - from === 1 ? ids[from] : ids.slice(from));
  }
}

/** Slots per entry of {@link CodePointWordCache}'s table: at most half full, so probes stay short. */
const SLOTS_PER_ENTRY = 2;
const EMPTY = 0;

/**
 * The same memo keyed by a run of code points, for encoders that hold the text as code points
 * already: no word string is cut from the text and no string hashed, the caller passes a hash
 * it computed while scanning the word (see {@link hashCodePoint}). Open addressing over typed
 * arrays; emptied when full, as {@link WordCache}.
 */
export class CodePointWordCache {
  private readonly capacity: number;
  private readonly maxKeyLength: number;
  private readonly mask: number;
  /** Per slot: hash, key start, `(key length << 16) | id count` (0: empty), ids start. */
  private readonly slots: Int32Array;
  private keys: Uint32Array;
  private ids: Int32Array;
  private keysUsed = 0;
  private idsUsed = 0;
  private count = 0;

  constructor(options: WordCacheOptions = {}) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.maxKeyLength = Math.min(options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH, 0x7fff);
    let size = 8;
    while (size < SLOTS_PER_ENTRY * this.capacity) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(4 * size);
    this.keys = new Uint32Array(1024);
    this.ids = new Int32Array(1024);
  }

  /** Number of words held. */
  get size(): number {
    return this.count;
  }

  /**
   * Appends the ids stored for the word `cps[start, end)` (whose {@link hashCodePoint} hash is
   * `hash`) to `ids`; false (and `ids` untouched) when absent.
   */
  appendTo(cps: Uint32Array, start: number, end: number, hash: number, ids: number[]): boolean {
    const slot = this.find(cps, start, end, hash);
    if (slot < 0) return false;
    const { slots } = this;
    const from = slots[slot + 3];
    const to = from + (slots[slot + 2] & 0xffff);
    for (let i = from; i < to; i++) ids.push(this.ids[i]);
    return true;
  }

  /**
   * Stores `ids[from, ids.length)` as the ids of `cps[start, end)`, unless the word is too long.
   * The word must be absent (its {@link appendTo} just missed): the table is not probed again.
   */
  remember(
    cps: Uint32Array,
    start: number,
    end: number,
    hash: number,
    ids: readonly number[],
    from: number,
  ): void {
    const keyLength = end - start;
    const idCount = ids.length - from;
    if (keyLength > this.maxKeyLength || keyLength === 0 || idCount > 0xffff) return;
    if (this.count >= this.capacity) this.clear();
    this.keys = reserve(this.keys, this.keysUsed + keyLength);
    this.ids = reserve(this.ids, this.idsUsed + idCount);
    this.keys.set(cps.subarray(start, end), this.keysUsed);
    for (let i = 0; i < idCount; i++) this.ids[this.idsUsed + i] = ids[from + i];
    const { slots, mask } = this;
    let slot = 4 * (hash & mask);
    while (slots[slot + 2] !== EMPTY) slot = (slot + 4) & (4 * mask + 3);
    slots[slot] = hash;
    slots[slot + 1] = this.keysUsed;
    slots[slot + 2] = (keyLength << 16) | idCount;
    slots[slot + 3] = this.idsUsed;
    this.keysUsed += keyLength;
    this.idsUsed += idCount;
    this.count++;
  }

  /** The slot holding `cps[start, end)`, or -1. */
  private find(cps: Uint32Array, start: number, end: number, hash: number): number {
    const { slots, mask, keys } = this;
    const keyLength = end - start;
    let slot = 4 * (hash & mask);
    for (;;) {
      const packed = slots[slot + 2];
      if (packed === EMPTY) return -1;
      if (slots[slot] === hash && packed >>> 16 === keyLength) {
        const at = slots[slot + 1];
        let i = 0;
        while (i < keyLength && keys[at + i] === cps[start + i]) i++;
        if (i === keyLength) return slot;
      }
      slot = (slot + 4) & (4 * mask + 3);
    }
  }

  private clear(): void {
    this.slots.fill(0);
    this.count = 0;
    this.keysUsed = 0;
    this.idsUsed = 0;
    // Pools that grew for unusual words are let go rather than kept at their peak.
    if (this.keys.length > 16 * this.capacity) this.keys = new Uint32Array(1024);
    if (this.ids.length > 16 * this.capacity) this.ids = new Int32Array(1024);
  }
}

/** The running hash of a word after `cp` (FNV-1a over code points); start from {@link HASH_SEED}. */
export function hashCodePoint(hash: number, cp: number): number {
  return Math.imul(hash ^ cp, 0x01000193);
}

/** The hash of an empty word. */
export const HASH_SEED = 0x811c9dc5 | 0;

/** `array`, or a copy twice as large (or `needed`) when it holds fewer than `needed` elements. */
function reserve<T extends Uint32Array | Int32Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const grown = new (array.constructor as new (length: number) => T)(Math.max(needed, 2 * array.length));
  grown.set(array);
  return grown;
}
