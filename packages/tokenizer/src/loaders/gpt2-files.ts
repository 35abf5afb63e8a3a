/**
 * OpenAI's vocabulary files: GPT-2 `encoder.json` + `vocab.bpe`, and tiktoken rank files
 * (`base64-token rank` per line). Both become {@link PipelineTokenizer}s with the byte-level
 * stages the `tokenizer.json` loader uses.
 */
import { FormatError, InvalidArgumentError, mismatch, UnsupportedError } from '@rotor/core';
import { byteLevelDecoder } from '../decoders/from-json.js';
import type { PieceModel } from '../models/from-json.js';
import { ScoreBpeModel } from '../models/score-bpe.js';
import { WordCache } from '../models/word-cache.js';
import { NO_POST_PROCESSING } from '../post-processors/from-json.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from '../pre-tokenizers/byte-level.js';
import {
  byteLevelMap,
  type Piece,
  type PreTokenizer,
  scannerMatches,
  splitPieces,
} from '../pre-tokenizers/from-json.js';
import {
  gpt2Matcher,
  llama3Matcher,
  o200kMatcher,
  type SplitMatcher,
} from '../pre-tokenizers/split-rules.js';
import { type AddedToken, PipelineTokenizer } from '../tokenizers/pipeline-tokenizer.js';
import { JsonFields } from './json-fields.js';
import { type JsonInput, loadTokenizerJson, parseJsonInput } from './tokenizer-json.js';

const END_OF_TEXT = '<|endoftext|>';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(input: string | Uint8Array, source: string): string {
  if (typeof input === 'string') return input;
  try {
    return utf8.decode(input);
  } catch (cause) {
    throw new FormatError(mismatch('encoding', source, 'UTF-8 text', 'invalid UTF-8'), {
      cause,
      details: { source },
    });
  }
}

/**
 * Builds GPT-2's tokenizer from `encoder.json` (token → id) and `vocab.bpe` (a `#version`
 * line, then one merge `left right` per line in rank order): byte-level split and alphabet,
 * rank BPE, byte-level decoding. `<|endoftext|>` is a special token (parsed only with
 * `parseSpecialTokens`) and, when present, BOS, EOS and unknown.
 *
 * @throws FormatError for malformed files or merges naming unknown tokens.
 */
export function loadGpt2Tokenizer(encoderJson: JsonInput, vocabBpe: string | Uint8Array): PipelineTokenizer {
  const vocab = new JsonFields(parseJsonInput(encoderJson, 'encoder.json'), {
    source: 'encoder.json',
    path: '',
  }).object;
  const lines = asText(vocabBpe, 'vocab.bpe').split('\n');
  const merges: string[] = [];
  lines.forEach((line, index) => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed === '' || (index === 0 && trimmed.startsWith('#version'))) return;
    if (trimmed.indexOf(' ', 1) < 0) {
      throw new FormatError(mismatch(`line ${index + 1}`, 'vocab.bpe', 'a merge "left right"', trimmed), {
        details: { source: 'vocab.bpe', line: index + 1 },
      });
    }
    merges.push(trimmed);
  });
  const endOfText = vocab[END_OF_TEXT];
  const hasEnd = typeof endOfText === 'number';
  const tokenizer = loadTokenizerJson(
    {
      model: { type: 'BPE', vocab, merges },
      added_tokens: hasEnd ? [{ id: endOfText, content: END_OF_TEXT, special: true }] : [],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
      decoder: { type: 'ByteLevel' },
    },
    {
      source: 'encoder.json + vocab.bpe',
      tokenizerConfig: hasEnd
        ? { bos_token: END_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT }
        : {},
    },
  );
  return tokenizer;
}

/** Split patterns of tiktoken encodings {@link loadTiktokenRanks} knows. */
export type TiktokenPattern = 'gpt2' | 'r50k' | 'p50k' | 'cl100k' | 'o200k';

/** Made on use: the o200k matcher allocates a Unicode table. */
const TIKTOKEN_PATTERNS: Record<string, () => SplitMatcher> = {
  gpt2: () => gpt2Matcher,
  r50k: () => gpt2Matcher,
  p50k: () => gpt2Matcher,
  cl100k: () => llama3Matcher({ maxDigits: 3, wholeTrailingWhitespace: true }),
  o200k: o200kMatcher,
};

/** Options of {@link loadTiktokenRanks}. */
export interface TiktokenLoadOptions {
  /** The encoding's split pattern. */
  pattern: TiktokenPattern;
  /** Special tokens and their ids (e.g. `{ '<|endoftext|>': 50256 }`); parsed only with `parseSpecialTokens`. */
  specialTokens?: Readonly<Record<string, number>>;
  /** Name of the data in error messages. Default `"ranks.tiktoken"`. */
  source?: string;
}

/**
 * tiktoken's merge rule: repeatedly merge the adjacent pair whose concatenation has the
 * lowest rank (leftmost on ties) — score BPE with score = -rank — after taking a piece that
 * is itself a token whole.
 */
class TiktokenPieceModel implements PieceModel {
  readonly unknownToken = undefined;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly bpe: ScoreBpeModel;
  private readonly wordCache = new WordCache();

  constructor(
    readonly vocabulary: ReadonlyMap<string, number>,
    pieces: readonly string[],
    scores: Float32Array,
  ) {
    this.bpe = new ScoreBpeModel(pieces, scores, { mergeScoreFloor: Number.NEGATIVE_INFINITY });
    for (let byte = 0; byte < 256; byte++) this.byteIds[byte] = this.bpe.lookup(String.fromCharCode(byte));
  }

  tokenize(cps: Uint32Array, ids: number[], spans?: number[]): void {
    const first = ids.length;
    this.tokenizeBytes(cps, ids);
    if (spans === undefined) return;
    // Piece code points are bytes, and a token spans as many as it has.
    let at = 0;
    for (let t = first; t < ids.length; t++) {
      const end = at + this.bpe.pieces[ids[t]].length;
      spans.push(at, end);
      at = end;
    }
  }

  private tokenizeBytes(cps: Uint32Array, ids: number[]): void {
    let spelled = '';
    for (const cp of cps) spelled += String.fromCharCode(cp);
    const whole = this.vocabulary.get(spelled);
    if (whole !== undefined) {
      ids.push(whole);
      return;
    }
    if (this.wordCache.appendTo(spelled, ids)) return;
    const first = ids.length;
    const symbols: number[] = [];
    for (const cp of cps) symbols.push(this.byteIds[CHAR_TO_BYTE[cp]]);
    for (const id of this.bpe.merge(symbols)) ids.push(id);
    this.wordCache.remember(spelled, ids, first);
  }
}

/**
 * Builds a tokenizer from a tiktoken rank file (`<base64 bytes> <rank>` per line, as
 * `cl100k_base.tiktoken`). Tokens are shown in GPT-2's byte alphabet (`idToToken`).
 *
 * @throws FormatError for malformed lines, duplicate tokens or ranks, or a missing single
 *   byte; UnsupportedError for an unknown pattern name.
 */
export function loadTiktokenRanks(
  text: string | Uint8Array,
  options: TiktokenLoadOptions,
): PipelineTokenizer {
  const source = options.source ?? 'ranks.tiktoken';
  const matcher = Object.hasOwn(TIKTOKEN_PATTERNS, options.pattern)
    ? TIKTOKEN_PATTERNS[options.pattern]()
    : undefined;
  if (matcher === undefined) {
    throw new UnsupportedError(
      `${source}: tiktoken pattern "${options.pattern}" is not supported (supported: ${Object.keys(TIKTOKEN_PATTERNS).join(', ')})`,
      { details: { source, pattern: options.pattern } },
    );
  }
  const fail: (line: number, expected: string, found: unknown) => never = (line, expected, found) => {
    throw new FormatError(mismatch(`line ${line}`, source, expected, found), { details: { source, line } });
  };
  const binary: string[] = [];
  const lines = asText(text, source).split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].endsWith('\r') ? lines[index].slice(0, -1) : lines[index];
    if (line === '') continue;
    const match = /^([A-Za-z0-9+/]*={0,2}) (\d+)$/.exec(line);
    if (match === null || match[1].length % 4 !== 0) fail(index + 1, '"<base64> <rank>"', line);
    const rank = Number(match[2]);
    // Ranks are dense, so one beyond the line count means a corrupt file (and bounds the tables).
    if (rank >= lines.length) fail(index + 1, `a rank below the line count ${lines.length}`, match[2]);
    if (binary[rank] !== undefined) fail(index + 1, 'a rank used once', rank);
    binary[rank] = atob(match[1]);
  }
  for (const [content, id] of Object.entries(options.specialTokens ?? {})) {
    if (!Number.isInteger(id) || id < 0 || id > lines.length + 65_536) {
      throw new InvalidArgumentError(
        mismatch(`special token ${JSON.stringify(content)}`, source, 'an id near the vocabulary', id),
      );
    }
  }
  const size = Math.max(binary.length, ...Object.values(options.specialTokens ?? {}).map((id) => id + 1));
  const pieces: string[] = [];
  const scores = new Float32Array(size).fill(Number.NEGATIVE_INFINITY);
  const vocabulary = new Map<string, number>();
  const tokens: (string | undefined)[] = new Array(size).fill(undefined);
  for (let rank = 0; rank < size; rank++) {
    const bytes = binary[rank];
    // A hole gets a piece no merge can produce.
    pieces.push(bytes ?? `\u0100${rank}`);
    if (bytes === undefined) continue;
    scores[rank] = -rank;
    let spelled = '';
    for (let i = 0; i < bytes.length; i++) spelled += String.fromCharCode(BYTE_TO_CHAR[bytes.charCodeAt(i)]);
    if (vocabulary.has(spelled)) fail(rank + 1, 'unique tokens', `${JSON.stringify(spelled)} twice`);
    vocabulary.set(spelled, rank);
    tokens[rank] = spelled;
  }
  for (let byte = 0; byte < 256; byte++) {
    if (!vocabulary.has(String.fromCharCode(BYTE_TO_CHAR[byte]))) {
      throw new FormatError(
        mismatch('single-byte tokens', source, 'every byte 0..255 as a token', `no token for byte ${byte}`),
        {
          details: { source },
        },
      );
    }
  }
  const addedTokens: AddedToken[] = Object.entries(options.specialTokens ?? {}).map(([content, id]) => ({
    id,
    content,
    special: true,
    leftStrip: false,
    rightStrip: false,
    singleWord: false,
  }));
  const tokenIds = new Map(vocabulary);
  for (const token of addedTokens) {
    tokens[token.id] = token.content;
    tokenIds.set(token.content, token.id);
  }
  const find = scannerMatches(matcher);
  const split = (pieces: Piece[]) => splitPieces(pieces, find, 'Isolated');
  const preTokenizer: PreTokenizer = (input) => byteLevelMap(split(input));
  return new PipelineTokenizer({
    tokens,
    tokenIds,
    addedTokens,
    specialTokens: {},
    normalizer: undefined,
    preTokenizer,
    model: new TiktokenPieceModel(vocabulary, pieces, scores),
    postProcessor: NO_POST_PROCESSING,
    decoder: byteLevelDecoder,
  });
}
