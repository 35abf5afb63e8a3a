/**
 * Unicode character classes as the reference engines define them (Rust `regex`, Oniguruma),
 * which is not always JavaScript's: `\s` there is the White_Space property (U+0085 yes,
 * U+FEFF no), while JavaScript's `\s` is the reverse on both. Classes are computed with
 * `\p{…}` property escapes once per code point and kept in a fixed-size table (1.1 MB at
 * most, filled lazily), so classification is a table lookup.
 */

/** Letter (`\p{L}`). */
export const LETTER = 1;
/** Number (`\p{N}`). */
export const NUMBER = 2;
/** White_Space property (`\s` in Rust regex and Oniguruma). */
export const WHITESPACE = 4;
/** Punctuation (`\p{P}`). */
export const PUNCTUATION = 8;
/** Symbol (`\p{S}`). */
export const SYMBOL = 16;
/** Mark (`\p{M}`). */
export const MARK = 32;
/** Other (`\p{C}`: control, format, unassigned, private use, surrogate). */
export const OTHER = 64;
const COMPUTED = 128;

const table = new Uint8Array(0x110000);
const PROPERTIES: readonly [RegExp, number][] = [
  [/\p{L}/u, LETTER],
  [/\p{N}/u, NUMBER],
  [/\p{White_Space}/u, WHITESPACE],
  [/\p{P}/u, PUNCTUATION],
  [/\p{S}/u, SYMBOL],
  [/\p{M}/u, MARK],
  [/\p{C}/u, OTHER],
];

/** The class bits of code point `cp` (a combination of the constants above). */
export function codePointFlags(cp: number): number {
  const cached = table[cp];
  if (cached !== 0) return cached & ~COMPUTED;
  const text = String.fromCodePoint(cp);
  let flags = 0;
  for (const [pattern, bit] of PROPERTIES) if (pattern.test(text)) flags |= bit;
  table[cp] = flags | COMPUTED;
  return flags;
}

for (let cp = 0; cp < 0x80; cp++) codePointFlags(cp);

/**
 * The code points of `text`. A lone surrogate becomes U+FFFD, as `TextEncoder` does, so every
 * tokenizer sees well-formed text. `units`, when given, receives the UTF-16 index where each
 * code point starts, plus the text length at the end.
 */
export function toCodePoints(text: string, units?: number[]): Uint32Array {
  const result = new Uint32Array(text.length);
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    units?.push(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    result[count++] = cp;
  }
  units?.push(text.length);
  return result.subarray(0, count);
}

/** Appends the UTF-8 bytes of `cp` to `out` at `at`; returns the new end. `out` must have room for 4. */
export function writeUtf8(cp: number, out: Uint8Array, at: number): number {
  if (cp < 0x80) {
    out[at] = cp;
    return at + 1;
  }
  if (cp < 0x800) {
    out[at] = 0xc0 | (cp >> 6);
    out[at + 1] = 0x80 | (cp & 0x3f);
    return at + 2;
  }
  if (cp < 0x10000) {
    out[at] = 0xe0 | (cp >> 12);
    out[at + 1] = 0x80 | ((cp >> 6) & 0x3f);
    out[at + 2] = 0x80 | (cp & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (cp >> 18);
  out[at + 1] = 0x80 | ((cp >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((cp >> 6) & 0x3f);
  out[at + 3] = 0x80 | (cp & 0x3f);
  return at + 4;
}

/** Number of UTF-8 bytes of `cp`. */
export function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** The string of `cps[start, end)`, built in chunks so long inputs never exceed the argument limit. */
export function codePointsToString(cps: ArrayLike<number>, start = 0, end = cps.length): string {
  let result = '';
  for (let chunk = start; chunk < end; chunk += 4096) {
    const stop = Math.min(end, chunk + 4096);
    result += String.fromCodePoint(...Array.prototype.slice.call(cps, chunk, stop));
  }
  return result;
}
