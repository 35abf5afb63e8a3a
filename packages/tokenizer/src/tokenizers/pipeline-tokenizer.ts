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
import type { Normalizer } from '../normalizers/from-json.js';
import type { PostProcessor } from '../post-processors/from-json.js';
import type { Piece, PreTokenizer } from '../pre-tokenizers/from-json.js';
import { codePointFlags, LETTER, MARK, NUMBER, toCodePoints, WHITESPACE } from '../unicode/code-points.js';

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
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(mismatch('text', 'PipelineTokenizer.encode', 'a string', typeof text));
    }
    const ids: number[] = [];
    const addSpecial = options.addSpecialTokens === true;
    if (addSpecial) ids.push(...this.data.postProcessor.prefix);
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
        if (from > start) this.encodeSegment(text.slice(start, from), start === 0, ids);
        ids.push(token.id);
        start = to;
        pattern.lastIndex = to;
        match = pattern.exec(text);
      }
    }
    if (start < text.length) this.encodeSegment(text.slice(start), start === 0, ids);
    if (addSpecial) ids.push(...this.data.postProcessor.suffix);
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

  private encodeSegment(segment: string, atStart: boolean, ids: number[]): void {
    const { normalizer, preTokenizer, model } = this.data;
    const normalized = normalizer === undefined ? segment : normalizer(segment);
    if (normalized.length === 0) return;
    let pieces: Piece[] = [{ cps: toCodePoints(normalized), atStart }];
    if (preTokenizer !== undefined) pieces = preTokenizer(pieces);
    for (const piece of pieces) model.tokenize(piece.cps, ids);
  }
}

/** One regex matching any of `tokens`, longest first (leftmost-longest, as Aho-Corasick). */
function addedPattern(tokens: readonly AddedToken[]): RegExp | undefined {
  const texts = tokens.map((token) => token.content).filter((text) => text.length > 0);
  if (texts.length === 0) return undefined;
  texts.sort((a, b) => b.length - a.length);
  return new RegExp(texts.map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
}
