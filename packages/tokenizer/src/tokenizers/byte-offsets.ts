/**
 * Offsets of tokens whose bytes, in order, spell a stretch of text (SentencePiece-style BPE,
 * byte-level BPE): each token covers the characters its bytes belong to.
 */

/**
 * Pushes to `offsets`, for tokens of `lengths[t]` bytes each, the UTF-16 range of
 * `text[start, end)` they cover, shifted into `text`'s coordinates. The first `skip` bytes
 * spelled are not in the text (a dummy-prefix space); a token of none of the text's bytes
 * gets an empty range where it stands; a token holding part of a character spans all of it.
 */
export function byteSpanOffsets(
  text: string,
  start: number,
  end: number,
  skip: number,
  lengths: readonly number[],
  offsets: [number, number][],
): void {
  // unitStart[b], unitEnd[b]: the UTF-16 range of the character holding byte b of the stretch.
  const unitStart: number[] = [];
  const unitEnd: number[] = [];
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const pair =
      code >= 0xd800 && code <= 0xdbff && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    // A lone surrogate is encoded as U+FFFD, three bytes.
    const bytes = pair ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    const stop = pair ? i + 2 : i + 1;
    for (let b = 0; b < bytes; b++) {
      unitStart.push(i);
      unitEnd.push(stop);
    }
    if (pair) i++;
  }
  let position = -skip;
  for (const length of lengths) {
    const from = Math.max(0, position);
    const to = Math.min(unitStart.length, position + length);
    if (to <= from) {
      const at = from < unitStart.length ? unitStart[from] : end;
      offsets.push([at, at]);
    } else {
      offsets.push([unitStart[from], unitEnd[to - 1]]);
    }
    position += length;
  }
}
