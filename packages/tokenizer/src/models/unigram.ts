/**
 * SentencePiece Unigram as Hugging Face `tokenizers` runs it (`models/unigram/model.rs`,
 * `encode_optimized`): Viterbi over the lattice of vocabulary entries starting at each
 * character; a character no entry of its own length covers gets an unknown node scored
 * `min score - 10`. Consecutive unknown characters are fused into one piece, which becomes
 * the entry of that text if there is one, else its UTF-8 bytes as `<0xNN>` tokens (byte
 * fallback, when all exist), else the unknown id.
 */
import { InvalidArgumentError, mismatch } from '@rotor/core';
import { writeUtf8 } from '../unicode/code-points.js';
import type { PieceModel } from './from-json.js';
import { WordCache } from './word-cache.js';

/** Hugging Face's `K_UNK_PENALTY`. */
const UNKNOWN_PENALTY = 10;
/** Marks a string that only prefixes entries in {@link UnigramModel}'s lookup. */
const PREFIX_ONLY = -1;

/** Options of {@link UnigramModel}. */
export interface UnigramOptions {
  /** Id of the unknown token; without one, text with unknown characters cannot be encoded. */
  unknownId: number | undefined;
  /** Unknown text becomes `<0xNN>` byte tokens when they all exist. */
  byteFallback: boolean;
}

/** A Unigram vocabulary: entries with log-probability scores. */
export class UnigramModel implements PieceModel {
  /** Entry → id (the last id of a repeated entry, as Hugging Face's map keeps). */
  readonly vocabulary: ReadonlyMap<string, number>;
  readonly unknownToken: string | undefined;
  /** Entries and every proper prefix of one (as {@link PREFIX_ONLY}) → id. */
  private readonly lookup = new Map<string, number>();
  private readonly scores: Float64Array;
  private readonly unknownScore: number;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly wordCache = new WordCache();

  /**
   * @param entries `[text, score]` per id.
   * @throws InvalidArgumentError when `unknownId` is not an id of `entries`.
   */
  constructor(
    entries: readonly (readonly [string, number])[],
    private readonly options: UnigramOptions,
  ) {
    const vocabulary = new Map<string, number>();
    this.scores = new Float64Array(entries.length);
    let minScore = Number.POSITIVE_INFINITY;
    for (let id = 0; id < entries.length; id++) {
      const [text, score] = entries[id];
      vocabulary.set(text, id);
      this.scores[id] = score;
      minScore = Math.min(minScore, score);
    }
    for (const [text, id] of vocabulary) {
      if (text === '') continue;
      this.lookup.set(text, id);
      // Prefixes, so the scan from a position stops as soon as no entry can follow.
      let prefix = '';
      for (const char of text) {
        if (prefix !== '' && !this.lookup.has(prefix)) this.lookup.set(prefix, PREFIX_ONLY);
        prefix += char;
      }
    }
    this.vocabulary = vocabulary;
    this.unknownScore = minScore - UNKNOWN_PENALTY;
    const { unknownId } = options;
    if (unknownId !== undefined && !(unknownId < entries.length)) {
      throw new InvalidArgumentError(
        `Unigram unk_id ${unknownId} is not an id of the ${entries.length} entries`,
      );
    }
    this.unknownToken = unknownId === undefined ? undefined : entries[unknownId][0];
    for (let byte = 0; byte < 256; byte++) {
      this.byteIds[byte] = vocabulary.get(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
  }

  /**
   * Appends the ids of one piece.
   * @throws InvalidArgumentError when the piece has a character the vocabulary cannot encode
   *   and there is neither an unknown token nor byte fallback for it.
   */
  tokenize(cps: Uint32Array, ids: number[], spans?: number[]): void {
    let text = '';
    for (let i = 0; i < cps.length; i++) text += String.fromCodePoint(cps[i]);
    if (text === '') return;
    if (spans === undefined && this.wordCache.appendTo(text, ids)) return;
    const first = ids.length;
    this.tokenizeUncached(text, cps, ids, spans);
    if (spans === undefined) this.wordCache.remember(text, ids, first);
  }

  private tokenizeUncached(text: string, cps: Uint32Array, ids: number[], spans?: number[]): void {
    const count = cps.length;
    // Per code point position: best score of a path ending there, where its last node starts, its id.
    const bestScore = new Float64Array(count + 1);
    const startsAt = new Int32Array(count + 1).fill(-1);
    const nodeId = new Int32Array(count + 1);
    const unknown = this.options.unknownId ?? -1;
    // UTF-16 offset of each code point, for slicing entries out of `text`.
    const units = new Int32Array(count + 1);
    for (let i = 0; i < count; i++) units[i + 1] = units[i] + (cps[i] > 0xffff ? 2 : 1);
    startsAt[0] = 0;
    for (let start = 0; start < count; start++) {
      const base = bestScore[start];
      let hasSingle = false;
      // Entries starting here, shortest first (the trie's order, which decides ties).
      for (let end = start + 1; end <= count; end++) {
        const id = this.lookup.get(text.slice(units[start], units[end]));
        if (id === undefined) break;
        if (id === PREFIX_ONLY) continue;
        const score = this.scores[id] + base;
        if (startsAt[end] < 0 || score > bestScore[end]) {
          bestScore[end] = score;
          startsAt[end] = start;
          nodeId[end] = id;
        }
        if (end === start + 1) hasSingle = true;
      }
      if (!hasSingle) {
        const score = this.unknownScore + base;
        if (startsAt[start + 1] < 0 || score > bestScore[start + 1]) {
          // As Hugging Face: an unknown character is an error without an unknown token.
          if (unknown < 0) this.missingUnknown(text.slice(units[start], units[start + 1]));
          bestScore[start + 1] = score;
          startsAt[start + 1] = start;
          nodeId[start + 1] = unknown;
        }
      }
    }
    // Backtrack; runs of unknown nodes are fused into one piece.
    const pieces: number[] = [];
    let end = count;
    while (end > 0) {
      const start = startsAt[end];
      if (nodeId[end] === unknown) {
        let fusedStart = start;
        while (fusedStart > 0 && nodeId[fusedStart] === unknown) fusedStart = startsAt[fusedStart];
        pieces.push(fusedStart, end, -1);
        end = fusedStart;
      } else {
        pieces.push(start, end, nodeId[end]);
        end = start;
      }
    }
    for (let p = pieces.length - 3; p >= 0; p -= 3) {
      const id = pieces[p + 2];
      const before = ids.length;
      if (id >= 0) ids.push(id);
      else this.pushUnknown(text.slice(units[pieces[p]], units[pieces[p + 1]]), ids);
      // Byte tokens of an unknown piece all span the whole piece.
      if (spans !== undefined) for (let t = before; t < ids.length; t++) spans.push(pieces[p], pieces[p + 1]);
    }
  }

  /** An unknown (fused) piece: its own entry, else byte fallback, else the unknown id. */
  private pushUnknown(piece: string, ids: number[]): void {
    const whole = this.vocabulary.get(piece);
    if (whole !== undefined) {
      ids.push(whole);
      return;
    }
    if (this.options.byteFallback) {
      const bytes = new Uint8Array(piece.length * 3);
      let length = 0;
      for (const char of piece) length = writeUtf8(char.codePointAt(0)!, bytes, length);
      let all = true;
      for (let i = 0; i < length; i++) if (this.byteIds[bytes[i]] < 0) all = false;
      if (all) {
        for (let i = 0; i < length; i++) ids.push(this.byteIds[bytes[i]]);
        return;
      }
    }
    if (this.options.unknownId === undefined) this.missingUnknown(piece);
    ids.push(this.options.unknownId);
  }

  private missingUnknown(text: string): never {
    throw new InvalidArgumentError(
      mismatch(
        'text',
        'Unigram model',
        'characters of the vocabulary (it has no unk_id)',
        JSON.stringify(text),
      ),
    );
  }
}
