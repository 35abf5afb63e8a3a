/**
 * Builds llama2.c `tokenizer.bin` bytes for tests.
 */

/** One vocabulary entry: a piece (text, encoded as UTF-8, or raw bytes) and its score. */
export interface EntrySpec {
  piece: string | Uint8Array;
  score: number;
}

/** The bytes of a `tokenizer.bin` with these entries; max_token_length defaults to the longest piece. */
export function buildLlama2cFile(entries: readonly EntrySpec[], maxTokenLength?: number): Uint8Array {
  const pieces = entries.map((entry) =>
    typeof entry.piece === 'string' ? new TextEncoder().encode(entry.piece) : entry.piece,
  );
  const total = 4 + pieces.reduce((sum, piece) => sum + 8 + piece.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, maxTokenLength ?? Math.max(1, ...pieces.map((piece) => piece.length)), true);
  let offset = 4;
  entries.forEach((entry, index) => {
    view.setFloat32(offset, entry.score, true);
    view.setInt32(offset + 4, pieces[index].length, true);
    bytes.set(pieces[index], offset + 8);
    offset += 8 + pieces[index].length;
  });
  return bytes;
}

/**
 * A small llama2.c-style vocabulary: `<unk>`, BOS, EOS, the 256 byte tokens, then
 * `extraPieces` in order with descending scores (earlier pieces merge first).
 */
export function syntheticVocabulary(extraPieces: readonly string[]): EntrySpec[] {
  const entries: EntrySpec[] = [
    { piece: '<unk>', score: 0 },
    { piece: '\n<s>\n', score: 0 },
    { piece: '\n</s>\n', score: 0 },
  ];
  for (let byte = 0; byte < 256; byte++) {
    entries.push({ piece: `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0 });
  }
  extraPieces.forEach((piece, index) => {
    entries.push({ piece, score: -index });
  });
  return entries;
}
