/**
 * A tokenizer assembled from pipeline stages, as Hugging Face `tokenizers` runs them: added
 * tokens are cut out of the text first, each remaining segment is normalized, pre-tokenized
 * into pieces and tokenized by the model; special tokens are wrapped around when asked.
 * Decoding maps ids to token strings and runs the decoder chain.
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
import type { Decoder } from '../decoders/from-json.js';
import type { PieceModel } from '../models/from-json.js';
import { alignedFromString, spanOf } from '../normalizers/aligned-text.js';
import type { Normalizer } from '../normalizers/from-json.js';
import type { PostProcessor } from '../post-processors/from-json.js';
import type { Piece, PreTokenizer } from '../pre-tokenizers/from-json.js';
import { codePointFlags, LETTER, MARK, NUMBER, toCodePoints, WHITESPACE } from '../unicode/code-points.js';
import type { EncodingWithOffsets } from './gguf-tokenizer.js';

/** A token matched in the text before normalization (`added_tokens` of `tokenizer.json`). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Special tokens are matched only with `parseSpecialTokens` and dropped by `skipSpecialTokens`. */
  readonly special: boolean;
  /** The match takes the whitespace on its left. */
  readonly leftStrip: boolean;
  /** The match takes the whitespace on its right. */
  readonly rightStrip: boolean;
  /** Only matched when not inside a word. */
  readonly singleWord: boolean;
}

/** The stages and vocabulary of a {@link PipelineTokenizer}. */
export interface PipelineTokenizerData {
  /** Id → token string (model vocabulary and added tokens); holes are ids with no token. */
  readonly tokens: readonly (string | undefined)[];
  /** Token string → id (added tokens win). */
  readonly tokenIds: ReadonlyMap<string, number>;
  readonly addedTokens: readonly AddedToken[];
  readonly specialTokens: SpecialTokenIds;
  readonly normalizer: Normalizer | undefined;
  readonly preTokenizer: PreTokenizer | undefined;
  readonly model: PieceModel;
  readonly postProcessor: PostProcessor;
  /** Without a decoder, tokens are joined with spaces (as `tokenizers` does). */
  readonly decoder: Decoder | undefined;
}

function isWordChar(cp: number): boolean {
  return (codePointFlags(cp) & (LETTER | NUMBER | MARK)) !== 0 || cp === 0x5f;
}

function isSpaceAt(text: string, index: number): boolean {
  return index >= 0 && index < text.length && (codePointFlags(text.codePointAt(index)!) & WHITESPACE) !== 0;
}

/**
 * A pipeline tokenizer (Hugging Face `tokenizer.json`, GPT-2 `encoder.json` + `vocab.bpe`,
 * tiktoken ranks). Create it with `loadTokenizerJson`, `loadGpt2Tokenizer` or
 * `loadTiktokenRanks`. Lone surrogates in the text are encoded as U+FFFD.
 */
export class PipelineTokenizer implements Tokenizer {
  /** One more than the largest id. */
  readonly vocabSize: number;
  /** Special ids (from `tokenizer_config.json` when given, else the model's unknown token). */
  readonly specialTokens: SpecialTokenIds;
  private readonly data: PipelineTokenizerData;
  private readonly alwaysPattern: RegExp | undefined;
  private readonly parsedPattern: RegExp | undefined;
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly specialIds = new Set<number>();

  constructor(data: PipelineTokenizerData) {
    this.data = data;
    this.vocabSize = data.tokens.length;
    this.specialTokens = data.specialTokens;
    for (const token of data.addedTokens) {
      this.addedByContent.set(token.content, token);
      if (token.special) this.specialIds.add(token.id);
    }
    this.alwaysPattern = addedPattern(data.addedTokens.filter((token) => !token.special));
    this.parsedPattern = addedPattern(data.addedTokens);
  }

  /**
   * Encodes `text`. `parseSpecialTokens` matches special added tokens in the text (non-special
   * added tokens are always matched); `addSpecialTokens` applies the post-processor template.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.run(text, options, undefined);
  }

  /**
   * Encodes `text` and reports, for every id, the UTF-16 range of `text` it stands for (for
   * highlighting tokens); the ids are exactly those of {@link encode}. Ranges follow each
   * character through normalization and pre-tokenization: a token holding part of a character
   * (byte fallback, byte-level pieces) spans the whole character, inserted text (a prepended
   * `▁`) adds nothing, and template tokens get an empty range at the start or end.
   */
  encodeWithOffsets(text: string, options: EncodeOptions = {}): EncodingWithOffsets {
    const offsets: [number, number][] = [];
    const ids = this.run(text, options, offsets);
    return { ids, offsets };
  }

  private run(text: string, options: EncodeOptions, offsets: [number, number][] | undefined): number[] {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(mismatch('text', 'PipelineTokenizer.encode', 'a string', typeof text));
    }
    const ids: number[] = [];
    const addSpecial = options.addSpecialTokens === true;
    if (addSpecial) {
      ids.push(...this.data.postProcessor.prefix);
      for (let i = 0; i < this.data.postProcessor.prefix.length; i++) offsets?.push([0, 0]);
    }
    const pattern = options.parseSpecialTokens === true ? this.parsedPattern : this.alwaysPattern;
    let start = 0;
    if (pattern !== undefined) {
      pattern.lastIndex = 0;
      let match = pattern.exec(text);
      while (match !== null) {
        const token = this.addedByContent.get(match[0])!;
        let from = match.index;
        let to = from + match[0].length;
        const before = from > 0 ? text.codePointAt(from - 1)! : -1;
        const after = to < text.length ? text.codePointAt(to)! : -1;
        if (token.singleWord && ((before >= 0 && isWordChar(before)) || (after >= 0 && isWordChar(after)))) {
          pattern.lastIndex = match.index + 1;
          match = pattern.exec(text);
          continue;
        }
        if (token.leftStrip) while (from > start && isSpaceAt(text, from - 1)) from--;
        if (token.rightStrip) while (isSpaceAt(text, to)) to++;
        if (from > start) this.encodeSegment(text, start, from, start === 0, ids, offsets);
        ids.push(token.id);
        offsets?.push([from, to]);
        start = to;
        pattern.lastIndex = to;
        match = pattern.exec(text);
      }
    }
    if (start < text.length) this.encodeSegment(text, start, text.length, start === 0, ids, offsets);
    if (addSpecial) {
      ids.push(...this.data.postProcessor.suffix);
      for (let i = 0; i < this.data.postProcessor.suffix.length; i++)
        offsets?.push([text.length, text.length]);
    }
    return ids;
  }

  /** Decodes ids through the decoder chain; `skipSpecialTokens` drops special added tokens. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    const skip = options.skipSpecialTokens === true;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index];
      const token = this.tokenOf(id, `ids[${index}]`);
      if (!(skip && this.specialIds.has(id))) tokens.push(token);
    }
    const { decoder } = this.data;
    return decoder === undefined ? tokens.join(' ') : decoder(tokens).join('');
  }

  /**
   * A streaming decoder that re-decodes a short window of recent ids, as `tokenizers`'
   * `DecodeStream` does: text is emitted once it no longer ends in U+FFFD (an incomplete
   * character), and the window is cut after each emission, so a push costs O(window).
   */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    let window: number[] = [];
    let prefixLength = 0;
    let prefixText = '';
    return {
      push: (id) => {
        this.tokenOf(id, 'StreamDecoder.push');
        window.push(id);
        const text = this.decode(window, options);
        if (text.length <= prefixText.length || text.endsWith('\uFFFD')) return '';
        const fresh = text.slice(prefixText.length);
        window = window.slice(prefixLength);
        prefixLength = window.length;
        prefixText = this.decode(window, options);
        return fresh;
      },
      flush: () => {
        const text = this.decode(window, options);
        const rest = text.length > prefixText.length ? text.slice(prefixText.length) : '';
        window = [];
        prefixLength = 0;
        prefixText = '';
        return rest;
      },
    };
  }

  /** The token string of `id`, or undefined when out of range. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.data.tokens[id] : undefined;
  }

  /** The id of a token string (model vocabulary or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.data.tokenIds.get(token);
  }

  private tokenOf(id: number, where: string): string {
    const token = this.idToToken(id);
    if (token === undefined) {
      throw new InvalidArgumentError(
        mismatch('token id', where, `an id of the vocabulary (0..${this.vocabSize - 1})`, id),
      );
    }
    return token;
  }

  private encodeSegment(
    text: string,
    start: number,
    end: number,
    atStart: boolean,
    ids: number[],
    offsets: [number, number][] | undefined,
  ): void {
    const { normalizer, preTokenizer, model } = this.data;
    const segment = text.slice(start, end);
    if (offsets === undefined) {
      const normalized = normalizer === undefined ? segment : normalizer(segment);
      if (normalized.length === 0) return;
      let pieces: Piece[] = [{ cps: toCodePoints(normalized), atStart }];
      if (preTokenizer !== undefined) pieces = preTokenizer(pieces);
      for (const piece of pieces) model.tokenize(piece.cps, ids);
      return;
    }
    let aligned = alignedFromString(segment, start);
    if (normalizer !== undefined) aligned = normalizer.align(aligned);
    if (aligned.cps.length === 0) return;
    let pieces: Piece[] = [{ cps: aligned.cps, atStart, spans: aligned.spans }];
    if (preTokenizer !== undefined) pieces = preTokenizer(pieces);
    for (const piece of pieces) {
      const first = ids.length;
      const spans: number[] = [];
      model.tokenize(piece.cps, ids, spans);
      const pieceText = { cps: piece.cps, spans: piece.spans! };
      for (let t = 0; t < ids.length - first; t++)
        offsets.push(spanOf(pieceText, spans[2 * t], spans[2 * t + 1]));
    }
  }
}

/** One regex matching any of `tokens`, longest first (leftmost-longest, as Aho-Corasick). */
function addedPattern(tokens: readonly AddedToken[]): RegExp | undefined {
  const texts = tokens.map((token) => token.content).filter((text) => text.length > 0);
  if (texts.length === 0) return undefined;
  texts.sort((a, b) => b.length - a.length);
  return new RegExp(texts.map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
}
