/**
 * Hugging Face `tokenizer.json` models: one factory dispatching on the JSON `type`. A model
 * turns one pre-tokenized piece (code points) into ids.
 */
import { UnsupportedError } from '@rotor/core';
import {
  asArray,
  asIndex,
  asString,
  child,
  describeJson,
  JsonFields,
  type JsonPlace,
  jsonFail,
} from '../loaders/json-fields.js';
import { codePointsToString, utf8Length, writeUtf8 } from '../unicode/code-points.js';
import { type MergeRule, RankBpeModel } from './rank-bpe.js';
import { UnigramModel } from './unigram.js';
import { WordCache } from './word-cache.js';
import { WordPieceModel } from './word-piece.js';

/** A model over pre-tokenized pieces. */
export interface PieceModel {
  /** Token string → id. */
  readonly vocabulary: ReadonlyMap<string, number>;
  /** The unknown token, when the model has one. */
  readonly unknownToken: string | undefined;
  /**
   * Appends the ids of one piece to `ids`; with `spans`, also each id's code point range
   * `[start, end)` in the piece (a byte token spans its whole character).
   */
  tokenize(cps: Uint32Array, ids: number[], spans?: number[]): void;
}

/** Options of {@link BpePieceModel}. */
export interface BpePieceOptions {
  /** Unknown characters become their UTF-8 bytes as `<0xNN>` tokens when those exist. */
  byteFallback?: boolean;
  /** A piece that is itself a token is emitted whole, without merges. */
  ignoreMerges?: boolean;
  /** Token for characters missing from the vocabulary; without one they are dropped. */
  unknownToken?: string;
  /** Consecutive unknown characters become one unknown token. */
  fuseUnknown?: boolean;
}

/** Kinds of character for {@link BpePieceModel}'s offsets: in the vocabulary. */
const KNOWN = 0;
/** Spelled as byte tokens. */
const BYTES = 1;
/** The unknown token. */
const UNKNOWN = 2;
/** Dropped (no unknown token). */
const DROPPED = 3;

/** Hugging Face `BPE`: characters (or byte fallback / unknown) merged by rank. */
export class BpePieceModel implements PieceModel {
  readonly unknownToken: string | undefined;
  private readonly merges: RankBpeModel;
  private readonly charIds = new Map<number, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly unknownId: number;
  private symbols = new Int32Array(1024);
  private readonly wordCache = new WordCache();
  /** Id → token text and the byte-token ids, made when offsets are first asked for. */
  private texts: (string | undefined)[] | undefined;
  private byteIdsSeen: Set<number> | undefined;

  /**
   * @throws FormatError when a merge names a token missing from the vocabulary.
   */
  constructor(
    readonly vocabulary: ReadonlyMap<string, number>,
    merges: readonly MergeRule[],
    private readonly options: BpePieceOptions,
    source: string,
  ) {
    this.merges = RankBpeModel.fromRules(vocabulary, merges, source);
    this.unknownToken = options.unknownToken;
    this.unknownId = options.unknownToken === undefined ? -1 : (vocabulary.get(options.unknownToken) ?? -1);
    for (let byte = 0; byte < 256; byte++) {
      this.byteIds[byte] = vocabulary.get(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
  }

  tokenize(cps: Uint32Array, ids: number[], spans?: number[]): void {
    const word = spell(cps);
    if (spans !== undefined) {
      const first = ids.length;
      this.tokenizeUncached(word, cps, ids);
      this.spansOf(cps, ids, first, spans);
      return;
    }
    if (this.wordCache.appendTo(word, ids)) return;
    const first = ids.length;
    this.tokenizeUncached(word, cps, ids);
    this.wordCache.remember(word, ids, first);
  }

  /**
   * The code point range of each id from `first` on: a byte token covers its character, an
   * unknown token the run of characters it stands for, any other token as many code points
   * as its text has.
   */
  private spansOf(cps: Uint32Array, ids: readonly number[], first: number, spans: number[]): void {
    const tokens = this.tokenTexts();
    let at = 0;
    let bytesLeft = 0;
    for (let t = first; t < ids.length; t++) {
      const id = ids[t];
      // Characters that produced no symbol (unknown, with no unknown token).
      while (bytesLeft === 0 && at < cps.length && this.charKind(cps[at]) === DROPPED) at++;
      if (bytesLeft === 0 && this.isByteToken(id)) bytesLeft = utf8Length(cps[at]);
      if (bytesLeft > 0) {
        spans.push(at, at + 1);
        if (--bytesLeft === 0) at++;
        continue;
      }
      let end: number;
      if (id === this.unknownId && this.charKind(cps[at]) === UNKNOWN) {
        end = at + 1;
        while (this.options.fuseUnknown && end < cps.length && this.charKind(cps[end]) === UNKNOWN) end++;
      } else {
        end = Math.min(cps.length, at + [...(tokens[id] ?? '')].length);
      }
      spans.push(at, end);
      at = end;
    }
  }

  /** How the model spells `cp`: {@link KNOWN}, {@link BYTES}, {@link UNKNOWN} or {@link DROPPED}. */
  private charKind(cp: number): number {
    if (this.charId(cp) >= 0) return KNOWN;
    if (this.options.byteFallback) {
      const bytes = new Uint8Array(4);
      const length = writeUtf8(cp, bytes, 0);
      let all = true;
      for (let b = 0; b < length; b++) if (this.byteIds[bytes[b]] < 0) all = false;
      if (all) return BYTES;
    }
    return this.unknownId < 0 ? DROPPED : UNKNOWN;
  }

  private isByteToken(id: number): boolean {
    return this.options.byteFallback === true && this.byteIdSet().has(id);
  }

  private byteIdSet(): Set<number> {
    this.byteIdsSeen ??= new Set(Array.from(this.byteIds).filter((id) => id >= 0));
    return this.byteIdsSeen;
  }

  private tokenTexts(): (string | undefined)[] {
    if (this.texts === undefined) {
      this.texts = [];
      for (const [token, id] of this.vocabulary) this.texts[id] ??= token;
    }
    return this.texts;
  }

  private tokenizeUncached(word: string, cps: Uint32Array, ids: number[]): void {
    const { options } = this;
    if (options.ignoreMerges) {
      const whole = this.vocabulary.get(word);
      if (whole !== undefined) {
        ids.push(whole);
        return;
      }
    }
    if (this.symbols.length < 4 * cps.length) this.symbols = new Int32Array(4 * cps.length);
    const symbols = this.symbols;
    let count = 0;
    let pendingUnknown = false;
    const bytes = new Uint8Array(4);
    for (const cp of cps) {
      const id = this.charId(cp);
      if (id >= 0) {
        symbols[count++] = id;
        pendingUnknown = false;
        continue;
      }
      if (options.byteFallback) {
        const length = writeUtf8(cp, bytes, 0);
        let all = true;
        for (let b = 0; b < length; b++) if (this.byteIds[bytes[b]] < 0) all = false;
        if (all) {
          for (let b = 0; b < length; b++) symbols[count++] = this.byteIds[bytes[b]];
          pendingUnknown = false;
          continue;
        }
      }
      if (this.unknownId < 0) continue;
      if (!(pendingUnknown && options.fuseUnknown)) symbols[count++] = this.unknownId;
      pendingUnknown = true;
    }
    count = this.merges.merge(symbols, count);
    for (let i = 0; i < count; i++) ids.push(symbols[i]);
  }

  private charId(cp: number): number {
    let id = this.charIds.get(cp);
    if (id === undefined) {
      id = this.vocabulary.get(String.fromCodePoint(cp)) ?? -1;
      this.charIds.set(cp, id);
    }
    return id;
  }
}

/** The string of a piece's code points (pieces are short, so a plain loop beats spreading). */
function spell(cps: Uint32Array): string {
  let text = '';
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i];
    text += cp < 0x10000 ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return text;
}

/** Hugging Face `WordPiece` over pieces. */
export class WordPiecePieceModel implements PieceModel {
  private readonly model: WordPieceModel;

  constructor(
    readonly vocabulary: ReadonlyMap<string, number>,
    readonly unknownToken: string,
    unknownId: number,
    continuationPrefix: string,
    maxInputChars: number,
  ) {
    this.model = new WordPieceModel(vocabulary, vocabulary.keys(), {
      wordPrefix: '',
      continuationPrefix,
      unknownId,
      maxInputChars,
    });
  }

  tokenize(cps: Uint32Array, ids: number[], spans?: number[]): void {
    // Words past the length limit are unknown without being spelled out.
    const word = cps.length <= 1000 ? codePointsToString(cps) : '';
    const ends: number[] | undefined = spans === undefined ? undefined : [];
    this.model.encodeWord(word, cps.length, ids, ends);
    if (spans === undefined || ends === undefined) return;
    let start = 0;
    for (const end of ends) {
      spans.push(start, end);
      start = end;
    }
  }
}

/** The `vocab` object as a map, checking ids are non-negative integers. */
function readVocabulary(value: unknown, place: JsonPlace): Map<string, number> {
  const vocab = new JsonFields(value, place).object;
  const map = new Map<string, number>();
  for (const token of Object.keys(vocab)) map.set(token, asIndex(vocab[token], child(place, token)));
  return map;
}

/** `merges` as `"a b"` strings or `[a, b]` pairs. */
function readMerges(value: unknown, place: JsonPlace): MergeRule[] {
  return asArray(value, place).map((merge, index) => {
    const at = child(place, index);
    if (typeof merge === 'string') {
      const space = merge.indexOf(' ', 1);
      if (space < 0) jsonFail(at, 'two tokens separated by a space', merge);
      return [merge.slice(0, space), merge.slice(space + 1)] as const;
    }
    const pair = asArray(merge, at);
    if (pair.length !== 2) jsonFail(at, 'a pair [left, right]', `an array of ${pair.length}`);
    return [asString(pair[0], child(at, 0)), asString(pair[1], child(at, 1))] as const;
  });
}

/**
 * Builds the model of a `model` JSON value: `BPE` (merges as strings or pairs, byte_fallback,
 * ignore_merges, unk_token, fuse_unk), `WordPiece` or `Unigram` (vocab of `[token, score]`,
 * unk_id, byte_fallback).
 *
 * @throws FormatError for malformed values (merges or unk_token naming unknown tokens);
 *   UnsupportedError for WordLevel, BPE dropout or subword prefixes/suffixes.
 */
export function createModel(value: unknown, place: JsonPlace): PieceModel {
  const fields = new JsonFields(value, place);
  // Older files leave out the model type; BPE and WordPiece are told apart by their keys.
  const type =
    fields.string('type', undefined) ??
    (fields.raw('merges') !== undefined
      ? 'BPE'
      : fields.raw('continuing_subword_prefix') !== undefined
        ? 'WordPiece'
        : '');
  const vocabulary = () =>
    readVocabulary(fields.required('vocab', 'an object token → id'), fields.at('vocab'));
  const unknown = (map: Map<string, number>) => {
    const token = fields.string('unk_token', undefined);
    if (token !== undefined && !map.has(token))
      jsonFail(fields.at('unk_token'), 'a token of the vocabulary', token);
    return token;
  };
  switch (type) {
    case 'BPE': {
      const map = vocabulary();
      const dropout = fields.raw('dropout');
      if (dropout !== undefined && dropout !== 0) {
        throw new UnsupportedError(
          `${place.source}: "${fields.at('dropout').path}": BPE dropout is not supported`,
          {
            details: { source: place.source },
          },
        );
      }
      for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) {
        const affix = fields.string(key, '');
        if (affix !== '') {
          throw new UnsupportedError(
            `${place.source}: "${fields.at(key).path}": BPE ${key} "${affix}" is not supported`,
            {
              details: { source: place.source },
            },
          );
        }
      }
      return new BpePieceModel(
        map,
        readMerges(fields.required('merges', 'an array of merges'), fields.at('merges')),
        {
          byteFallback: fields.boolean('byte_fallback', false),
          ignoreMerges: fields.boolean('ignore_merges', false),
          unknownToken: unknown(map),
          fuseUnknown: fields.boolean('fuse_unk', false),
        },
        `${place.source}: ${fields.at('merges').path}`,
      );
    }
    case 'WordPiece': {
      const map = vocabulary();
      const token = unknown(map);
      if (token === undefined) jsonFail(fields.at('unk_token'), 'a token of the vocabulary', 'nothing');
      return new WordPiecePieceModel(
        map,
        token,
        map.get(token)!,
        fields.string('continuing_subword_prefix', '##'),
        fields.index('max_input_chars_per_word', 100),
      );
    }
    case 'Unigram': {
      const vocabPlace = fields.at('vocab');
      const entries = fields.array('vocab').map((entry, index) => {
        const at = child(vocabPlace, index);
        const pair = asArray(entry, at);
        if (pair.length !== 2) jsonFail(at, 'a pair [token, score]', `an array of ${pair.length}`);
        const score = pair[1];
        if (typeof score !== 'number' || !Number.isFinite(score))
          jsonFail(child(at, 1), 'a finite number', describeJson(score));
        return [asString(pair[0], child(at, 0)), score] as const;
      });
      if (entries.length === 0) jsonFail(vocabPlace, 'at least one entry', 'an empty array');
      const unknownValue = fields.raw('unk_id');
      const unknownId =
        unknownValue === undefined || unknownValue === null ? undefined : fields.index('unk_id');
      if (unknownId !== undefined && unknownId >= entries.length)
        jsonFail(fields.at('unk_id'), `an id below ${entries.length}`, unknownId);
      return new UnigramModel(entries, { unknownId, byteFallback: fields.boolean('byte_fallback', false) });
    }
    default:
      throw new UnsupportedError(
        `${place.source}: "${fields.at('type').path}": model type "${type}" is not supported yet`,
        {
          details: { source: place.source, type },
        },
      );
  }
}
