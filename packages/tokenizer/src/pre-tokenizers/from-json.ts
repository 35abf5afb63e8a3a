/**
 * Hugging Face `tokenizer.json` pre-tokenizers: one factory dispatching on the JSON `type`.
 * Pieces are code point arrays; splitting follows `tokenizers`' `split` with its delimiter
 * behaviours, and empty pieces are dropped as there. Regex patterns are mapped onto the
 * linear-time scanners of `split-rules.ts`; an unknown regex is refused rather than run on a
 * backtracking engine.
 */
import { UnsupportedError } from '@rotor/core';
import { child, JsonFields, type JsonPlace, jsonFail } from '../loaders/json-fields.js';
import { literalPattern } from '../normalizers/from-json.js';
import {
  codePointFlags,
  LETTER,
  MARK,
  NUMBER,
  PUNCTUATION,
  SYMBOL,
  WHITESPACE,
  writeUtf8,
} from '../unicode/code-points.js';
import { BYTE_TO_CHAR } from './byte-level.js';
import { classRunMatcher, gpt2Matcher, llama3Matcher, type SplitMatcher } from './split-rules.js';

/** A piece of pre-tokenized text; `atStart` when it begins at offset 0 of the original text. */
export interface Piece {
  readonly cps: Uint32Array;
  readonly atStart: boolean;
  /** When offsets are wanted: code point i came from `[spans[2i], spans[2i + 1])` of the input. */
  readonly spans?: Int32Array;
}

/** Pieces to finer (or transformed) pieces. */
export type PreTokenizer = (pieces: Piece[]) => Piece[];

/** What happens to the delimiters (matches) of a split, as `SplitDelimiterBehavior`. */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

const BEHAVIORS: readonly string[] = [
  'Removed',
  'Isolated',
  'MergedWithPrevious',
  'MergedWithNext',
  'Contiguous',
];

/** Finds the matches of a pattern in `cps` as flat `[start, end)` pairs, in order. */
export type MatchFinder = (cps: Uint32Array) => number[];

/** Split regexes known verbatim, each with its scanner (meaning as in Rust `regex`/Oniguruma). */
const KNOWN_REGEXES: ReadonlyMap<string, SplitMatcher> = new Map([
  ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", gpt2Matcher],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    llama3Matcher({ maxDigits: 3 }),
  ],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    llama3Matcher({ maxDigits: 1 }),
  ],
  ['\\p{N}{1,3}', classRunMatcher(isNumber, { max: 3 })],
  ['\\p{N}', classRunMatcher(isNumber, { max: 1 })],
  ['\\p{N}+', classRunMatcher(isNumber)],
  ['\\d+', classRunMatcher(isNumber)],
]);

function isNumber(cp: number): boolean {
  return (codePointFlags(cp) & NUMBER) !== 0;
}

function isWhitespace(cp: number): boolean {
  return (codePointFlags(cp) & WHITESPACE) !== 0;
}

/** `tokenizers`' `is_bert_punc`: ASCII punctuation or symbols, or Unicode punctuation. */
function isBertPunctuation(cp: number): boolean {
  const flags = codePointFlags(cp);
  return (flags & PUNCTUATION) !== 0 || (cp < 0x7f && (flags & SYMBOL) !== 0);
}

const DECIMAL_OR_CONNECTOR = /[\p{Nd}\p{Pc}]/u;
/** `\w` of Oniguruma: letters, marks, decimal digits, connector punctuation. */
function isWordChar(cp: number): boolean {
  const flags = codePointFlags(cp);
  if (flags & (LETTER | MARK)) return true;
  return (flags & (NUMBER | PUNCTUATION)) !== 0 && DECIMAL_OR_CONNECTOR.test(String.fromCodePoint(cp));
}

/** Matches of a scanner under regex search semantics. */
export function scannerMatches(matcher: SplitMatcher): MatchFinder {
  return (cps) => {
    const out: number[] = [];
    let p = 0;
    while (p < cps.length) {
      const result = matcher(cps, p, cps.length);
      if (result > 0) {
        out.push(p, result);
        p = result;
      } else {
        p = Math.min(-result, cps.length);
      }
    }
    return out;
  };
}

/** Every single code point of a class is a match. */
function charMatches(inClass: (cp: number) => boolean): MatchFinder {
  return (cps) => {
    const out: number[] = [];
    for (let i = 0; i < cps.length; i++) if (inClass(cps[i])) out.push(i, i + 1);
    return out;
  };
}

/** Non-overlapping occurrences of a literal, left to right. */
function literalMatches(literal: string): MatchFinder {
  const needle = Uint32Array.from(literal, (char) => char.codePointAt(0)!);
  return (cps) => {
    const out: number[] = [];
    if (needle.length === 0) return out;
    let i = 0;
    while (i + needle.length <= cps.length) {
      let k = 0;
      while (k < needle.length && cps[i + k] === needle[k]) k++;
      if (k === needle.length) {
        out.push(i, i + needle.length);
        i += needle.length;
      } else {
        i++;
      }
    }
    return out;
  };
}

/**
 * Splits each piece at the matches of `find` with `behavior` (`tokenizers`' `split`, with
 * `invert` swapping matches and the text between them); empty pieces are dropped.
 */
export function splitPieces(
  pieces: Piece[],
  find: MatchFinder,
  behavior: SplitBehavior,
  invert = false,
): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    const { cps } = piece;
    const found = find(cps);
    // Covering segments: [start, end, isMatch] triples.
    const segments: number[] = [];
    let previous = 0;
    for (let i = 0; i < found.length; i += 2) {
      if (found[i] > previous) segments.push(previous, found[i], invert ? 1 : 0);
      segments.push(found[i], found[i + 1], invert ? 0 : 1);
      previous = found[i + 1];
    }
    if (previous < cps.length) segments.push(previous, cps.length, invert ? 1 : 0);
    const kept: number[] = [];
    let previousMatch = false;
    if (behavior === 'MergedWithNext') {
      // Walk backwards: a match joins the piece after it.
      const reversed: number[] = [];
      for (let s = segments.length - 3; s >= 0; s -= 3) {
        const isMatch = segments[s + 2] === 1;
        if (isMatch && !previousMatch && reversed.length > 0) reversed[reversed.length - 2] = segments[s];
        else reversed.push(segments[s], segments[s + 1]);
        previousMatch = isMatch;
      }
      for (let k = reversed.length - 2; k >= 0; k -= 2) kept.push(reversed[k], reversed[k + 1]);
    } else {
      for (let s = 0; s < segments.length; s += 3) {
        const isMatch = segments[s + 2] === 1;
        if (behavior === 'Removed') {
          if (!isMatch) kept.push(segments[s], segments[s + 1]);
        } else if (behavior === 'Isolated') {
          kept.push(segments[s], segments[s + 1]);
        } else if (behavior === 'MergedWithPrevious') {
          if (isMatch && !previousMatch && kept.length > 0) kept[kept.length - 1] = segments[s + 1];
          else kept.push(segments[s], segments[s + 1]);
        } else if (isMatch === previousMatch && kept.length > 0) {
          kept[kept.length - 1] = segments[s + 1];
        } else {
          kept.push(segments[s], segments[s + 1]);
        }
        previousMatch = isMatch;
      }
    }
    for (let k = 0; k < kept.length; k += 2) {
      if (kept[k + 1] > kept[k]) {
        out.push({
          cps: cps.subarray(kept[k], kept[k + 1]),
          atStart: piece.atStart && kept[k] === 0,
          spans: piece.spans?.subarray(2 * kept[k], 2 * kept[k + 1]),
        });
      }
    }
  }
  return out;
}

function prepend(piece: Piece, cp: number): Piece {
  const cps = new Uint32Array(piece.cps.length + 1);
  cps[0] = cp;
  cps.set(piece.cps, 1);
  let spans: Int32Array | undefined;
  if (piece.spans !== undefined) {
    // The inserted code point comes from nowhere: an empty range where the piece starts.
    spans = new Int32Array(piece.spans.length + 2);
    spans.set(piece.spans, 2);
    const at = piece.spans.length > 0 ? piece.spans[0] : 0;
    spans[0] = at;
    spans[1] = at;
  }
  return { cps, atStart: piece.atStart, spans };
}

/** Spells each piece's UTF-8 bytes in GPT-2's byte alphabet. */
export function byteLevelMap(pieces: Piece[]): Piece[] {
  const bytes = new Uint8Array(4);
  return pieces.map((piece) => {
    let length = 0;
    for (const cp of piece.cps) length += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    const cps = new Uint32Array(length);
    const source = piece.spans;
    const spans = source === undefined ? undefined : new Int32Array(2 * length);
    let at = 0;
    for (let i = 0; i < piece.cps.length; i++) {
      const end = writeUtf8(piece.cps[i], bytes, 0);
      for (let b = 0; b < end; b++) {
        // Every byte of a character comes from the whole character.
        if (spans !== undefined) {
          spans[2 * at] = source![2 * i];
          spans[2 * at + 1] = source![2 * i + 1];
        }
        cps[at++] = BYTE_TO_CHAR[bytes[b]];
      }
    }
    return { cps, atStart: piece.atStart, spans };
  });
}

/** The byte-level pre-tokenizer: optional prefix space, GPT-2 split, byte alphabet. */
export function byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  const find = scannerMatches(gpt2Matcher);
  return (pieces) => {
    if (addPrefixSpace)
      pieces = pieces.map((piece) => (piece.cps[0] === 0x20 ? piece : prepend(piece, 0x20)));
    if (useRegex) pieces = splitPieces(pieces, find, 'Isolated');
    return byteLevelMap(pieces);
  };
}

/** The scanner for a split regex, or UnsupportedError naming the pattern. */
export function knownRegexMatcher(regex: string, place: JsonPlace): SplitMatcher {
  const matcher = KNOWN_REGEXES.get(regex);
  if (matcher !== undefined) return matcher;
  throw new UnsupportedError(
    `${place.source}: "${place.path}": split regex ${JSON.stringify(regex)} is not supported; supported: the GPT-2, Llama 3 and Qwen2 patterns and \\p{N} groups`,
    { details: { source: place.source, path: place.path, pattern: regex } },
  );
}

function behaviorOf(fields: JsonFields, fallback: SplitBehavior): SplitBehavior {
  const behavior = fields.string('behavior', fallback);
  if (!BEHAVIORS.includes(behavior)) jsonFail(fields.at('behavior'), BEHAVIORS.join(', '), behavior);
  return behavior as SplitBehavior;
}

/**
 * Builds the pre-tokenizer of a `pre_tokenizer` JSON value. Types: Sequence, ByteLevel,
 * Split (literal or known regex), Metaspace, BertPreTokenizer, Whitespace, WhitespaceSplit,
 * Digits, Punctuation, CharDelimiterSplit.
 *
 * @throws FormatError for malformed values; UnsupportedError for other types or regexes.
 */
export function createPreTokenizer(value: unknown, place: JsonPlace): PreTokenizer {
  const fields = new JsonFields(value, place);
  const type = fields.type();
  switch (type) {
    case 'Sequence': {
      const stages = fields
        .array('pretokenizers')
        .map((item, i) => createPreTokenizer(item, child(fields.at('pretokenizers'), i)));
      return (pieces) => stages.reduce((acc, stage) => stage(acc), pieces);
    }
    case 'ByteLevel':
      return byteLevelPreTokenizer(
        fields.boolean('add_prefix_space', true),
        fields.boolean('use_regex', true),
      );
    case 'Split': {
      const patternPlace = fields.at('pattern');
      const pattern = new JsonFields(fields.required('pattern', 'a pattern'), patternPlace);
      const regex = pattern.string('Regex', undefined);
      const find =
        regex === undefined || !/[\\^$.|?*+()[\]{}]/.test(regex)
          ? literalMatches(literalPattern(pattern.object, patternPlace))
          : scannerMatches(knownRegexMatcher(regex, child(patternPlace, 'Regex')));
      const behavior = behaviorOf(fields, 'Isolated');
      const invert = fields.boolean('invert', false);
      return (pieces) => splitPieces(pieces, find, behavior, invert);
    }
    case 'Metaspace': {
      const replacementText = fields.string('replacement', '\u2581');
      const replacement = replacementText.codePointAt(0);
      if (replacement === undefined || [...replacementText].length !== 1)
        jsonFail(fields.at('replacement'), 'one character', replacementText);
      const legacy = fields.boolean('add_prefix_space', true);
      const scheme = fields.string('prepend_scheme', legacy ? 'always' : 'never');
      if (scheme !== 'first' && scheme !== 'always' && scheme !== 'never')
        jsonFail(fields.at('prepend_scheme'), '"first", "always" or "never"', scheme);
      const split = fields.boolean('split', true);
      const find = charMatches((cp) => cp === replacement);
      return (pieces) => {
        const replaced = pieces.map((piece) => {
          const cps = piece.cps.map((cp) => (cp === 0x20 ? replacement : cp));
          const wants = scheme === 'always' || (scheme === 'first' && piece.atStart);
          const swapped = { cps, atStart: piece.atStart, spans: piece.spans };
          return wants && cps[0] !== replacement ? prepend(swapped, replacement) : swapped;
        });
        return split ? splitPieces(replaced, find, 'MergedWithNext') : replaced;
      };
    }
    case 'BertPreTokenizer': {
      const spaces = charMatches(isWhitespace);
      const punctuation = charMatches(isBertPunctuation);
      return (pieces) => splitPieces(splitPieces(pieces, spaces, 'Removed'), punctuation, 'Isolated');
    }
    case 'Whitespace': {
      const words = scannerMatches((cps, p, end) => {
        const cp = cps[p];
        if (isWordChar(cp)) {
          let e = p + 1;
          while (e < end && isWordChar(cps[e])) e++;
          return e;
        }
        if (isWhitespace(cp)) return -(p + 1);
        let e = p + 1;
        while (e < end && !isWordChar(cps[e]) && !isWhitespace(cps[e])) e++;
        return e;
      });
      return (pieces) => splitPieces(pieces, words, 'Removed', true);
    }
    case 'WhitespaceSplit': {
      const spaces = charMatches(isWhitespace);
      return (pieces) => splitPieces(pieces, spaces, 'Removed');
    }
    case 'Digits': {
      const individual = fields.boolean('individual_digits', false);
      const digits = charMatches(isNumber);
      return (pieces) => splitPieces(pieces, digits, individual ? 'Isolated' : 'Contiguous');
    }
    case 'Punctuation': {
      const behavior = behaviorOf(fields, 'Isolated');
      const punctuation = charMatches(isBertPunctuation);
      return (pieces) => splitPieces(pieces, punctuation, behavior);
    }
    case 'CharDelimiterSplit': {
      const delimiter = fields.string('delimiter');
      const find = literalMatches(delimiter);
      return (pieces) => splitPieces(pieces, find, 'Removed');
    }
    default:
      throw new UnsupportedError(
        `${place.source}: "${fields.at('type').path}": pre-tokenizer type "${type}" is not supported`,
        { details: { source: place.source, type } },
      );
  }
}
