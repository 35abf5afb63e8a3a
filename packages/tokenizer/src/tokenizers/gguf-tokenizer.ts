/**
 * Tokenizers for the vocabularies llama.cpp stores in GGUF files (`tokenizer.ggml.*`):
 * SentencePiece BPE (`llama`), byte-level BPE (`gpt2`) and WordPiece (`bert`), matching the
 * Hugging Face `tokenizers` encodings llama.cpp tests against.
 */
import {
  type DecodeOptions,
  type EncodeOptions,
  InvalidArgumentError,
  mismatch,
  type SpecialTokenIds,
  type StreamDecoder,
  type Tokenizer,
} from '@rotor/core';
import { ByteLevelDecoder } from '../decoders/byte-level-decoder.js';
import { createByteStreamDecoder } from '../decoders/byte-stream-decoder.js';
import { type PackedDecodeRules, PackedDecoder, TokenBytes } from '../decoders/token-bytes.js';
import type { RankBpeModel } from '../models/rank-bpe.js';
import type { ScoreBpeModel } from '../models/score-bpe.js';
import type { TokenLookup } from '../models/token-index.js';
import { type TokenList, TokenTable } from '../models/token-table.js';
import { CodePointWordCache, HASH_SEED, hashCodePoint } from '../models/word-cache.js';
import type { WordPieceModel } from '../models/word-piece.js';
import { normalizeBert } from '../normalizers/bert-normalizer.js';
import { splitBertWords } from '../pre-tokenizers/bert-pre-tokenizer.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from '../pre-tokenizers/byte-level.js';
import { applyRule, type SplitPreset } from '../pre-tokenizers/split-rules.js';
import { toCodePoints, utf8Length, writeUtf8 } from '../unicode/code-points.js';

/** GGUF token types (`tokenizer.ggml.token_type`), as llama.cpp numbers them. */
export const GGUF_TOKEN_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** Special ids of a GGUF vocabulary: the core set plus BERT's separator, classifier and mask. */
export interface GgufSpecialTokenIds extends SpecialTokenIds {
  readonly separator?: number;
  readonly classifier?: number;
  readonly mask?: number;
}

/** The merge model and pre-tokenization of one vocabulary kind. */
export type GgufTokenizerModel =
  | { readonly kind: 'llama'; readonly model: ScoreBpeModel; readonly addSpacePrefix: boolean }
  | {
      readonly kind: 'gpt2';
      readonly model: RankBpeModel;
      readonly preset: SplitPreset;
      readonly pre: string;
    }
  | {
      readonly kind: 'bert';
      readonly model: WordPieceModel;
      readonly lowercase: boolean;
      readonly stripAccents: boolean;
    };

/** Everything a {@link GgufTokenizer} needs, as the GGUF loader validated it. */
export interface GgufTokenizerData {
  /** Token texts; a {@link TokenTable} keeps them as UTF-8 until asked. */
  readonly tokens: TokenList;
  readonly tokenTypes: Int32Array;
  readonly tokenIds: TokenLookup;
  readonly specialTokens: GgufSpecialTokenIds;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** BERT: append the separator after the text. */
  readonly addSep: boolean;
  readonly model: GgufTokenizerModel;
}

/** A token id with the UTF-16 range `[start, end)` of the input text it came from. */
export interface EncodingWithOffsets {
  /** The ids, as `encode` returns them. */
  readonly ids: number[];
  /**
   * Per id, `[start, end)` in UTF-16 code units of the input. Special tokens added by
   * `addSpecialTokens` get an empty range at the start or end; a token holding only part of
   * a character (byte fallback, byte-level pieces) spans the whole character; the dummy-prefix
   * space of SentencePiece has an empty range at the start of its segment.
   */
  readonly offsets: [number, number][];
}

const SPACE = 0x20;
/** Longer BERT words are never spelled out: WordPiece maps them to [UNK] anyway. */
const MAX_SPELLED_WORD = 1000;
const METASPACE = '\u2581';
const EMPTY = new Uint8Array(0);
const utf8Encoder = new TextEncoder();

/**
 * A tokenizer over a GGUF vocabulary. Create it with `loadGgufTokenizer`.
 *
 * - `llama`: the text gets a dummy-prefix space (`tokenizer.ggml.add_space_prefix`, default
 *   true; also after every special token), spaces become `▁`, each character is a symbol (or
 *   its UTF-8 bytes as `<0xNN>` tokens when it is not in the vocabulary), then score-BPE.
 * - `gpt2`: the text is split by the pre-tokenizer of `tokenizer.ggml.pre`, each piece is
 *   spelled in GPT-2's byte alphabet and merged by rank.
 * - `bert`: BERT normalization (lowercase and accent stripping unless the vocabulary says
 *   otherwise), whitespace/punctuation split, WordPiece.
 *
 * User-defined tokens are always matched in the text; control and unknown tokens only with
 * `parseSpecialTokens`. Lone surrogates are replaced by U+FFFD before encoding.
 */
export class GgufTokenizer implements Tokenizer {
  /** Number of tokens. */
  readonly vocabSize: number;
  /** Special ids from the metadata (or the model's defaults). */
  readonly specialTokens: GgufSpecialTokenIds;
  /** `tokenizer.ggml.model`: `llama`, `gpt2` or `bert`. */
  readonly kind: 'llama' | 'gpt2' | 'bert';
  private readonly data: GgufTokenizerData;
  private readonly alwaysSpecial: RegExp | undefined;
  private readonly parsedSpecial: RegExp | undefined;
  private pieces: TokenBytes | undefined;
  private rules: PackedDecodeRules | undefined;
  private decoder: PackedDecoder | ByteLevelDecoder | undefined;
  /** Id of each byte: `<0xNN>` for `llama`, the byte-alphabet character for `gpt2`; -1 when absent. */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly scratch = new Int32Array(4096);
  private readonly wordCache = new CodePointWordCache();

  constructor(data: GgufTokenizerData) {
    this.data = data;
    this.vocabSize = data.tokens.length;
    this.specialTokens = data.specialTokens;
    this.kind = data.model.kind;
    this.alwaysSpecial = specialPattern(data, [GGUF_TOKEN_TYPE.userDefined]);
    this.parsedSpecial = specialPattern(data, [
      GGUF_TOKEN_TYPE.userDefined,
      GGUF_TOKEN_TYPE.control,
      GGUF_TOKEN_TYPE.unknown,
    ]);
    for (let byte = 0; byte < 256; byte++) {
      const name =
        this.kind === 'gpt2'
          ? String.fromCharCode(BYTE_TO_CHAR[byte])
          : `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
      this.byteIds[byte] = data.tokenIds.get(name) ?? -1;
    }
  }

  /** Encodes `text`; see the class description for the rules of each vocabulary kind. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.run(text, options, undefined);
  }

  /**
   * Encodes `text` and reports, for every id, the UTF-16 range of `text` it stands for (for
   * highlighting tokens). The ids are exactly those of {@link encode}.
   */
  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodingWithOffsets {
    const offsets: [number, number][] = [];
    const ids = this.run(text, options, offsets);
    return { ids, offsets };
  }

  /**
   * Decodes ids to text. Byte tokens become raw bytes, `▁` a space, byte-level characters
   * their bytes; invalid UTF-8 becomes U+FFFD. For `llama` and `bert` one leading space of the
   * result is dropped (the dummy prefix / word separator); `bert` also undoes the spaces
   * before punctuation (`" ."` → `"."`), as Hugging Face's clean-up does. With
   * `skipSpecialTokens`, control and unknown tokens are dropped.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    this.decoder ??= this.createDecoder();
    const text = this.decoder.decode(ids, options.skipSpecialTokens === true);
    return this.kind === 'bert' ? cleanUpSpaces(text) : text;
  }

  /** A streaming decoder with the rules of {@link decode} (without the BERT clean-up). */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    let piece = this.pieceReader(options.skipSpecialTokens === true);
    const decoder = createByteStreamDecoder((id) => piece(id, 'StreamDecoder.push'));
    return {
      push: (id) => decoder.push(id),
      flush: () => {
        piece = this.pieceReader(options.skipSpecialTokens === true);
        return decoder.flush();
      },
    };
  }

  /** The token string as stored in the vocabulary, or undefined when out of range. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.data.tokens.at(id) : undefined;
  }

  /** The id of a token string as stored in the vocabulary, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.data.tokenIds.get(token);
  }

  /** The GGUF token type of `id` (see {@link GGUF_TOKEN_TYPE}), or undefined when out of range. */
  tokenType(id: number): number | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.data.tokenTypes[id] : undefined;
  }

  private run(text: string, options: EncodeOptions, offsets: [number, number][] | undefined): number[] {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(mismatch('text', 'GgufTokenizer.encode', 'a string', typeof text));
    }
    const { data } = this;
    const special = options.addSpecialTokens === true;
    const ids: number[] = [];
    const { bos, eos, separator } = data.specialTokens;
    if (special && data.addBos && bos !== undefined) {
      ids.push(bos);
      offsets?.push([0, 0]);
    }
    const pattern = options.parseSpecialTokens === true ? this.parsedSpecial : this.alwaysSpecial;
    let start = 0;
    let afterSpecial = true;
    if (pattern !== undefined) {
      pattern.lastIndex = 0;
      for (const match of text.matchAll(pattern)) {
        if (match.index > start) this.encodeText(text, start, match.index, afterSpecial, ids, offsets);
        ids.push(data.tokenIds.get(match[0])!);
        offsets?.push([match.index, match.index + match[0].length]);
        start = match.index + match[0].length;
        afterSpecial = true;
      }
    }
    if (start < text.length) this.encodeText(text, start, text.length, afterSpecial, ids, offsets);
    if (special && data.addEos && eos !== undefined) {
      ids.push(eos);
      offsets?.push([text.length, text.length]);
    }
    if (special && data.addSep && separator !== undefined) {
      ids.push(separator);
      offsets?.push([text.length, text.length]);
    }
    return ids;
  }

  private encodeText(
    text: string,
    start: number,
    end: number,
    afterSpecial: boolean,
    ids: number[],
    offsets: [number, number][] | undefined,
  ): void {
    const units: number[] | undefined = offsets === undefined ? undefined : [];
    const cps = toCodePoints(text.slice(start, end), units);
    const first = ids.length;
    const model = this.data.model;
    if (model.kind === 'bert') {
      this.encodeBert(
        cps,
        model,
        ids,
        offsets === undefined ? undefined : (s, e) => offsets.push(unitRange(units!, start, s, e)),
      );
      return;
    }
    let prefixed = false;
    if (model.kind === 'llama') {
      prefixed = model.addSpacePrefix && afterSpecial;
      this.encodeLlama(cps, prefixed, model.model, ids);
    } else {
      this.encodeGpt2(cps, model, ids);
    }
    if (offsets !== undefined) this.byteOffsets(cps, units!, start, prefixed, ids, first, offsets);
  }

  private encodeLlama(cps: Uint32Array, prefixed: boolean, model: ScoreBpeModel, ids: number[]): void {
    const symbols: number[] = [];
    const { tokenIds } = this.data;
    if (prefixed) this.pushLlamaSymbol(METASPACE, SPACE, tokenIds, symbols);
    for (const cp of cps) {
      this.pushLlamaSymbol(cp === SPACE ? METASPACE : String.fromCodePoint(cp), cp, tokenIds, symbols);
    }
    for (const id of model.merge(symbols)) ids.push(id);
  }

  private pushLlamaSymbol(char: string, cp: number, tokenIds: TokenLookup, symbols: number[]): void {
    const id = tokenIds.get(char);
    if (id !== undefined) {
      symbols.push(id);
      return;
    }
    const bytes = new Uint8Array(4);
    const length = writeUtf8(cp, bytes, 0);
    for (let i = 0; i < length; i++) {
      const byteId = this.byteIds[bytes[i]];
      symbols.push(byteId >= 0 ? byteId : (this.data.specialTokens.unknown ?? 0));
    }
  }

  private encodeGpt2(
    cps: Uint32Array,
    model: Extract<GgufTokenizerModel, { kind: 'gpt2' }>,
    ids: number[],
  ): void {
    let pieces: number[] = [0, cps.length];
    for (const rule of model.preset.rules) pieces = applyRule(cps, pieces, rule);
    const bytes = new Uint8Array(4);
    for (let p = 0; p < pieces.length; p += 2) {
      const wordStart = pieces[p];
      const wordEnd = pieces[p + 1];
      let byteCount = 0;
      let hash = HASH_SEED;
      for (let i = wordStart; i < wordEnd; i++) {
        const cp = cps[i];
        byteCount += utf8Length(cp);
        hash = hashCodePoint(hash, cp);
      }
      // The piece's code points determine its ids.
      if (this.wordCache.appendTo(cps, wordStart, wordEnd, hash, ids)) continue;
      const first = ids.length;
      const symbols = byteCount <= this.scratch.length ? this.scratch : new Int32Array(byteCount);
      let count = 0;
      let spelled = '';
      for (let i = pieces[p]; i < pieces[p + 1]; i++) {
        const length = writeUtf8(cps[i], bytes, 0);
        for (let b = 0; b < length; b++) {
          const id = this.byteIds[bytes[b]];
          if (model.preset.ignoreMerges) spelled += String.fromCharCode(BYTE_TO_CHAR[bytes[b]]);
          // A byte missing from the vocabulary is dropped, as llama.cpp does.
          if (id >= 0) symbols[count++] = id;
        }
      }
      const whole = model.preset.ignoreMerges ? this.data.tokenIds.get(spelled) : undefined;
      if (whole !== undefined) {
        ids.push(whole);
      } else {
        count = model.model.merge(symbols, count);
        for (let i = 0; i < count; i++) ids.push(symbols[i]);
      }
      this.wordCache.remember(cps, wordStart, wordEnd, hash, ids, first);
    }
  }

  private encodeBert(
    cps: Uint32Array,
    model: Extract<GgufTokenizerModel, { kind: 'bert' }>,
    ids: number[],
    report: ((start: number, end: number) => void) | undefined,
  ): void {
    const normalized = normalizeBert(cps, model);
    const words = splitBertWords(normalized.codePoints);
    const ends: number[] | undefined = report === undefined ? undefined : [];
    for (let w = 0; w < words.length; w += 2) {
      const wordStart = words[w];
      const wordEnd = words[w + 1];
      // Words past WordPiece's length limit become [UNK] without being spelled out.
      const word =
        wordEnd - wordStart <= MAX_SPELLED_WORD
          ? String.fromCodePoint(...normalized.codePoints.slice(wordStart, wordEnd))
          : '';
      const before = ids.length;
      if (ends !== undefined) ends.length = 0;
      model.model.encodeWord(word, wordEnd - wordStart, ids, ends);
      if (report !== undefined && ends !== undefined) {
        let from = wordStart;
        for (let t = 0; t < ids.length - before; t++) {
          const to = wordStart + ends[t];
          report(normalized.sources[from], normalized.sources[to - 1] + 1);
          from = to;
        }
      }
    }
  }

  /** Offsets from the bytes each token spells (`llama`, `gpt2`): their concatenation is the segment. */
  private byteOffsets(
    cps: Uint32Array,
    units: number[],
    base: number,
    prefixed: boolean,
    ids: number[],
    first: number,
    offsets: [number, number][],
  ): void {
    // byteToCodePoint[b]: the code point holding byte b of the segment's UTF-8.
    const byteToCodePoint: number[] = [];
    for (let i = 0; i < cps.length; i++) for (let b = utf8Length(cps[i]); b > 0; b--) byteToCodePoint.push(i);
    let position = prefixed ? -1 : 0;
    for (let t = first; t < ids.length; t++) {
      const length = this.rawPiece(ids[t]).length;
      const from = Math.max(0, position);
      const to = Math.min(byteToCodePoint.length, position + length);
      if (to <= from) {
        const at = units[from < byteToCodePoint.length ? byteToCodePoint[from] : cps.length] + base;
        offsets.push([at, at]);
      } else {
        offsets.push([base + units[byteToCodePoint[from]], base + units[byteToCodePoint[to - 1] + 1]]);
      }
      position += length;
    }
  }

  /** Returns `(id, where) => bytes` following the decode rules; stateful (leading space). */
  private pieceReader(skipSpecial: boolean): (id: number, where: string) => Uint8Array {
    let started = false;
    const { skippable, stripFirstSpace } = this.decodeRules();
    return (id, where) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InvalidArgumentError(
          mismatch('token id', where, `an integer in 0..${this.vocabSize - 1}`, id),
        );
      }
      if (skipSpecial && skippable[id] === 1) return EMPTY;
      let bytes = this.rawPiece(id);
      if (!started && bytes.length > 0) {
        started = true;
        if (stripFirstSpace && bytes[0] === SPACE) bytes = bytes.subarray(1);
      }
      return bytes;
    };
  }

  /** GPT-2's tokens decode straight from their strings' UTF-8; others from their written bytes. */
  private createDecoder(): PackedDecoder | ByteLevelDecoder {
    const { tokens, tokenTypes } = this.data;
    if (this.kind !== 'gpt2' || !(tokens instanceof TokenTable))
      return new PackedDecoder(this.tokenBytes(), this.decodeRules());
    const { control, userDefined, unknown } = GGUF_TOKEN_TYPE;
    return new ByteLevelDecoder(
      tokens.ranges,
      { tokenTypes, textTypes: [control, userDefined], skippableTypes: [control, unknown] },
      this.tokenBytes(),
    );
  }

  /** The bytes token `id` spells (a view, valid until the next token is first met). */
  private rawPiece(id: number): Uint8Array {
    this.decoder ??= this.createDecoder();
    return this.decoder instanceof ByteLevelDecoder ? this.decoder.piece(id) : this.tokenBytes().piece(id);
  }

  /** Every token's bytes, each written when first asked for (loading a vocabulary pays nothing). */
  private tokenBytes(): TokenBytes {
    this.pieces ??= new TokenBytes(this.vocabSize, (id, out, at, room) => this.writePiece(id, out, at, room));
    return this.pieces;
  }

  private decodeRules(): PackedDecodeRules {
    if (this.rules === undefined) {
      const skippable = new Uint8Array(this.vocabSize);
      const types = this.data.tokenTypes;
      for (let id = 0; id < this.vocabSize; id++) {
        if (types[id] === GGUF_TOKEN_TYPE.control || types[id] === GGUF_TOKEN_TYPE.unknown) skippable[id] = 1;
      }
      const stripFirstSpace =
        this.kind === 'bert' || (this.data.model.kind === 'llama' && this.data.model.addSpacePrefix);
      this.rules = { skippable, stripFirstSpace };
    }
    return this.rules;
  }

  /** Writes the bytes of token `id` at `out[at]`; -1 when `room` is too small. */
  private writePiece(id: number, out: Uint8Array, at: number, room: number): number {
    const { tokens } = this.data;
    const type = this.data.tokenTypes[id];
    const byteLevel =
      this.kind === 'gpt2' && type !== GGUF_TOKEN_TYPE.control && type !== GGUF_TOKEN_TYPE.userDefined;
    const token = tokens.at(id)!;
    if (this.kind === 'gpt2') {
      if (byteLevel) {
        if (token.length > room) return -1;
        let i = 0;
        for (; i < token.length; i++) {
          const code = token.charCodeAt(i);
          const byte = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
          if (byte < 0) break;
          out[at + i] = byte;
        }
        if (i === token.length) return i;
      }
      return writeText(token, out, at, room);
    }
    if (type === GGUF_TOKEN_TYPE.byte) {
      const value = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
      if (value !== null) {
        if (room < 1) return -1;
        out[at] = Number.parseInt(value[1], 16);
        return 1;
      }
    }
    if (this.kind === 'bert' && type === GGUF_TOKEN_TYPE.control)
      return writeText(` ${token}`, out, at, room);
    return writeText(token.replaceAll(METASPACE, ' '), out, at, room);
  }
}

/** Writes the UTF-8 of `text` at `out[at]`; -1 when it needs more than `room` bytes. */
function writeText(text: string, out: Uint8Array, at: number, room: number): number {
  if (text.length * 3 > room) return -1;
  return utf8Encoder.encodeInto(text, out.subarray(at)).written;
}

/** `[start, end)` code point range of a segment → UTF-16 range of the whole text. */
function unitRange(units: number[], base: number, start: number, end: number): [number, number] {
  return [base + units[start], base + units[end]];
}

/** One regex matching any token of the given types, longest first. */
function specialPattern(data: GgufTokenizerData, types: readonly number[]): RegExp | undefined {
  const texts: string[] = [];
  for (let id = 0; id < data.tokens.length; id++) {
    const type = data.tokenTypes[id];
    if (type === GGUF_TOKEN_TYPE.normal || !types.includes(type)) continue;
    const text = data.tokens.at(id)!;
    if (text.length > 0) texts.push(text);
  }
  if (texts.length === 0) return undefined;
  texts.sort((a, b) => b.length - a.length);
  return new RegExp(texts.map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
}

/** Hugging Face's `clean_up_tokenization`. */
function cleanUpSpaces(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
