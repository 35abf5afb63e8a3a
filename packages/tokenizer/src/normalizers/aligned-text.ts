/**
 * Text with, for every code point, the UTF-16 range of the original input it came from, so
 * token offsets survive normalization and pre-tokenization. Inserted code points (a prepended
 * `▁`, padding spaces) have an empty range where they were inserted.
 */

/** Code points and their source ranges: code point i came from `[spans[2i], spans[2i + 1])`. */
export interface AlignedText {
  readonly cps: Uint32Array;
  readonly spans: Int32Array;
}

/** The code points of `text` (lone surrogates as U+FFFD) with ranges offset by `base`. */
export function alignedFromString(text: string, base: number): AlignedText {
  const cps: number[] = [];
  const spans: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    const start = i;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    cps.push(cp);
    spans.push(base + start, base + i + 1);
  }
  return { cps: Uint32Array.from(cps), spans: Int32Array.from(spans) };
}

/** Builds an {@link AlignedText} one code point at a time. */
export class AlignedBuilder {
  private readonly cps: number[] = [];
  private readonly spans: number[] = [];

  /** Appends `cp` coming from `[start, end)`. */
  push(cp: number, start: number, end: number): void {
    this.cps.push(cp);
    this.spans.push(start, end);
  }

  /** Appends every code point of `text`, all from `[start, end)`. */
  pushText(text: string, start: number, end: number): void {
    for (const char of text) this.push(char.codePointAt(0)!, start, end);
  }

  build(): AlignedText {
    return { cps: Uint32Array.from(this.cps), spans: Int32Array.from(this.spans) };
  }
}

/**
 * Applies a per-character string mapping (`map` of one character's text) to aligned text:
 * every output code point comes from the input code point that produced it.
 */
export function mapEachCharacter(text: AlignedText, map: (char: string) => string): AlignedText {
  const out = new AlignedBuilder();
  for (let i = 0; i < text.cps.length; i++) {
    out.pushText(map(String.fromCodePoint(text.cps[i])), text.spans[2 * i], text.spans[2 * i + 1]);
  }
  return out.build();
}

/** The range from the start of code point `from` to the end of code point `to - 1` (empty at `from` when `to <= from`). */
export function spanOf(text: AlignedText, from: number, to: number): [number, number] {
  const { spans, cps } = text;
  if (to <= from) {
    const at = from < cps.length ? spans[2 * from] : cps.length > 0 ? spans[2 * cps.length - 1] : 0;
    return [at, at];
  }
  let start = spans[2 * from];
  let end = spans[2 * (to - 1) + 1];
  // Inserted code points have empty ranges; a span never runs backwards.
  for (let i = from; i < to; i++) {
    start = Math.min(start, spans[2 * i]);
    end = Math.max(end, spans[2 * i + 1]);
  }
  return [start, end];
}
