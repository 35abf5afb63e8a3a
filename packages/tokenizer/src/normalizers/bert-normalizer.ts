/**
 * Hugging Face `BertNormalizer` (clean text, strip accents, lowercase), applied to code
 * points with a map back to the source positions so token offsets can be reported.
 */
import { codePointFlags, MARK, OTHER, WHITESPACE } from '../unicode/code-points.js';

/** Options of {@link normalizeBert}. */
export interface BertNormalizerOptions {
  /** Lowercase every code point (Unicode full mapping, one code point at a time). */
  lowercase: boolean;
  /** Decompose (NFD) and drop nonspacing marks (Mn). */
  stripAccents: boolean;
}

/** Normalized text: `codePoints[i]` came from source code point `sources[i]`. */
export interface NormalizedText {
  readonly codePoints: number[];
  readonly sources: number[];
}

const NONSPACING_MARK = /\p{Mn}/u;

/**
 * Drops NUL, U+FFFD and control characters (category C other than tab, LF, CR), turns every
 * whitespace character into a space, then strips accents and lowercases as configured.
 */
export function normalizeBert(codePoints: Uint32Array, options: BertNormalizerOptions): NormalizedText {
  const out: number[] = [];
  const sources: number[] = [];
  for (let index = 0; index < codePoints.length; index++) {
    const cp = codePoints[index];
    const flags = codePointFlags(cp);
    if (cp === 0x09 || cp === 0x0a || cp === 0x0d || flags & WHITESPACE) {
      out.push(0x20);
      sources.push(index);
      continue;
    }
    if (cp === 0 || cp === 0xfffd || flags & OTHER) continue;
    if (cp < 0x80) {
      out.push(options.lowercase && cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
      sources.push(index);
      continue;
    }
    let text = String.fromCodePoint(cp);
    if (options.stripAccents) {
      let kept = '';
      for (const char of text.normalize('NFD')) {
        if (!(codePointFlags(char.codePointAt(0)!) & MARK && NONSPACING_MARK.test(char))) kept += char;
      }
      text = kept;
    }
    if (options.lowercase) text = text.toLowerCase();
    for (const char of text) {
      out.push(char.codePointAt(0)!);
      sources.push(index);
    }
  }
  return { codePoints: out, sources };
}
