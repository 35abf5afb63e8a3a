/**
 * Hugging Face `BertPreTokenizer`: words are separated by whitespace, and every punctuation
 * character (Unicode P, or any ASCII punctuation or symbol) and every CJK ideograph is a word
 * of its own (the CJK part is `BertNormalizer`'s `handle_chinese_chars`).
 */
import { codePointFlags, PUNCTUATION, SYMBOL, WHITESPACE } from '../unicode/code-points.js';

/** Ranges of `BertNormalizer`'s `is_chinese_char` (including its 0x2B920 quirk). */
const CJK_RANGES = [
  0x4e00, 0x9fff, 0x3400, 0x4dbf, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b920, 0x2ceaf,
  0xf900, 0xfaff, 0x2f800, 0x2fa1f,
];

function isCjk(cp: number): boolean {
  for (let i = 0; i < CJK_RANGES.length; i += 2)
    if (cp >= CJK_RANGES[i] && cp <= CJK_RANGES[i + 1]) return true;
  return false;
}

function isIsolated(cp: number): boolean {
  const flags = codePointFlags(cp);
  return (flags & PUNCTUATION) !== 0 || (cp < 0x7f && (flags & SYMBOL) !== 0) || isCjk(cp);
}

/** Word boundaries in `codePoints` as flat `[start, end)` pairs. */
export function splitBertWords(codePoints: readonly number[]): number[] {
  const words: number[] = [];
  let start = -1;
  for (let i = 0; i < codePoints.length; i++) {
    const cp = codePoints[i];
    if (codePointFlags(cp) & WHITESPACE) {
      if (start >= 0) words.push(start, i);
      start = -1;
    } else if (isIsolated(cp)) {
      if (start >= 0) words.push(start, i);
      words.push(i, i + 1);
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) words.push(start, codePoints.length);
  return words;
}
