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
