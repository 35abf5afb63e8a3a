/**
 * Hand-written, linear-time equivalents of the split regexes of byte-level BPE vocabularies
 * (GPT-2, Llama 3, Qwen2, DeepSeek, Falcon, StarCoder, ...), with the meaning the reference
 * engines give them: `\s` is White_Space, `\p{L}`/`\p{N}`/`\p{P}` are Unicode general
 * categories (see `unicode/code-points.ts`).
 *
 * A rule is a matcher tried at one position; `applyRule` gives it regex *search* semantics
 * over each piece, keeping both the matches and the text between them as pieces (what
 * llama.cpp's `unicode_regex_split` and Hugging Face's `Split(behavior: Isolated)` do). Every
 * matcher does O(length of its match) work, or reports how far the search may skip, so a
 * stage is linear in the piece length whatever the input.
 */
import { codePointFlags, LETTER, NUMBER, PUNCTUATION, WHITESPACE } from '../unicode/code-points.js';

/**
 * Tries a match at `position` of `cps[.., end)` (`end` acts as the end of the string).
 * Returns the match end (> position), or minus the next position where a match may start.
 */
export type SplitMatcher = (cps: Uint32Array, position: number, end: number) => number;

/** A code point predicate. */
export type CodePointClass = (cp: number) => boolean;

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOSTROPHE = 0x27;

const isWhitespace: CodePointClass = (cp) => (codePointFlags(cp) & WHITESPACE) !== 0;
const isLetter: CodePointClass = (cp) => (codePointFlags(cp) & LETTER) !== 0;
const isNumber: CodePointClass = (cp) => (codePointFlags(cp) & NUMBER) !== 0;
/** `[^\s\p{L}\p{N}]`. */
const isOther: CodePointClass = (cp) => (codePointFlags(cp) & (WHITESPACE | LETTER | NUMBER)) === 0;
const isPunctuation: CodePointClass = (cp) => (codePointFlags(cp) & PUNCTUATION) !== 0;
const isNewline: CodePointClass = (cp) => cp === CR || cp === LF;
const isAsciiDigit: CodePointClass = (cp) => cp >= 0x30 && cp <= 0x39;

function runEnd(cps: Uint32Array, from: number, end: number, inClass: CodePointClass): number {
  while (from < end && inClass(cps[from])) from++;
  return from;
}

/** Lower-cases an ASCII letter code. */
function lower(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
}

/** `'s|'t|'re|'ve|'m|'ll|'d` (ASCII case-insensitive when asked) at `p`: the match end or -1. */
function contraction(cps: Uint32Array, p: number, end: number, ignoreCase: boolean): number {
  if (cps[p] !== APOSTROPHE || p + 1 >= end) return -1;
  const fold = ignoreCase ? lower : (cp: number) => cp;
  const first = fold(cps[p + 1]);
  if (first === 0x73 || first === 0x74 || first === 0x6d || first === 0x64) return p + 2; // s t m d
  if (p + 2 >= end) return -1;
  const second = fold(cps[p + 2]);
  if ((first === 0x72 || first === 0x76) && second === 0x65) return p + 3; // re ve
  if (first === 0x6c && second === 0x6c) return p + 3; // ll
  return -1;
}

/** `\s+(?!\S)|\s+` at whitespace position `p`. */
function trailingSpaceAware(cps: Uint32Array, p: number, end: number): number {
  const e = runEnd(cps, p, end, isWhitespace);
  if (e === end || e - p === 1) return e;
  // Leave the last whitespace character to prefix the next word.
  return e - 1;
}

/**
 * GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
 */
export const gpt2Matcher: SplitMatcher = (cps, p, end) => {
  const contracted = contraction(cps, p, end, false);
  if (contracted > 0) return contracted;
  let q = p;
  if (cps[p] === SPACE && p + 1 < end && !isWhitespace(cps[p + 1])) q = p + 1;
  const flags = codePointFlags(cps[q]);
  if (flags & LETTER) return runEnd(cps, q + 1, end, isLetter);
  if (flags & NUMBER) return runEnd(cps, q + 1, end, isNumber);
  if (!(flags & WHITESPACE)) return runEnd(cps, q + 1, end, isOther);
  return trailingSpaceAware(cps, p, end);
};

/** Options of {@link llama3Matcher}. */
export interface Llama3MatcherOptions {
  /** Longest digit group: 3 for Llama 3, 1 for Qwen2. */
  maxDigits: number;
  /** Whether `'s|'t|...` are split off (case-insensitively). Default true. */
  contractions?: boolean;
  /** Whether a punctuation run takes the newlines after it (`[\r\n]*`). Default true. */
  punctuationNewlines?: boolean;
  /** Whether a whitespace run reaching the end of the text is one piece (cl100k's `\s++$`). Default false. */
  wholeTrailingWhitespace?: boolean;
}

/**
 * Llama 3 family: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Qwen2: `\p{N}` alone).
 */
export function llama3Matcher(options: Llama3MatcherOptions): SplitMatcher {
  const { maxDigits } = options;
  const contractions = options.contractions ?? true;
  const punctuationNewlines = options.punctuationNewlines ?? true;
  const wholeTrailingWhitespace = options.wholeTrailingWhitespace ?? false;
  return (cps, p, end) => {
    if (contractions) {
      const contracted = contraction(cps, p, end, true);
      if (contracted > 0) return contracted;
    }
    const cp = cps[p];
    const flags = codePointFlags(cp);
    if (flags & LETTER) return runEnd(cps, p + 1, end, isLetter);
    if (!(flags & NUMBER) && !isNewline(cp) && p + 1 < end && isLetter(cps[p + 1])) {
      return runEnd(cps, p + 2, end, isLetter);
    }
    if (flags & NUMBER) {
      let e = p + 1;
      while (e < end && e - p < maxDigits && isNumber(cps[e])) e++;
      return e;
    }
    const q = cp === SPACE && p + 1 < end && isOther(cps[p + 1]) ? p + 1 : p;
    if (isOther(cps[q])) {
      const e = runEnd(cps, q + 1, end, isOther);
      return punctuationNewlines ? runEnd(cps, e, end, isNewline) : e;
    }
    // Whitespace: `\s*[\r\n]+` ends after the run's last newline, if it has one.
    const e = runEnd(cps, p, end, isWhitespace);
    if (wholeTrailingWhitespace && e === end) return e;
    for (let k = e - 1; k >= p; k--) if (isNewline(cps[k])) return k + 1;
    return trailingSpaceAware(cps, p, end);
  };
}

/** Bits of {@link caseClass}: in `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, in `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, looked up. */
const UPPERISH = 1;
const LOWERISH = 2;
const CASE_COMPUTED = 4;
/** Filled lazily, allocated only when an o200k matcher is made. */
let caseTable: Uint8Array | undefined;
const UPPERISH_PATTERN = /[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u;
const LOWERISH_PATTERN = /[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u;

function caseClass(cp: number): number {
  const table = caseTable!;
  const cached = table[cp];
  if (cached !== 0) return cached;
  const text = String.fromCodePoint(cp);
  const bits =
    CASE_COMPUTED |
    (UPPERISH_PATTERN.test(text) ? UPPERISH : 0) |
    (LOWERISH_PATTERN.test(text) ? LOWERISH : 0);
  table[cp] = bits;
  return bits;
}

const isUpperish: CodePointClass = (cp) => (caseClass(cp) & UPPERISH) !== 0;
const isLowerish: CodePointClass = (cp) => (caseClass(cp) & LOWERISH) !== 0;
/** `[^\r\n\p{L}\p{N}]`. */
const isWordPrefix: CodePointClass = (cp) => !isNewline(cp) && (codePointFlags(cp) & (LETTER | NUMBER)) === 0;
/** `[\r\n/]`. */
const isNewlineOrSlash: CodePointClass = (cp) => isNewline(cp) || cp === 0x2f;

/**
 * o200k_base (GPT-4o): `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
 * [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`, with the backtracking of the reference
 * engine worked out per alternative: each tries the optional prefix first, then none.
 */
export function o200kMatcher(): SplitMatcher {
  caseTable ??= new Uint8Array(0x110000);
  const withContraction = (cps: Uint32Array, e: number, end: number) => {
    const contracted = contraction(cps, e, end, true);
    return contracted > 0 ? contracted : e;
  };
  // `U*L+`: greedy U*, then L+ after it; failing that, U* gives back up to its last L member.
  const upperThenLower = (cps: Uint32Array, q: number, end: number) => {
    const r = runEnd(cps, q, end, isUpperish);
    if (r < end && isLowerish(cps[r])) return withContraction(cps, runEnd(cps, r + 1, end, isLowerish), end);
    for (let j = r - 1; j >= q; j--) if (isLowerish(cps[j])) return withContraction(cps, j + 1, end);
    return -1;
  };
  // `U+L*`.
  const upperRun = (cps: Uint32Array, q: number, end: number) => {
    if (q >= end || !isUpperish(cps[q])) return -1;
    return withContraction(cps, runEnd(cps, runEnd(cps, q + 1, end, isUpperish), end, isLowerish), end);
  };
  const prefixed = (
    body: (cps: Uint32Array, q: number, end: number) => number,
    cps: Uint32Array,
    p: number,
    end: number,
  ) => {
    if (isWordPrefix(cps[p])) {
      const e = body(cps, p + 1, end);
      if (e > 0) return e;
    }
    return body(cps, p, end);
  };
  return (cps, p, end) => {
    const first = prefixed(upperThenLower, cps, p, end);
    if (first > 0) return first;
    const second = prefixed(upperRun, cps, p, end);
    if (second > 0) return second;
    const flags = codePointFlags(cps[p]);
    if (flags & NUMBER) {
      let e = p + 1;
      while (e < end && e - p < 3 && isNumber(cps[e])) e++;
      return e;
    }
    const q = cps[p] === SPACE && p + 1 < end && isOther(cps[p + 1]) ? p + 1 : p;
    if (isOther(cps[q])) return runEnd(cps, runEnd(cps, q + 1, end, isOther), end, isNewlineOrSlash);
    const e = runEnd(cps, p, end, isWhitespace);
    for (let k = e - 1; k >= p; k--) if (isNewline(cps[k])) return k + 1;
    return trailingSpaceAware(cps, p, end);
  };
}

/** Options of {@link classRunMatcher}. */
export interface ClassRunOptions {
  /** An optional single code point before the run (`\s?[…]+`). */
  prefix?: CodePointClass;
  /** Fewest code points in the run. Default 1. */
  min?: number;
  /** Most code points in the run. Default unbounded. */
  max?: number;
}

/** `prefix?class{min,max}` with greedy repetition. */
export function classRunMatcher(inClass: CodePointClass, options: ClassRunOptions = {}): SplitMatcher {
  const { prefix } = options;
  const min = options.min ?? 1;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const run = (cps: Uint32Array, from: number, end: number): number => {
    let e = from;
    while (e < end && e - from < max && inClass(cps[e])) e++;
    return e;
  };
  return (cps, p, end) => {
    if (prefix !== undefined && p + 1 < end && prefix(cps[p])) {
      const e = run(cps, p + 1, end);
      if (e - (p + 1) >= min) return e;
    }
    const e = run(cps, p, end);
    if (e - p >= min) return e;
    // Without a prefix, no match can start inside the short run or at the code point ending it.
    return prefix === undefined ? -Math.min(e + 1, end) : -(p + 1);
  };
}

/** `\s+$`: the whitespace at the end of the piece. */
export const trailingWhitespaceMatcher: SplitMatcher = (cps, p, end) => {
  if (!isWhitespace(cps[p])) return -(p + 1);
  const e = runEnd(cps, p, end, isWhitespace);
  return e === end ? e : -Math.min(e + 1, end);
};

/**
 * Splits every piece `[pieces[2i], pieces[2i+1])` of `cps` with `matcher` under regex search
 * semantics; matches and the gaps between them all become pieces, in order.
 */
export function applyRule(cps: Uint32Array, pieces: readonly number[], matcher: SplitMatcher): number[] {
  const out: number[] = [];
  for (let i = 0; i < pieces.length; i += 2) {
    const start = pieces[i];
    const end = pieces[i + 1];
    let gap = start;
    let p = start;
    while (p < end) {
      const result = matcher(cps, p, end);
      if (result > 0) {
        if (gap < p) out.push(gap, p);
        out.push(p, result);
        p = result;
        gap = result;
      } else {
        p = Math.min(-result, end);
      }
    }
    if (gap < end) out.push(gap, end);
  }
  return out;
}

/** A class from a list of code points and `a-b` ranges written as in a regex bracket. */
export function rangeClass(spec: string, negate = false, extra?: CodePointClass): CodePointClass {
  const cps = Array.from(spec, (char) => char.codePointAt(0)!);
  const ranges: number[] = [];
  for (let i = 0; i < cps.length; i++) {
    if (i + 2 < cps.length && cps[i + 1] === 0x2d) {
      ranges.push(cps[i], cps[i + 2]);
      i += 2;
    } else {
      ranges.push(cps[i], cps[i]);
    }
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  // Merge overlapping ranges so a binary search on the starts is exact.
  const merged: [number, number][] = [];
  for (const pair of pairs) {
    const last = merged.at(-1);
    if (last !== undefined && pair[0] <= last[1] + 1) last[1] = Math.max(last[1], pair[1]);
    else merged.push([pair[0], pair[1]]);
  }
  const starts = Int32Array.from(merged, ([start]) => start);
  const ends = Int32Array.from(merged, ([, end]) => end);
  return (cp) => {
    // Binary search for the last range starting at or before cp (merged, so they do not overlap).
    let low = 0;
    let high = starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (starts[middle] <= cp) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    const inside = (found >= 0 && cp <= ends[found]) || (extra?.(cp) ?? false);
    return inside !== negate;
  };
}

/** How a byte-level vocabulary splits text before BPE, chosen by `tokenizer.ggml.pre`. */
export interface SplitPreset {
  /** Rules applied in order, each to every piece the previous ones produced. */
  readonly rules: readonly SplitMatcher[];
  /** A piece that is itself a vocabulary entry becomes that token without merges (HF `ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** Default of `tokenizer.ggml.add_bos_token` for this preset. */
  readonly addBos: boolean;
}

const GPT2: SplitPreset = { rules: [gpt2Matcher], ignoreMerges: false, addBos: false };
const LLAMA3: SplitPreset = { rules: [llama3Matcher({ maxDigits: 3 })], ignoreMerges: true, addBos: true };
const QWEN2: SplitPreset = { rules: [llama3Matcher({ maxDigits: 1 })], ignoreMerges: false, addBos: false };
const STARCODER: SplitPreset = {
  rules: [classRunMatcher(isNumber, { max: 1 }), gpt2Matcher],
  ignoreMerges: false,
  addBos: false,
};
const CJK = rangeClass('一-龥ࠀ-一가-퟿');
const PORO_RULE = classRunMatcher(rangeClass('(|.,!?…。，、।۔،)', true, isWhitespace), {
  prefix: (cp) => cp === SPACE,
});

const PRESETS: Record<string, SplitPreset> = {
  default: {
    rules: [
      classRunMatcher(rangeClass('$+<=>^~|', false, isPunctuation)),
      gpt2Matcher,
      classRunMatcher(isNumber),
      classRunMatcher(isAsciiDigit, { min: 3, max: 3 }),
    ],
    ignoreMerges: false,
    addBos: false,
  },
  'deepseek-llm': {
    rules: [
      classRunMatcher(isNewline, { max: 1 }),
      classRunMatcher(
        rangeClass(
          'A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃',
        ),
        { prefix: isWhitespace },
      ),
      classRunMatcher(rangeClass('!-/:-~！-／：-～‘-‟　-。'), { prefix: isWhitespace }),
      trailingWhitespaceMatcher,
      classRunMatcher(CJK),
      classRunMatcher(isNumber),
    ],
    ignoreMerges: false,
    addBos: false,
  },
  'deepseek-coder': {
    rules: [
      classRunMatcher(isNewline, { max: 1 }),
      classRunMatcher(isLetter, { prefix: isWhitespace }),
      classRunMatcher(isPunctuation, { prefix: isWhitespace }),
      classRunMatcher(CJK),
      classRunMatcher(isNumber, { max: 1 }),
    ],
    ignoreMerges: false,
    addBos: false,
  },
  falcon: {
    rules: [
      classRunMatcher(rangeClass('$+<=>^~|`', false, isPunctuation)),
      gpt2Matcher,
      classRunMatcher(isAsciiDigit, { min: 3, max: 3 }),
    ],
    ignoreMerges: false,
    addBos: false,
  },
  'poro-chat': { rules: [PORO_RULE], ignoreMerges: false, addBos: false },
  viking: { rules: [PORO_RULE, classRunMatcher(isNumber, { max: 1 })], ignoreMerges: false, addBos: false },
  'seed-coder': {
    rules: [llama3Matcher({ maxDigits: 1, punctuationNewlines: false })],
    ignoreMerges: false,
    addBos: false,
  },
  ufakzeka: {
    rules: [llama3Matcher({ maxDigits: 1, contractions: false })],
    ignoreMerges: false,
    addBos: false,
  },
};
for (const name of ['bloom', 'gpt3-finnish']) PRESETS[name] = PRESETS['poro-chat'];
for (const name of [
  'gpt-2',
  'phi-2',
  'jina-es',
  'jina-de',
  'gigachat',
  'jina-v2-es',
  'jina-v2-de',
  'a.x-4.0',
  'mellum',
  'modern-bert',
  'jina-v1-en',
  'jina-v2-code',
  'roberta-bpe',
  'mpt',
  'olmo',
  'jais',
  'trillion',
  'granite-docling',
  'exaone4',
]) {
  PRESETS[name] = GPT2;
}
for (const name of [
  'llama3',
  'llama-v3',
  'llama-bpe',
  'falcon3',
  'falcon-h1',
  'pixtral',
  'midm-2.0',
  'lfm2',
]) {
  PRESETS[name] = LLAMA3;
}
for (const name of ['jina-v5-nano']) PRESETS[name] = LLAMA3;
for (const name of ['dbrx', 'smaug-bpe', 'glm4', 'chatglm-bpe'])
  PRESETS[name] = { ...LLAMA3, addBos: false, ignoreMerges: false };
for (const name of [
  'qwen2',
  'deepseek-r1-qwen',
  'kormo',
  'f2llmv2',
  'stablelm2',
  'megrez',
  'hunyuan',
  'solar-open',
  'grok-2',
  'bailingmoe',
  'bailingmoe2',
  'llada-moe',
]) {
  PRESETS[name] = QWEN2;
}
for (const name of [
  'starcoder',
  'refact',
  'command-r',
  'smollm',
  'codeshell',
  'exaone',
  'minerva-7b',
  'mellum2',
]) {
  PRESETS[name] = STARCODER;
}

/** The split preset for a `tokenizer.ggml.pre` value, or undefined when it is not supported. */
export function splitPreset(name: string): SplitPreset | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}

/** Every supported `tokenizer.ggml.pre` value. */
export function splitPresetNames(): string[] {
  return Object.keys(PRESETS).sort();
}
