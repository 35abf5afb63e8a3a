/**
 * Decoding of a byte-level vocabulary (GPT-2's alphabet) straight from its tokens' UTF-8, with
 * no table built up front: the first time a token is met, the bytes its characters spell are
 * stored where its UTF-8 lies (never longer), so later it is a plain copy. Every call copies
 * the ids' bytes into one reused buffer and decodes UTF-8 once, as tiktoken does.
 */
import type { StringRanges } from '../models/token-table.js';
import { CHAR_TO_BYTE } from '../pre-tokenizers/byte-level.js';
import { badId, COPY_BYTES, DecodeBuffer, type TokenBytes } from './token-bytes.js';

/** {@link ByteLevelDecoder}'s `spans` count for a token not met yet. */
const UNSEEN = 0;
/** {@link ByteLevelDecoder}'s `spans` count for a token read from the fallback. */
const FALLBACK = -1;

/** Which token types a {@link ByteLevelDecoder} treats how. */
export interface ByteLevelDecodeRules {
  /** Per id, its type code. */
  readonly tokenTypes: Int32Array;
  /** Types whose text is output as is (UTF-8), not read in the byte alphabet. */
  readonly textTypes: readonly [number, number];
  /** Types `skipSpecialTokens` drops. */
  readonly skippableTypes: readonly [number, number];
}

/** Decodes id sequences of a byte-level vocabulary kept as UTF-8 token strings. */
export class ByteLevelDecoder {
  private readonly buffer = new DecodeBuffer();
  /**
   * Per id at `2 * id`: where its spelled bytes start; at `2 * id + 1`: UNSEEN, FALLBACK, or 1 +
   * their count. Side by side, as a decode reads both at random ids: one cache miss, not two.
   */
  private readonly spans: Int32Array;
  /** The bytes each token met so far spells, where its UTF-8 lies in `tokens.bytes`. */
  private readonly spelled: Uint8Array;
  /** A view of `spelled`, for multi-byte reads. */
  private readonly spelledView: DataView;

  /**
   * @param tokens the vocabulary's token strings as UTF-8.
   * @param fallback every token's output bytes by other means; asked only for a token whose
   *   characters spell no bytes (or a text token that is not ASCII), which GPT-2 has none of.
   */
  constructor(
    private readonly tokens: StringRanges,
    private readonly rules: ByteLevelDecodeRules,
    private readonly fallback: TokenBytes,
  ) {
    this.spans = new Int32Array(2 * tokens.starts.length);
    this.spelled = new Uint8Array(tokens.bytes.length + COPY_BYTES);
    this.spelledView = new DataView(this.spelled.buffer);
  }

  /**
   * The UTF-8 text of the ids' bytes (invalid sequences → U+FFFD).
   * @throws InvalidArgumentError for an id that is not an integer in the vocabulary.
   */
  decode(ids: ArrayLike<number>, skipSpecial: boolean): string {
    return this.buffer.text(this.copyBytes(ids, skipSpecial));
  }

  /** Writes the ids' bytes to the start of the buffer (grown as needed); returns their count. */
  private copyBytes(ids: ArrayLike<number>, skipSpecial: boolean): number {
    let length = 0;
    let index = 0;
    while (index < ids.length) {
      const { tokenTypes, skippableTypes } = this.rules;
      index = copyRun(
        ids,
        index,
        length,
        skipSpecial,
        skippableTypes[0],
        skippableTypes[1],
        tokenTypes,
        this.spans,
        this.spelled,
        this.spelledView,
        this.buffer.bytes,
        this.buffer.view,
      );
      length = runLength;
      if (index === ids.length) break;
      // ids[index] is invalid, or not met before, read from the fallback, or needing more room.
      const id = ids[index];
      const vocabSize = this.spans.length >> 1;
      if (!(id >= 0 && id < vocabSize && (id | 0) === id)) throw badId(ids, index, vocabSize);
      let size = this.spans[2 * id + 1];
      if (size === UNSEEN) size = this.spell(id);
      if (size === FALLBACK) {
        length = this.appendFallback(id, length);
        index++;
      } else if (length + size - 1 + COPY_BYTES > this.buffer.bytes.length) {
        this.buffer.grow(length, size - 1 + COPY_BYTES);
      }
    }
    return length;
  }

  /** The bytes token `id` (a valid id) spells: a view, valid until the vocabulary is dropped. */
  piece(id: number): Uint8Array {
    let size = this.spans[2 * id + 1];
    if (size === UNSEEN) size = this.spell(id);
    if (size === FALLBACK) return this.fallback.piece(id);
    const start = this.spans[2 * id];
    return this.spelled.subarray(start, start + size - 1);
  }

  /** Stores what token `id` spells, met for the first time; its count entry in `spans`. */
  private spell(id: number): number {
    const { bytes, starts, ends } = this.tokens;
    const start = starts[id];
    const type = this.rules.tokenTypes[id];
    const written =
      type === this.rules.textTypes[0] || type === this.rules.textTypes[1]
        ? copyAscii(bytes, start, ends[id], this.spelled, start)
        : spellBytes(bytes, start, ends[id], this.spelled, start);
    const size = written < 0 ? FALLBACK : 1 + written - start;
    this.spans[2 * id] = start;
    this.spans[2 * id + 1] = size;
    return size;
  }

  /** Appends token `id`'s bytes from the fallback at byte `length` of the buffer; the new length. */
  private appendFallback(id: number, length: number): number {
    const piece = this.fallback.piece(id);
    const { buffer } = this;
    if (length + piece.length > buffer.bytes.length) buffer.grow(length, piece.length);
    buffer.bytes.set(piece, length);
    return length + piece.length;
  }
}

/** Copies ASCII `bytes[start, end)` to `out[at]`: the end written, or -1 at a non-ASCII byte. */
function copyAscii(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return -1;
    out[at++] = byte;
  }
  return at;
}

/**
 * Writes the bytes the byte-alphabet characters of UTF-8 `bytes[start, end)` spell (one or two
 * UTF-8 bytes each) to `out[at]`: the end written, or -1 at a character that spells none.
 */
function spellBytes(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  for (let i = start; i < end; ) {
    const lead = bytes[i];
    let code = lead;
    if (lead < 0x80) {
      i++;
    } else if (lead >= 0xc2 && lead < 0xe0 && i + 1 < end && (bytes[i + 1] & 0xc0) === 0x80) {
      code = ((lead & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      i += 2;
    } else {
      return -1;
    }
    const byte = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
    if (byte < 0) return -1;
    out[at++] = byte;
  }
  return at;
}

/** The byte count when the last {@link copyRun} stopped (read right after the call). */
let runLength = 0;

/**
 * Copies the bytes of `ids[index..]` to `out` from byte `length` on, until the ids end or one is
 * invalid, not met yet, read from the fallback, or needs more room; returns the index it stopped
 * at, the byte count in {@link runLength}. The loop makes no call and its arrays are parameters:
 * 1.4× the method whose loop threw the bad-id error itself and grew the buffer in place
 * (multilingual text, the same ids decoded in one process; a method with this loop: 1.15×).
 */
function copyRun(
  ids: ArrayLike<number>,
  index: number,
  length: number,
  skipSpecial: boolean,
  skipType1: number,
  skipType2: number,
  tokenTypes: Int32Array,
  spans: Int32Array,
  spelled: Uint8Array,
  spelledView: DataView,
  out: Uint8Array,
  outView: DataView,
): number {
  const vocabSize = spans.length >> 1;
  const limit = out.length - COPY_BYTES;
  for (; index < ids.length; index++) {
    const id = ids[index];
    // An invalid id, a token not met yet, one read from the fallback, or one that needs more room
    // ends the run.
    if (!(id >= 0 && id < vocabSize && (id | 0) === id)) break;
    if (skipSpecial && (tokenTypes[id] === skipType1 || tokenTypes[id] === skipType2)) continue;
    const size = spans[2 * id + 1] - 1;
    if (size < 0 || length + size > limit) break;
    const start = spans[2 * id];
    if (size <= COPY_BYTES) {
      // Two unaligned 4-byte moves, no branch on the size: bytes past `size` are overwritten
      // next. Measured 1.5x eight single-byte moves on multilingual text.
      outView.setInt32(length, spelledView.getInt32(start, true), true);
      outView.setInt32(length + 4, spelledView.getInt32(start + 4, true), true);
    } else {
      for (let i = 0; i < size; i++) out[length + i] = spelled[start + i];
    }
    length += size;
  }
  runLength = length;
  return index;
}
