/**
 * Every token's output bytes packed in one array, and a decode loop over it: copying a few
 * bytes per id into a reused buffer and decoding UTF-8 once is an order of magnitude faster
 * than joining per-token strings or typed-array views.
 */
import { InvalidArgumentError, mismatch } from '@rotor/core';

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
/** A decode buffer up to this size is kept for the next call; larger ones are let go. */
const KEPT_BUFFER_BYTES = 1 << 20;
const SPACE = 0x20;

/** Token id → bytes, packed: the bytes of `id` are `bytes[offsets[id], offsets[id + 1])`. */
export interface PackedTokenBytes {
  readonly bytes: Uint8Array;
  /** Length vocabulary size + 1. */
  readonly offsets: Uint32Array;
}

/** Packs `count` tokens; `write(id, out, at)` stores token `id`'s bytes at `out[at]` (given room for `room` bytes) and returns how many it wrote, or -1 to ask for more room. */
export function packTokenBytes(
  count: number,
  write: (id: number, out: Uint8Array, at: number, room: number) => number,
): PackedTokenBytes {
  const offsets = new Uint32Array(count + 1);
  let bytes = new Uint8Array(Math.max(64, count * 8));
  let at = 0;
  for (let id = 0; id < count; id++) {
    for (;;) {
      const written = write(id, bytes, at, bytes.length - at);
      if (written >= 0) {
        at += written;
        break;
      }
      const grown = new Uint8Array(bytes.length * 2);
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    offsets[id + 1] = at;
  }
  return { bytes: bytes.slice(0, at), offsets };
}

/** How {@link PackedDecoder.decode} treats ids. */
export interface PackedDecodeRules {
  /** Per id, 1 when `skipSpecialTokens` drops it. */
  readonly skippable: Uint8Array;
  /** Drop one leading space of the output (SentencePiece dummy prefix, BERT word separator). */
  readonly stripFirstSpace: boolean;
}

/** Decodes id sequences over packed token bytes. */
export class PackedDecoder {
  private buffer = new Uint8Array(256);
  /** Per id, its text when its bytes are whole valid UTF-8 (else undefined). */
  private readonly texts: (string | undefined)[];

  constructor(
    private readonly table: PackedTokenBytes,
    private readonly rules: PackedDecodeRules,
  ) {
    this.texts = wholeTexts(table);
  }

  /**
   * The UTF-8 text of the ids' bytes (invalid sequences → U+FFFD). Tokens that are whole
   * characters are appended as cached strings; runs of partial tokens go through one byte
   * buffer. Flushing that buffer before a whole token gives the same text as decoding all
   * bytes at once: the token starts with a non-continuation byte, which ends any incomplete
   * sequence in the buffer with the same U+FFFD.
   * @throws InvalidArgumentError for an id that is not an integer in the vocabulary.
   */
  decode(ids: ArrayLike<number>, skipSpecial: boolean): string {
    const { bytes, offsets } = this.table;
    const { skippable } = this.rules;
    const { texts } = this;
    const vocabSize = offsets.length - 1;
    let stripSpace = this.rules.stripFirstSpace;
    let out = this.buffer;
    let pending = 0;
    let text = '';
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index];
      if (!(id >= 0 && id < vocabSize && (id | 0) === id)) {
        throw new InvalidArgumentError(
          mismatch('token id', `ids[${index}]`, `an integer in 0..${vocabSize - 1}`, id),
        );
      }
      if (skipSpecial && skippable[id] === 1) continue;
      const cached = texts[id];
      // The common case: a whole-character token with nothing pending.
      if (cached !== undefined && pending === 0 && !stripSpace) {
        text += cached;
        continue;
      }
      let start = offsets[id];
      const end = offsets[id + 1];
      if (start === end) continue;
      if (cached !== undefined) {
        if (pending > 0) {
          text += decodeLossy(out, pending);
          pending = 0;
        }
        if (stripSpace) {
          stripSpace = false;
          if (bytes[start] === SPACE) {
            text += cached.slice(1);
            continue;
          }
        }
        text += cached;
        continue;
      }
      if (stripSpace) {
        stripSpace = false;
        if (bytes[start] === SPACE) start++;
      }
      if (pending + end - start > out.length) {
        const grown = new Uint8Array(Math.max(out.length * 2, pending + end - start));
        grown.set(out.subarray(0, pending));
        out = grown;
      }
      for (let i = start; i < end; i++) out[pending++] = bytes[i];
    }
    if (pending > 0) text += decodeLossy(out, pending);
    if (out.length <= KEPT_BUFFER_BYTES) this.buffer = out;
    return text;
  }
}

/** Below this many bytes a JavaScript decoder beats a TextDecoder call. */
const SMALL_DECODE_BYTES = 64;

/** `bytes[0, length)` as UTF-8 with WHATWG's replacement rules (one U+FFFD per maximal invalid subpart). */
export function decodeLossy(bytes: Uint8Array, length: number): string {
  if (length > SMALL_DECODE_BYTES) return lossyUtf8.decode(bytes.subarray(0, length));
  let text = '';
  let i = 0;
  while (i < length) {
    const lead = bytes[i++];
    if (lead < 0x80) {
      text += String.fromCharCode(lead);
      continue;
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
      text += '\uFFFD';
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
    text += seen < need ? '\uFFFD' : String.fromCodePoint(cp);
  }
  return text;
}

/**
 * Per token, its text when its bytes are whole, well-formed UTF-8 (WHATWG's sequences), else
 * undefined. The whole tokens' bytes are joined and decoded with one TextDecoder call, then
 * cut apart by their UTF-16 lengths: far cheaper than a call per token.
 */
function wholeTexts(table: PackedTokenBytes): (string | undefined)[] {
  const { bytes, offsets } = table;
  const count = offsets.length - 1;
  const whole = new Uint8Array(count);
  const units = new Uint32Array(count);
  let total = 0;
  for (let id = 0; id < count; id++) {
    const end = offsets[id + 1];
    let i = offsets[id];
    let length = 0;
    let valid = true;
    while (valid && i < end) {
      const lead = bytes[i++];
      length++;
      if (lead < 0x80) continue;
      let need: number;
      let lower = 0x80;
      let upper = 0xbf;
      if (lead >= 0xc2 && lead <= 0xdf) need = 1;
      else if (lead >= 0xe0 && lead <= 0xef) {
        need = 2;
        if (lead === 0xe0) lower = 0xa0;
        if (lead === 0xed) upper = 0x9f;
      } else if (lead >= 0xf0 && lead <= 0xf4) {
        need = 3;
        length++;
        if (lead === 0xf0) lower = 0x90;
        if (lead === 0xf4) upper = 0x8f;
      } else {
        valid = false;
        break;
      }
      for (; valid && need > 0; need--) {
        if (i >= end || bytes[i] < lower || bytes[i] > upper) valid = false;
        lower = 0x80;
        upper = 0xbf;
        i++;
      }
    }
    if (!valid) continue;
    whole[id] = 1;
    units[id] = length;
    total += end - offsets[id];
  }
  const joined = new Uint8Array(total);
  let at = 0;
  for (let id = 0; id < count; id++) {
    if (whole[id] === 0) continue;
    for (let i = offsets[id]; i < offsets[id + 1]; i++) joined[at++] = bytes[i];
  }
  const text = lossyUtf8.decode(joined);
  const texts: (string | undefined)[] = new Array(count).fill(undefined);
  let unit = 0;
  for (let id = 0; id < count; id++) {
    if (whole[id] === 0) continue;
    texts[id] = text.slice(unit, unit + units[id]);
    unit += units[id];
  }
  return texts;
}
