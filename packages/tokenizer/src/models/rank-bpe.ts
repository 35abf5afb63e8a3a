/**
 * Rank-driven BPE, the model of byte-level vocabularies (GPT-2, Llama 3, Qwen2, ...) and of
 * Hugging Face `BPE` models: merges are ordered pairs of tokens; repeatedly the pair with the
 * lowest rank (earliest merge), leftmost on ties, is replaced by its merged token. Short words
 * (nearly all of them) use a linear scan over one array of pair ranks, as tiktoken does; longer
 * ones a priority queue over a linked list of symbols, O(n log n), so a very long word costs no
 * more than its length warrants.
 */
import { FormatError, mismatch } from '@rotor/core';
import {
  type ByteTokenIndex,
  HASH_BASE,
  joinHashes,
  type TokenIndex,
  type TokenLookup,
} from './token-index.js';

/** One merge rule as stored: the two token strings, e.g. `["Ġ", "t"]`. */
export type MergeRule = readonly [left: string, right: string];

/** Merges resolved to ids, in rank order: merge r joins `lefts[r]` and `rights[r]` into `merged[r]`. */
export interface MergeIds {
  readonly lefts: Int32Array;
  readonly rights: Int32Array;
  readonly merged: Int32Array;
}

/** Strings as UTF-8 byte ranges of one buffer: string r is `bytes[starts[r], ends[r])`. */
export interface ByteLines {
  readonly bytes: Uint8Array;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

const SPACE = 0x20;
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Words up to this many symbols reuse the model's scratch arrays. */
const SCRATCH_SYMBOLS = 1024;
/** Words up to this many symbols take the quadratic linear scan, cheaper than a heap when short. */
const LINEAR_SCAN_SYMBOLS = 32;
/** Rank of a pair that has no merge: above every real rank. */
const NO_MERGE = 0x7fffffff;

/** A BPE merge table over token ids. */
export class RankBpeModel {
  private readonly pairRanks: PairTable;
  private readonly mergedIds: Int32Array;
  private readonly scratch = new MergeScratch(SCRATCH_SYMBOLS);

  /**
   * @param merges in rank order, as ids.
   */
  constructor(merges: MergeIds) {
    const { lefts, rights, merged } = merges;
    this.pairRanks = new PairTable(merged.length);
    this.mergedIds = merged;
    // The first (lowest-rank) occurrence of a pair wins, as in Hugging Face tokenizers.
    for (let rank = 0; rank < merged.length; rank++) this.pairRanks.add(lefts[rank], rights[rank], rank);
  }

  /**
   * A model from merges given as token strings.
   * @param vocabulary token string → id.
   * @param merges in rank order.
   * @param source names the file in error messages.
   * @throws FormatError when a merge names a token missing from the vocabulary or merges
   *   into one that is missing.
   */
  static fromRules(vocabulary: TokenLookup, merges: readonly MergeRule[], source: string): RankBpeModel {
    const ids: MergeIds = {
      lefts: new Int32Array(merges.length),
      rights: new Int32Array(merges.length),
      merged: new Int32Array(merges.length),
    };
    for (let rank = 0; rank < merges.length; rank++) {
      const [left, right] = merges[rank];
      const leftId = vocabulary.get(left);
      const rightId = vocabulary.get(right);
      const mergedId = vocabulary.get(left + right);
      if (leftId === undefined || rightId === undefined || mergedId === undefined) {
        const missing = leftId === undefined ? left : rightId === undefined ? right : left + right;
        throw unknownMergeToken(source, rank, `${left} ${right}`, missing);
      }
      ids.lefts[rank] = leftId;
      ids.rights[rank] = rightId;
      ids.merged[rank] = mergedId;
    }
    return new RankBpeModel(ids);
  }

  /**
   * A model from merge lines `"left right"` (split at the first space after the first
   * character), resolved without creating a string per token.
   * @throws FormatError for a line without such a space or naming a token missing from the vocabulary.
   */
  static fromLines(vocabulary: TokenIndex, lines: readonly string[], source: string): RankBpeModel {
    const ids: MergeIds = {
      lefts: new Int32Array(lines.length),
      rights: new Int32Array(lines.length),
      merged: new Int32Array(lines.length),
    };
    for (let rank = 0; rank < lines.length; rank++) resolveLine(vocabulary, lines[rank], rank, source, ids);
    return new RankBpeModel(ids);
  }

  /**
   * A model from merge lines `"left right"` given as UTF-8 byte ranges (string `r` is
   * `lines.bytes[lines.starts[r], lines.ends[r])`), resolved against token byte ranges: no
   * string is created, which makes loading a GGUF vocabulary several times faster. `tokenIds`
   * gives the string index that names the problem when a line does not resolve.
   * @throws FormatError as {@link fromLines}.
   */
  static fromByteLines(
    vocabulary: ByteTokenIndex,
    tokenIds: () => TokenIndex,
    lines: ByteLines,
    source: string,
  ): RankBpeModel {
    const { bytes, starts, ends } = lines;
    const count = starts.length;
    const ids: MergeIds = {
      lefts: new Int32Array(count),
      rights: new Int32Array(count),
      merged: new Int32Array(count),
    };
    for (let rank = 0; rank < count; rank++) {
      const start = starts[rank];
      const end = ends[rank];
      // One pass finds the space and hashes both sides; the joined hash follows from them.
      let space = -1;
      let leftHash = 0;
      let rightHash = 0;
      if (end > start) leftHash = (bytes[start] + 1) | 0;
      for (let i = start + 1; i < end; i++) {
        if (space < 0 && bytes[i] === SPACE) {
          space = i;
          continue;
        }
        if (space < 0) leftHash = (Math.imul(leftHash, HASH_BASE) + bytes[i] + 1) | 0;
        else rightHash = (Math.imul(rightHash, HASH_BASE) + bytes[i] + 1) | 0;
      }
      const leftId = space >= 0 ? vocabulary.find(bytes, start, space, 0, 0, leftHash) : -1;
      const rightId = space >= 0 ? vocabulary.find(bytes, space + 1, end, 0, 0, rightHash) : -1;
      const mergedId =
        leftId >= 0 && rightId >= 0
          ? vocabulary.find(
              bytes,
              start,
              space,
              space + 1,
              end,
              joinHashes(leftHash, rightHash, end - space - 1),
            )
          : -1;
      if (leftId < 0 || rightId < 0 || mergedId < 0) {
        // The string path names the problem.
        resolveLine(tokenIds(), lossyUtf8.decode(bytes.subarray(start, end)), rank, source, ids);
        continue;
      }
      ids.lefts[rank] = leftId;
      ids.rights[rank] = rightId;
      ids.merged[rank] = mergedId;
    }
    return new RankBpeModel(ids);
  }

  /** Number of merge rules. */
  get mergeCount(): number {
    return this.mergedIds.length;
  }

  /** Merges `symbols[0, count)` in place; returns the new count. */
  merge(symbols: Int32Array, count: number): number {
    if (count < 2) return count;
    if (count <= LINEAR_SCAN_SYMBOLS) return this.mergeShort(symbols, count);
    const scratch = count <= SCRATCH_SYMBOLS ? this.scratch : new MergeScratch(count);
    const { next, previous, heapRank, heapLeft, heapRight, heapLeftId, heapRightId } = scratch;
    for (let i = 0; i < count; i++) {
      next[i] = i + 1 < count ? i + 1 : -1;
      previous[i] = i - 1;
    }
    let size = 0;
    const before = (a: number, b: number) =>
      heapRank[a] < heapRank[b] || (heapRank[a] === heapRank[b] && heapLeft[a] < heapLeft[b]);
    // The heap stores entries in place: slot i of the heap arrays is entry i.
    const swap = (a: number, b: number) => {
      const rank = heapRank[a];
      const left = heapLeft[a];
      const right = heapRight[a];
      const leftId = heapLeftId[a];
      const rightId = heapRightId[a];
      heapRank[a] = heapRank[b];
      heapLeft[a] = heapLeft[b];
      heapRight[a] = heapRight[b];
      heapLeftId[a] = heapLeftId[b];
      heapRightId[a] = heapRightId[b];
      heapRank[b] = rank;
      heapLeft[b] = left;
      heapRight[b] = right;
      heapLeftId[b] = leftId;
      heapRightId[b] = rightId;
    };
    const offer = (left: number, right: number) => {
      const rank = this.pairRanks.get(symbols[left], symbols[right]);
      if (rank === NO_MERGE) return;
      let at = size++;
      heapRank[at] = rank;
      heapLeft[at] = left;
      heapRight[at] = right;
      heapLeftId[at] = symbols[left];
      heapRightId[at] = symbols[right];
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!before(at, parent)) break;
        swap(at, parent);
        at = parent;
      }
    };
    for (let i = 0; i + 1 < count; i++) offer(i, i + 1);
    while (size > 0) {
      const rank = heapRank[0];
      const left = heapLeft[0];
      const right = heapRight[0];
      const stale =
        symbols[left] !== heapLeftId[0] || symbols[right] !== heapRightId[0] || next[left] !== right;
      size--;
      if (size > 0) {
        swap(0, size);
        let at = 0;
        for (;;) {
          let child = 2 * at + 1;
          if (child >= size) break;
          if (child + 1 < size && before(child + 1, child)) child++;
          if (!before(child, at)) break;
          swap(child, at);
          at = child;
        }
      }
      if (stale) continue;
      symbols[left] = this.mergedIds[rank];
      symbols[right] = -1;
      const after = next[right];
      next[left] = after;
      if (after !== -1) previous[after] = left;
      if (previous[left] !== -1) offer(previous[left], left);
      if (after !== -1) offer(left, after);
    }
    let out = 0;
    for (let slot = 0; slot !== -1; slot = next[slot]) symbols[out++] = symbols[slot];
    return out;
  }

  /** {@link merge} for a short word: `ranks[i]` is the rank of pair (i, i + 1), rescanned per merge. */
  private mergeShort(symbols: Int32Array, count: number): number {
    const ranks = this.scratch.heapRank;
    for (let i = 0; i + 1 < count; i++) ranks[i] = this.rankOf(symbols[i], symbols[i + 1]);
    for (;;) {
      let best = NO_MERGE;
      let at = -1;
      // Strictly lower keeps the leftmost of equal ranks.
      for (let i = 0; i + 1 < count; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) return count;
      symbols[at] = this.mergedIds[best];
      count--;
      for (let i = at + 1; i < count; i++) {
        symbols[i] = symbols[i + 1];
        ranks[i] = ranks[i + 1];
      }
      if (at > 0) ranks[at - 1] = this.rankOf(symbols[at - 1], symbols[at]);
      if (at + 1 < count) ranks[at] = this.rankOf(symbols[at], symbols[at + 1]);
    }
  }

  private rankOf(left: number, right: number): number {
    return this.pairRanks.get(left, right);
  }
}

/**
 * (left id, right id) → rank, open addressing over one typed array: builds and probes several
 * times faster than a `Map` whose keys (`left * vocabSize + right`) exceed the small-integer
 * range. A slot's left, right and rank lie side by side, so a probe reads one cache line, not three.
 */
class PairTable {
  /** Per slot: left id (-1: empty), right id, rank, unused (a power-of-two stride). */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(pairs: number) {
    let capacity = 16;
    while (capacity < 2 * pairs) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(4 * capacity).fill(-1);
  }

  /** Stores `rank` unless the pair already has one. */
  add(left: number, right: number, rank: number): void {
    const { slots } = this;
    for (let slot = this.slot(left, right); ; slot = (slot + 1) & this.mask) {
      const at = 4 * slot;
      if (slots[at] === -1) {
        slots[at] = left;
        slots[at + 1] = right;
        slots[at + 2] = rank;
        return;
      }
      if (slots[at] === left && slots[at + 1] === right) return;
    }
  }

  /** The pair's rank, or {@link NO_MERGE}. */
  get(left: number, right: number): number {
    const { slots } = this;
    for (let slot = this.slot(left, right); ; slot = (slot + 1) & this.mask) {
      const at = 4 * slot;
      const stored = slots[at];
      if (stored === -1) return NO_MERGE;
      if (stored === left && slots[at + 1] === right) return slots[at + 2];
    }
  }

  private slot(left: number, right: number): number {
    const hash = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x632be5ab, 0x85ebca77);
    return (hash ^ (hash >>> 15)) & this.mask;
  }
}

/** Linked list and heap arrays for one word; a word of n symbols has at most 3n heap entries. */
class MergeScratch {
  readonly next: Int32Array;
  readonly previous: Int32Array;
  readonly heapRank: Int32Array;
  readonly heapLeft: Int32Array;
  readonly heapRight: Int32Array;
  readonly heapLeftId: Int32Array;
  readonly heapRightId: Int32Array;

  constructor(symbols: number) {
    this.next = new Int32Array(symbols);
    this.previous = new Int32Array(symbols);
    const entries = 3 * symbols;
    this.heapRank = new Int32Array(entries);
    this.heapLeft = new Int32Array(entries);
    this.heapRight = new Int32Array(entries);
    this.heapLeftId = new Int32Array(entries);
    this.heapRightId = new Int32Array(entries);
  }
}

function unknownMergeToken(source: string, rank: number, merge: string, missing: string): FormatError {
  return new FormatError(
    mismatch(`merge ${rank} "${merge}"`, source, 'tokens present in the vocabulary', missing),
    { details: { source, rank } },
  );
}

/** Resolves merge line `rank` into `ids`. */
function resolveLine(
  vocabulary: TokenIndex,
  line: string,
  rank: number,
  source: string,
  ids: MergeIds,
): void {
  const space = line.indexOf(' ', 1);
  if (space < 0) {
    throw new FormatError(mismatch(`merge ${rank}`, source, 'two tokens separated by a space', line), {
      details: { source, rank },
    });
  }
  const leftId = vocabulary.find(line, 0, space);
  const rightId = vocabulary.find(line, space + 1, line.length);
  const mergedId = vocabulary.findJoined(line, 0, space, space + 1, line.length);
  if (leftId < 0 || rightId < 0 || mergedId < 0) {
    const left = line.slice(0, space);
    const right = line.slice(space + 1);
    throw unknownMergeToken(source, rank, line, leftId < 0 ? left : rightId < 0 ? right : left + right);
  }
  ids.lefts[rank] = leftId;
  ids.rights[rank] = rightId;
  ids.merged[rank] = mergedId;
}
