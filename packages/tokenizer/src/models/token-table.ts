/**
 * A vocabulary kept as UTF-8 bytes, packed, with strings made only when asked for: loading a
 * GGUF byte-level vocabulary then creates no string per token, and keeps less memory.
 */
import { decodeStrings } from '../formats/gguf-reader.js';
import { ByteTokenIndex, type TokenLookup } from './token-index.js';

/** Strings as UTF-8 byte ranges of one buffer: string i is `bytes[starts[i], ends[i])`. */
export interface StringRanges {
  readonly bytes: Uint8Array;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

/** Token texts read by id; a `readonly string[]` is one. */
export interface TokenList {
  readonly length: number;
  at(id: number): string | undefined;
}

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Tokens as packed UTF-8 (invalid bytes read as U+FFFD), with a byte-keyed index. */
export class TokenTable implements TokenList, TokenLookup {
  readonly length: number;
  /** Token bytes, and the index over them (also resolves merge lines). */
  readonly index: ByteTokenIndex;
  private readonly bytes: Uint8Array;
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private scratch = new Uint8Array(64);

  /** Copies the tokens out of `ranges` (which usually lie in a much larger file). */
  constructor(ranges: StringRanges) {
    const count = ranges.starts.length;
    this.length = count;
    // One copy of the stretch holding them all, rebased: the strings lie back to back in a GGUF file.
    const first = count > 0 ? ranges.starts[0] : 0;
    let last = first;
    let ordered = true;
    for (let i = 0; i < count; i++) {
      if (ranges.starts[i] < last) ordered = false;
      last = ranges.ends[i];
    }
    this.starts = new Uint32Array(count);
    this.ends = new Uint32Array(count);
    if (ordered) {
      this.bytes = ranges.bytes.slice(first, last);
      for (let i = 0; i < count; i++) {
        this.starts[i] = ranges.starts[i] - first;
        this.ends[i] = ranges.ends[i] - first;
      }
    } else {
      let total = 0;
      for (let i = 0; i < count; i++) total += ranges.ends[i] - ranges.starts[i];
      this.bytes = new Uint8Array(total);
      let at = 0;
      for (let i = 0; i < count; i++) {
        this.bytes.set(ranges.bytes.subarray(ranges.starts[i], ranges.ends[i]), at);
        this.starts[i] = at;
        at += ranges.ends[i] - ranges.starts[i];
        this.ends[i] = at;
      }
    }
    this.index = new ByteTokenIndex(this.bytes, this.starts, this.ends);
  }

  /** The tokens' UTF-8 (shared, not copied: do not write to it). */
  get ranges(): StringRanges {
    return { bytes: this.bytes, starts: this.starts, ends: this.ends };
  }

  /** The first repeated token: `[first id, second id]`, or undefined. */
  get duplicate(): readonly [number, number] | undefined {
    return this.index.duplicate;
  }

  /** The text of token `id` (decoded on each call), or undefined when out of range. */
  at(id: number): string | undefined {
    if (!(id >= 0 && id < this.length)) return undefined;
    const start = this.starts[id];
    const end = this.ends[id];
    let ascii = end - start <= 32;
    for (let i = start; ascii && i < end; i++) ascii = this.bytes[i] < 0x80;
    if (!ascii) return lossyUtf8.decode(this.bytes.subarray(start, end));
    let text = '';
    for (let i = start; i < end; i++) text += String.fromCharCode(this.bytes[i]);
    return text;
  }

  /** The id of a token text, or undefined. */
  get(token: string): number | undefined {
    if (this.scratch.length < token.length * 3) this.scratch = new Uint8Array(token.length * 3);
    const { written } = utf8Encoder.encodeInto(token, this.scratch);
    const id = this.index.findJoined(this.scratch, 0, written, 0, 0);
    return id < 0 ? undefined : id;
  }

  /** Every token's text. */
  strings(): string[] {
    return decodeStrings(this.ranges) ?? Array.from({ length: this.length }, (_, id) => this.at(id)!);
  }
}
