/**
 * The llama2.c tokenizer: encode and decode exactly as `run.c` (llama2.c commit 350e04f).
 */
import {
  type DecodeOptions,
  type EncodeOptions,
  InvalidArgumentError,
  mismatch,
  type SpecialTokenIds,
  type StreamDecoder,
  type Tokenizer,
  UnsupportedError,
} from '@rotor/core';
import { ByteSink, bytesToBinaryString, decodeUtf8Lossy, decodeUtf8Strict } from '../bytes.js';
import { createByteStreamDecoder } from '../decoders/byte-stream-decoder.js';
import { ScoreBpeModel } from '../models/score-bpe.js';
import { byteSpanOffsets } from './byte-offsets.js';
import type { EncodingWithOffsets } from './gguf-tokenizer.js';

const UNKNOWN_ID = 0;
const BOS_ID = 1;
const EOS_ID = 2;
/** run.c's byte fallback: byte b is id b + 3, after `<unk>`, `<s>`, `</s>`. */
const BYTE_FALLBACK_OFFSET = 3;
const SPACE = 0x20;
/** Special-token strings recognised in text when `parseSpecialTokens` is set. */
const SPECIAL_TOKEN_PATTERN = /<s>|<\/s>|<unk>/g;
const SPECIAL_TOKEN_IDS: Record<string, number> = { '<s>': BOS_ID, '</s>': EOS_ID, '<unk>': UNKNOWN_ID };

const utf8Encoder = new TextEncoder();
/** One-byte views for byte tokens, so decoding them allocates nothing. */
const SINGLE_BYTES = Uint8Array.from({ length: 256 }, (_, byte) => byte);

/** Vocabulary data of a llama2.c `tokenizer.bin`, as the loader validated it. */
export interface Llama2cVocabulary {
  /** The header's max_token_length. */
  readonly maxTokenLength: number;
  /** All piece bytes, back to back. */
  readonly pieceData: Uint8Array;
  /** Piece of id i is `pieceData[pieceOffsets[i], pieceOffsets[i + 1])`; length vocabSize + 1. */
  readonly pieceOffsets: Uint32Array;
  /** Score of each id. */
  readonly scores: Float32Array;
}

/**
 * A llama2.c tokenizer (`tokenizer.bin`): SentencePiece-style BPE with byte fallback.
 * Create it with `loadLlama2cTokenizer`.
 *
 * Special ids: unknown 0, BOS 1, EOS 2. `encode` with `addSpecialTokens` prepends BOS only,
 * as run.c's generate loop does; EOS is never added.
 */
export class Llama2cTokenizer implements Tokenizer {
  /** Number of entries read from the file. */
  readonly vocabSize: number;
  /** Fixed by the format: unknown 0, BOS 1, EOS 2. */
  readonly specialTokens: SpecialTokenIds = { unknown: UNKNOWN_ID, bos: BOS_ID, eos: EOS_ID };
  /** The header's max_token_length: no piece is longer (in bytes). */
  readonly maxTokenLength: number;
  private readonly pieceData: Uint8Array;
  private readonly pieceOffsets: Uint32Array;
  private readonly model: ScoreBpeModel;
  private readonly displayPieces: string[];
  private readonly displayIds = new Map<string, number>();
  /** Id of each one-byte piece, -1 when absent: the common case of the codepoint lookup. */
  private readonly singleByteIds = new Int32Array(256).fill(-1);
  private readonly dummyPrefixId: number;

  /** Wraps already validated vocabulary data; use `loadLlama2cTokenizer` to read a file. */
  constructor(vocabulary: Llama2cVocabulary) {
    const { pieceData, pieceOffsets, scores } = vocabulary;
    this.vocabSize = scores.length;
    this.maxTokenLength = vocabulary.maxTokenLength;
    this.pieceData = pieceData;
    this.pieceOffsets = pieceOffsets;
    const pieces: string[] = [];
    this.displayPieces = [];
    for (let id = 0; id < this.vocabSize; id++) {
      const start = pieceOffsets[id];
      const end = pieceOffsets[id + 1];
      pieces.push(bytesToBinaryString(pieceData, start, end));
      const bytes = pieceData.subarray(start, end);
      const display = decodeUtf8Strict(bytes);
      this.displayPieces.push(display ?? decodeUtf8Lossy(bytes));
      // Pieces that are not valid UTF-8 have no exact string form, so tokenToId cannot name them.
      if (display !== undefined && !this.displayIds.has(display)) this.displayIds.set(display, id);
    }
    this.model = new ScoreBpeModel(pieces, scores);
    for (let byte = 0; byte < 256; byte++)
      this.singleByteIds[byte] = this.model.lookup(String.fromCharCode(byte));
    this.dummyPrefixId = this.singleByteIds[SPACE];
  }

  /**
   * Encodes text as run.c does: optional BOS, a dummy-prefix `" "` token when the text is
   * non-empty, one token per UTF-8 codepoint found in the vocabulary (else one byte-fallback
   * token `byte + 3` per byte), then score-BPE merges over the whole sequence.
   *
   * Text is converted with `TextEncoder`, so lone surrogates become U+FFFD. A NUL character is
   * encoded like any other byte (run.c, reading a C string, would stop there).
   *
   * With `parseSpecialTokens`, `<s>`, `</s>` and `<unk>` in the text become ids 1, 2 and 0; the
   * text between them is encoded and merged separately, and the dummy prefix is added only
   * when the text starts with ordinary (non-special) text.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.run(text, options, undefined);
  }

  /**
   * Encodes `text` and reports, for every id, the UTF-16 range of `text` it stands for (for
   * highlighting tokens); the ids are exactly those of {@link encode}. A byte-fallback token
   * spans its whole character, the dummy-prefix space and BOS have empty ranges, a special
   * token parsed from the text spans its match.
   */
  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodingWithOffsets {
    const offsets: [number, number][] = [];
    const ids = this.run(text, options, offsets);
    return { ids, offsets };
  }

  private run(text: string, options: EncodeOptions, offsets: [number, number][] | undefined): number[] {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(mismatch('text', 'Llama2cTokenizer.encode', 'a string', typeof text));
    }
    const output: number[] = [];
    const head: number[] = options.addSpecialTokens === true ? [BOS_ID] : [];
    if (options.parseSpecialTokens !== true) {
      this.encodeSegment(text, 0, text.length, head, true, output, offsets);
      return output;
    }
    let start = 0;
    for (const match of text.matchAll(SPECIAL_TOKEN_PATTERN)) {
      this.encodeSegment(text, start, match.index, start === 0 ? head : [], start === 0, output, offsets);
      output.push(SPECIAL_TOKEN_IDS[match[0]]);
      offsets?.push([match.index, match.index + match[0].length]);
      start = match.index + match[0].length;
    }
    this.encodeSegment(text, start, text.length, start === 0 ? head : [], start === 0, output, offsets);
    return output;
  }

  /**
   * Decodes ids as run.c prints them: a piece's leading space is dropped when the previous id
   * is BOS (the first id has no previous id), `<0xNN>` pieces are the byte 0xNN, and the bytes
   * are decoded as UTF-8 (invalid sequences become U+FFFD). BOS and EOS print as their pieces
   * (`"\n<s>\n"`, `"\n</s>\n"` in llama2.c files) unless `skipSpecialTokens` drops ids 0, 1
   * and 2; a skipped BOS still strips the next piece's leading space.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens === true;
    const sink = new ByteSink();
    let previousId = -1;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index];
      this.checkId(id, `ids[${index}]`);
      if (!(skip && id <= EOS_ID)) {
        const bytes = this.decodedBytes(id, previousId);
        sink.append(bytes, 0, bytes.length);
      }
      previousId = id;
    }
    return decodeUtf8Lossy(sink.view());
  }

  /** A streaming decoder following the same rules as {@link decode}. */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const skip = options.skipSpecialTokens === true;
    const empty = new Uint8Array(0);
    return createByteStreamDecoder((id, previousId) => {
      this.checkId(id, 'StreamDecoder.push');
      if (skip && id <= EOS_ID) return empty;
      return this.decodedBytes(id, previousId);
    });
  }

  /** The piece of `id` as text (invalid UTF-8 shown as U+FFFD), or undefined when out of range. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.displayPieces[id] : undefined;
  }

  /** The lowest id whose piece, decoded as UTF-8, is `token`; pieces that are not valid UTF-8 never match. */
  tokenToId(token: string): number | undefined {
    return this.displayIds.get(token);
  }

  /** A copy of the raw piece bytes of `id`, or undefined when out of range. */
  pieceBytes(id: number): Uint8Array | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return this.pieceData.slice(this.pieceOffsets[id], this.pieceOffsets[id + 1]);
  }

  /** The merge score of `id`, or undefined when out of range. */
  score(id: number): number | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return this.model.scores[id];
  }

  /** run.c `encode` on one segment, appending to `output`; `head` starts the merge sequence. */
  private encodeSegment(
    whole: string,
    from: number,
    to: number,
    head: number[],
    atTextStart: boolean,
    output: number[],
    offsets: [number, number][] | undefined,
  ): void {
    const text = whole.slice(from, to);
    const first = output.length;
    this.encodeText(text, head, atTextStart, output);
    if (offsets === undefined) return;
    const lengths: number[] = [];
    for (let t = first; t < output.length; t++) {
      const id = output[t];
      const start = this.pieceOffsets[id];
      const end = this.pieceOffsets[id + 1];
      // Head BOS spells no text; a `<0xNN>` piece one byte; any other its bytes.
      lengths.push(
        t === first && head.length > 0 && id === BOS_ID
          ? 0
          : byteTokenValue(this.pieceData, start, end) >= 0
            ? 1
            : end - start,
      );
    }
    const prefixed = atTextStart && text.length > 0 ? 1 : 0;
    byteSpanOffsets(whole, from, to, prefixed, lengths, offsets);
  }

  private encodeText(text: string, head: number[], atTextStart: boolean, output: number[]): void {
    const symbols = head.slice();
    if (atTextStart && text.length > 0) {
      if (this.dummyPrefixId < 0) {
        throw new UnsupportedError(
          'Llama2cTokenizer.encode: the vocabulary has no piece " " for the dummy prefix of non-empty text',
        );
      }
      symbols.push(this.dummyPrefixId);
    }
    const bytes = utf8Encoder.encode(text);
    // run.c groups a non-continuation byte with up to 3 following continuation bytes.
    let length = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) !== 0x80) length = 0;
      length++;
      if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && length < 4) continue;
      const start = i + 1 - length;
      const id =
        length === 1
          ? this.singleByteIds[bytes[i]]
          : this.model.lookup(bytesToBinaryString(bytes, start, i + 1));
      if (id >= 0) {
        symbols.push(id);
      } else {
        for (let j = start; j <= i; j++) symbols.push(this.byteFallbackId(bytes[j]));
      }
      length = 0;
    }
    for (const id of this.model.merge(symbols)) output.push(id);
  }

  private byteFallbackId(byte: number): number {
    const id = byte + BYTE_FALLBACK_OFFSET;
    if (id >= this.vocabSize) {
      throw new UnsupportedError(
        mismatch(
          `byte-fallback id for byte 0x${hex(byte)}`,
          'Llama2cTokenizer.encode',
          `an id below the vocabulary size ${this.vocabSize}`,
          id,
        ),
      );
    }
    return id;
  }

  private checkId(id: number, where: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InvalidArgumentError(
        mismatch('token id', where, `an integer in 0..${this.vocabSize - 1}`, id),
      );
    }
  }

  /** run.c `decode(prev_token, token)`: the bytes printed for `id`. */
  private decodedBytes(id: number, previousId: number): Uint8Array {
    let start = this.pieceOffsets[id];
    const end = this.pieceOffsets[id + 1];
    if (previousId === BOS_ID && start < end && this.pieceData[start] === SPACE) start++;
    const byte = byteTokenValue(this.pieceData, start, end);
    return byte >= 0 ? SINGLE_BYTES.subarray(byte, byte + 1) : this.pieceData.subarray(start, end);
  }
}

/**
 * The byte of a piece spelled exactly `<0xNN>` (uppercase hex), else -1. run.c's
 * `sscanf("<0x%02hhX>")` is looser (lowercase, one digit, no `>`), which no real vocabulary uses.
 */
function byteTokenValue(data: Uint8Array, start: number, end: number): number {
  if (end - start !== 6) return -1;
  // '<' '0' 'x' N N '>'
  if (
    data[start] !== 0x3c ||
    data[start + 1] !== 0x30 ||
    data[start + 2] !== 0x78 ||
    data[start + 5] !== 0x3e
  ) {
    return -1;
  }
  const high = hexDigit(data[start + 3]);
  const low = hexDigit(data[start + 4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
