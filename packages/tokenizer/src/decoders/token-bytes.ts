/**
 * Tokens' output bytes, written lazily into one array, and a decode loop over them: copying a
 * few bytes per id into a reused buffer and decoding UTF-8 once is far faster than joining
 * per-token strings or typed-array views, and needs no table built first.
 */
import { InvalidArgumentError, mismatch } from '@rotor/core';

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
/** A decode buffer up to this size is kept for the next call; larger ones are let go. */
const KEPT_BUFFER_BYTES = 1 << 20;
const SPACE = 0x20;
/** Tokens up to this many bytes are copied as two 4-byte moves (by both decoders). */
export const COPY_BYTES = 8;

/** Stores token `id`'s bytes at `out[at]` (given room for `room` bytes): how many it wrote, or -1 to ask for more room. */
export type WriteTokenBytes = (id: number, out: Uint8Array, at: number, room: number) => number;

/**
 * Token id → output bytes, each written (by `write`) the first time it is asked for, into one
 * growing array: nothing is built up front, and a token met again is a plain copy.
 */
export class TokenBytes {
  /** The written tokens' bytes; token `id`'s are `bytes[starts[id], starts[id] + lengths[id] - 1)`. */
  bytes = new Uint8Array(256);
  /** A view of {@link bytes}, for multi-byte reads; replaced with it. */
  view = new DataView(this.bytes.buffer);
  readonly starts: Int32Array;
  /** Per id, 0 when not written yet, else 1 + its byte count. */
  readonly lengths: Int32Array;
  private used = 0;

  constructor(
    count: number,
    private readonly write: WriteTokenBytes,
  ) {
    this.starts = new Int32Array(count);
    this.lengths = new Int32Array(count);
  }

  /** Number of tokens. */
  get count(): number {
    return this.lengths.length;
  }

  /** Token `id`'s bytes (a valid id): a view, valid until the next token is written. */
  piece(id: number): Uint8Array {
    const size = this.lengths[id] === 0 ? this.fill(id) : this.lengths[id];
    return this.bytes.subarray(this.starts[id], this.starts[id] + size - 1);
  }

  /** Writes token `id`'s bytes; its `lengths` entry. */
  fill(id: number): number {
    for (;;) {
      const written = this.write(id, this.bytes, this.used, this.bytes.length - this.used);
      if (written >= 0) {
        this.starts[id] = this.used;
        this.used += written;
        this.lengths[id] = written + 1;
        return written + 1;
      }
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
  }
}

/** How {@link PackedDecoder.decode} treats ids. */
export interface PackedDecodeRules {
  /** Per id, 1 when `skipSpecialTokens` drops it. */
  readonly skippable: Uint8Array;
  /** Drop one leading space of the output (SentencePiece dummy prefix, BERT word separator). */
  readonly stripFirstSpace: boolean;
}

/** The reused byte buffer a decoder copies the ids' bytes into, decoded as UTF-8 once. */
export class DecodeBuffer {
  /** The bytes; replaced when grown, so read it again after {@link grow}. */
  bytes: Uint8Array = new Uint8Array(256);
  /** A view of {@link bytes}, for multi-byte writes; replaced with it. */
  view = new DataView(this.bytes.buffer);

  /** Grows {@link bytes} to room for `more` bytes after its first `length`; the new array. */
  grow(length: number, more: number): Uint8Array {
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, length + more));
    grown.set(this.bytes.subarray(0, length));
    this.use(grown);
    return grown;
  }

  /** The first `length` bytes as UTF-8 text ({@link decodeLossy}); a very large buffer is let go. */
  text(length: number): string {
    const text = decodeLossy(this.bytes, length);
    if (this.bytes.length > KEPT_BUFFER_BYTES) this.use(new Uint8Array(256));
    return text;
  }

  private use(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}

/** The error for `ids[index]`, which is not an integer in `[0, vocabSize)`. */
export function badId(ids: ArrayLike<number>, index: number, vocabSize: number): InvalidArgumentError {
  return new InvalidArgumentError(
    mismatch('token id', `ids[${index}]`, `an integer in 0..${vocabSize - 1}`, ids[index]),
  );
}

/** Decodes id sequences over {@link TokenBytes}. */
export class PackedDecoder {
  private readonly buffer = new DecodeBuffer();

  constructor(
    private readonly tokens: TokenBytes,
    private readonly rules: PackedDecodeRules,
  ) {}

  /**
   * The UTF-8 text of the ids' bytes (invalid sequences → U+FFFD): each token's bytes are
   * copied into one reused buffer, decoded once at the end. Nothing is built per vocabulary,
   * so the first call costs what later ones do.
   * @throws InvalidArgumentError for an id that is not an integer in the vocabulary.
   */
  decode(ids: ArrayLike<number>, skipSpecial: boolean): string {
    return this.buffer.text(this.copyBytes(ids, skipSpecial));
  }

  /** Writes the ids' bytes to the start of the buffer (grown as needed); returns their count. */
  private copyBytes(ids: ArrayLike<number>, skipSpecial: boolean): number {
    const { tokens, buffer } = this;
    const vocabSize = tokens.lengths.length;
    let length = 0;
    let index = 0;
    let stripSpace = this.rules.stripFirstSpace;
    while (index < ids.length) {
      if (!stripSpace) {
        index = copyPackedRun(
          ids,
          index,
          length,
          skipSpecial,
          this.rules.skippable,
          tokens.starts,
          tokens.lengths,
          tokens.bytes,
          tokens.view,
          buffer.bytes,
          buffer.view,
        );
        length = packedRunLength;
        if (index === ids.length) break;
      }
      // ids[index] is invalid, not written yet, needs more room, or is the first token with
      // bytes while a leading space is still to be dropped.
      const id = ids[index];
      if (!(id >= 0 && id < vocabSize && (id | 0) === id)) throw badId(ids, index, vocabSize);
      index++;
      if (skipSpecial && this.rules.skippable[id] === 1) continue;
      const size = (tokens.lengths[id] === 0 ? tokens.fill(id) : tokens.lengths[id]) - 1;
      let start = tokens.starts[id];
      const end = start + size;
      if (stripSpace && start < end) {
        stripSpace = false;
        if (tokens.bytes[start] === SPACE) start++;
      }
      const room = end - start + COPY_BYTES;
      const out = length + room > buffer.bytes.length ? buffer.grow(length, room) : buffer.bytes;
      out.set(tokens.bytes.subarray(start, end), length);
      length += end - start;
    }
    return length;
  }
}

/** The byte count when the last {@link copyPackedRun} stopped (read right after the call). */
let packedRunLength = 0;

/**
 * Copies the bytes of `ids[index..]` to `out` from byte `length` on, until the ids end or one is
 * invalid, not written yet, or needs more room; returns the index it stopped at, the byte count
 * in {@link packedRunLength}. The loop makes no call (see `copyRun` in byte-level-decoder.ts) and
 * moves short tokens as two 4-byte words: llama-spm decode of mixed text 72–85 → 98–145 MB/s
 * (three alternating processes each).
 */
function copyPackedRun(
  ids: ArrayLike<number>,
  index: number,
  length: number,
  skipSpecial: boolean,
  skippable: Uint8Array,
  starts: Int32Array,
  lengths: Int32Array,
  bytes: Uint8Array,
  bytesView: DataView,
  out: Uint8Array,
  outView: DataView,
): number {
  const vocabSize = lengths.length;
  const limit = out.length - COPY_BYTES;
  const fixedEnd = bytes.length - COPY_BYTES;
  for (; index < ids.length; index++) {
    const id = ids[index];
    if (!(id >= 0 && id < vocabSize && (id | 0) === id)) break;
    if (skipSpecial && skippable[id] === 1) continue;
    const size = lengths[id] - 1;
    if (size < 0 || length + size > limit) break;
    const start = starts[id];
    if (size <= COPY_BYTES && start <= fixedEnd) {
      // As in byte-level-decoder.ts: two 4-byte moves, bytes past `size` overwritten next.
      outView.setInt32(length, bytesView.getInt32(start, true), true);
      outView.setInt32(length + 4, bytesView.getInt32(start + 4, true), true);
    } else {
      for (let i = 0; i < size; i++) out[length + i] = bytes[start + i];
    }
    length += size;
  }
  packedRunLength = length;
  return index;
}

/** Below this many bytes a JavaScript decoder beats a TextDecoder call. */
const SMALL_DECODE_BYTES = 64;
/** Bytes read to estimate how much of the text is not ASCII: about this many, evenly spaced. */
const DENSITY_SAMPLES = 1024;
/** A code unit buffer up to this many units is kept for the next call. */
const KEPT_UNITS = 1 << 20;
/** Reads {@link units} in this platform's byte order (little-endian almost everywhere). */
const utf16 = new TextDecoder(new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 'utf-16le' : 'utf-16be', {
  ignoreBOM: true,
});
/** Code units written by {@link utf8ToUtf16}; grown as needed, reused (decoding never re-enters). */
let units = new Uint16Array(256);

/**
 * `bytes[0, length)` as UTF-8 with WHATWG's replacement rules (one U+FFFD per maximal invalid
 * subpart). TextDecoder turns ASCII into a string far faster than any loop, but non-ASCII text at
 * ~160 MB/s (V8 11, Node 20); for text mostly not ASCII, a JavaScript loop writing UTF-16 code
 * units and a UTF-16 TextDecoder (a plain copy) are ~1.4× that (the multilingual bench corpus).
 */
export function decodeLossy(bytes: Uint8Array, length: number): string {
  if (length > SMALL_DECODE_BYTES && !mostlyNotAscii(bytes, length))
    return lossyUtf8.decode(bytes.subarray(0, length));
  if (units.length < length) units = new Uint16Array(Math.max(length, 2 * units.length));
  const count = utf8ToUtf16(bytes, length, units);
  const text =
    length > SMALL_DECODE_BYTES
      ? utf16.decode(units.subarray(0, count))
      : String.fromCharCode.apply(null, units.subarray(0, count) as unknown as number[]);
  if (units.length > KEPT_UNITS) units = new Uint16Array(256);
  return text;
}

/** Whether more than a quarter of a sample of `bytes[0, length)` is not ASCII. */
function mostlyNotAscii(bytes: Uint8Array, length: number): boolean {
  const step = Math.max(1, Math.floor(length / DENSITY_SAMPLES));
  let samples = 0;
  let notAscii = 0;
  for (let i = 0; i < length; i += step) {
    samples++;
    notAscii += bytes[i] >>> 7;
  }
  return 4 * notAscii > samples;
}

/**
 * Writes the UTF-16 code units of UTF-8 `bytes[0, length)` to `out` (room for `length` units:
 * no sequence yields more units than bytes); returns their count. Invalid input becomes
 * U+FFFD exactly as TextDecoder makes it.
 */
function utf8ToUtf16(bytes: Uint8Array, length: number, out: Uint16Array): number {
  let count = 0;
  let i = 0;
  while (i < length) {
    const lead = bytes[i++];
    if (lead < 0x80) {
      out[count++] = lead;
      continue;
    }
    // Valid two- and three-byte sequences (all of most scripts) without the general loop.
    if (lead >= 0xc2 && lead < 0xe0 && i < length && (bytes[i] & 0xc0) === 0x80) {
      out[count++] = ((lead & 0x1f) << 6) | (bytes[i++] & 0x3f);
      continue;
    }
    if (lead > 0xe0 && lead < 0xf0 && lead !== 0xed && i + 1 < length) {
      const second = bytes[i];
      const third = bytes[i + 1];
      if ((second & 0xc0) === 0x80 && (third & 0xc0) === 0x80) {
        out[count++] = ((lead & 0x0f) << 12) | ((second & 0x3f) << 6) | (third & 0x3f);
        i += 2;
        continue;
      }
    }
    let need: number;
    let cp: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      need = 1;
      cp = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      cp = lead & 0x0f;
      if (lead === 0xe0) lower = 0xa0;
      if (lead === 0xed) upper = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      cp = lead & 0x07;
      if (lead === 0xf0) lower = 0x90;
      if (lead === 0xf4) upper = 0x8f;
    } else {
      out[count++] = 0xfffd;
      continue;
    }
    let seen = 0;
    while (seen < need && i < length && bytes[i] >= lower && bytes[i] <= upper) {
      cp = (cp << 6) | (bytes[i++] & 0x3f);
      lower = 0x80;
      upper = 0xbf;
      seen++;
    }
    // An incomplete sequence is one U+FFFD; the byte that broke it is read again.
    if (seen < need) {
      out[count++] = 0xfffd;
    } else if (cp >= 0x10000) {
      out[count++] = 0xd800 | ((cp - 0x10000) >> 10);
      out[count++] = 0xdc00 | (cp & 0x3ff);
    } else {
      out[count++] = cp;
    }
  }
  return count;
}
