/**
 * Score-driven BPE, the merge model of SentencePiece BPE vocabularies and of llama2.c.
 *
 * Rule (llama2.c `run.c` `encode`): repeatedly find, among all adjacent symbol pairs whose
 * concatenated piece is in the vocabulary with a score above the floor, the one whose piece
 * has the highest score — the leftmost on ties — and replace the pair by that piece. run.c
 * rescans the whole sequence per merge (O(n²)); here a priority queue of candidate pairs
 * over a linked list of symbols gives the same merges in O(n log n), as llama.cpp's SPM
 * tokenizer does. Stale queue entries are recognised and dropped when popped.
 */
import { InvalidArgumentError, mismatch } from '@rotor/core';

/** Options of {@link ScoreBpeModel}. */
export interface ScoreBpeOptions {
  /**
   * Only pieces scoring strictly above this are merged. Default -1e10, the initial
   * `best_score` of run.c, so pieces at or below it never merge.
   */
  mergeScoreFloor?: number;
}

/** run.c starts its best-score search at `float best_score = -1e10`. */
const RUN_C_SCORE_FLOOR = -1e10;

/**
 * A vocabulary of byte pieces with scores and the merge loop over it.
 *
 * Pieces are binary strings (one char per byte). When the same piece occurs more than once,
 * the lowest id wins every lookup (run.c's `bsearch` over a `qsort`ed copy leaves this
 * unspecified).
 */
export class ScoreBpeModel {
  /** Piece of each id, as a binary string. */
  readonly pieces: readonly string[];
  /** Score of each id. */
  readonly scores: Float32Array;
  private readonly ids = new Map<string, number>();
  private readonly floor: number;

  constructor(pieces: readonly string[], scores: ArrayLike<number>, options: ScoreBpeOptions = {}) {
    if (pieces.length !== scores.length) {
      throw new InvalidArgumentError(
        mismatch('number of scores', 'ScoreBpeModel', `${pieces.length} (one per piece)`, scores.length),
      );
    }
    this.pieces = pieces;
    this.scores = Float32Array.from(scores);
    this.floor = options.mergeScoreFloor ?? RUN_C_SCORE_FLOOR;
    for (let id = 0; id < pieces.length; id++) {
      if (!this.ids.has(pieces[id])) this.ids.set(pieces[id], id);
    }
  }

  /** The lowest id whose piece is `piece` (a binary string), or -1. */
  lookup(piece: string): number {
    return this.ids.get(piece) ?? -1;
  }

  /** Applies the merge rule to `symbols` (ids) until no pair merges; returns the new ids. */
  merge(symbols: readonly number[]): number[] {
    const count = symbols.length;
    for (let i = 0; i < count; i++) {
      const id = symbols[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) {
        throw new InvalidArgumentError(
          mismatch('symbol id', `symbols[${i}]`, `an integer in 0..${this.pieces.length - 1}`, id),
        );
      }
    }
    if (count < 2) return symbols.slice();

    // Linked list over symbol slots; a merge keeps the left slot, so slot order is text order.
    const symbol = Int32Array.from(symbols);
    const next = new Int32Array(count);
    const previous = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      next[i] = i + 1 < count ? i + 1 : -1;
      previous[i] = i - 1;
    }
    // n-1 initial pairs plus at most two new pairs per merge, and at most n-1 merges.
    const queue = new CandidateQueue(3 * count);
    for (let i = 0; i + 1 < count; i++) this.offer(queue, symbol, i, i + 1);

    while (queue.size > 0) {
      const entry = queue.pop();
      const left = queue.left[entry];
      const right = queue.right[entry];
      // Stale unless both slots still hold the symbols the pair was scored for. Slots are
      // only ever removed (symbol -1), never inserted, so two live slots stay adjacent.
      if (symbol[left] !== queue.leftSymbol[entry] || symbol[right] !== queue.rightSymbol[entry]) continue;
      symbol[left] = queue.merged[entry];
      symbol[right] = -1;
      const after = next[right];
      next[left] = after;
      if (after !== -1) previous[after] = left;
      if (previous[left] !== -1) this.offer(queue, symbol, previous[left], left);
      if (after !== -1) this.offer(queue, symbol, left, after);
    }

    const result: number[] = [];
    for (let slot = 0; slot !== -1; slot = next[slot]) result.push(symbol[slot]);
    return result;
  }

  private offer(queue: CandidateQueue, symbol: Int32Array, left: number, right: number): void {
    const merged = this.ids.get(this.pieces[symbol[left]] + this.pieces[symbol[right]]);
    if (merged === undefined || !(this.scores[merged] > this.floor)) return;
    queue.push(this.scores[merged], left, right, symbol[left], symbol[right], merged);
  }
}

/**
 * Binary max-heap of merge candidates: higher score first, then smaller left slot (the
 * leftmost pair, as run.c's strict `>` scan picks). Entries live in parallel typed arrays.
 */
class CandidateQueue {
  readonly score: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly leftSymbol: Int32Array;
  readonly rightSymbol: Int32Array;
  readonly merged: Int32Array;
  private readonly heap: Int32Array;
  private entries = 0;
  size = 0;

  constructor(capacity: number) {
    this.score = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.leftSymbol = new Int32Array(capacity);
    this.rightSymbol = new Int32Array(capacity);
    this.merged = new Int32Array(capacity);
    this.heap = new Int32Array(capacity);
  }

  push(
    score: number,
    left: number,
    right: number,
    leftSymbol: number,
    rightSymbol: number,
    merged: number,
  ): void {
    const entry = this.entries++;
    this.score[entry] = score;
    this.left[entry] = left;
    this.right[entry] = right;
    this.leftSymbol[entry] = leftSymbol;
    this.rightSymbol[entry] = rightSymbol;
    this.merged[entry] = merged;
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(entry, this.heap[parent])) break;
      this.heap[at] = this.heap[parent];
      at = parent;
    }
    this.heap[at] = entry;
  }

  /** Removes and returns the best entry; the queue must not be empty. */
  pop(): number {
    const top = this.heap[0];
    const last = this.heap[--this.size];
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.before(this.heap[child + 1], this.heap[child])) child++;
      if (!this.before(this.heap[child], last)) break;
      this.heap[at] = this.heap[child];
      at = child;
    }
    this.heap[at] = last;
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.score[a] > this.score[b] || (this.score[a] === this.score[b] && this.left[a] < this.left[b]);
  }
}
