/**
 * Rank-driven BPE, the model of byte-level vocabularies (GPT-2, Llama 3, Qwen2, ...) and of
 * Hugging Face `BPE` models: merges are ordered pairs of tokens; repeatedly the pair with the
 * lowest rank (earliest merge), leftmost on ties, is replaced by its merged token. Short words
 * (nearly all of them) use a linear scan over one array of pair ranks, as tiktoken does; longer
 * ones a priority queue over a linked list of symbols, O(n log n), so a very long word costs no
 * more than its length warrants.
 */
import { FormatError, mismatch } from '@rotor/core';

/** One merge rule as stored: the two token strings, e.g. `["Ġ", "t"]`. */
export type MergeRule = readonly [left: string, right: string];

/** Words up to this many symbols reuse the model's scratch arrays. */
const SCRATCH_SYMBOLS = 1024;
/** Words up to this many symbols take the quadratic linear scan, cheaper than a heap when short. */
const LINEAR_SCAN_SYMBOLS = 32;
/** Rank of a pair that has no merge: above every real rank. */
const NO_MERGE = 0x7fffffff;

/** A BPE merge table over token ids. */
export class RankBpeModel {
  private readonly pairRanks = new Map<number, number>();
  private readonly mergedIds: Int32Array;
  private readonly stride: number;
  private readonly scratch = new MergeScratch(SCRATCH_SYMBOLS);

  /**
   * @param vocabulary token string → id.
   * @param merges in rank order.
   * @param source names the file in error messages.
   * @throws FormatError when a merge names a token missing from the vocabulary or merges
   *   into one that is missing.
   */
  constructor(vocabulary: ReadonlyMap<string, number>, merges: readonly MergeRule[], source: string) {
    let largestId = 0;
    for (const id of vocabulary.values()) largestId = Math.max(largestId, id);
    this.stride = largestId + 1;
    this.mergedIds = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const [left, right] = merges[rank];
      const leftId = vocabulary.get(left);
      const rightId = vocabulary.get(right);
      const mergedId = vocabulary.get(left + right);
      if (leftId === undefined || rightId === undefined || mergedId === undefined) {
        const missing = leftId === undefined ? left : rightId === undefined ? right : left + right;
        throw new FormatError(
          mismatch(`merge ${rank} "${left} ${right}"`, source, 'tokens present in the vocabulary', missing),
          { details: { source, rank } },
        );
      }
      const key = leftId * this.stride + rightId;
      // The first (lowest-rank) occurrence of a pair wins, as in Hugging Face tokenizers.
      if (!this.pairRanks.has(key)) this.pairRanks.set(key, rank);
      this.mergedIds[rank] = mergedId;
    }
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
      const rank = this.pairRanks.get(symbols[left] * this.stride + symbols[right]);
      if (rank === undefined) return;
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
    return this.pairRanks.get(left * this.stride + right) ?? NO_MERGE;
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
