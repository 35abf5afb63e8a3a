/**
 * WordPiece (BERT): each word is cut greedily into the longest vocabulary entries from the
 * left; a word that cannot be cut completely, or is longer than `maxInputChars`, becomes the
 * unknown token.
 */
import type { TokenLookup } from './token-index.js';

/** Options of {@link WordPieceModel}. */
export interface WordPieceOptions {
  /** Prefix of a word-initial entry: `"▁"` in GGUF vocabularies, `""` in `vocab.txt`. */
  wordPrefix: string;
  /** Prefix of a continuation entry: `""` in GGUF vocabularies, `"##"` in `vocab.txt`. */
  continuationPrefix: string;
  /** Id emitted for a word that cannot be cut. */
  unknownId: number;
  /** Longer words (in code points) are unknown outright. Default 100, as Hugging Face. */
  maxInputChars?: number;
}

/** A WordPiece vocabulary. */
export class WordPieceModel {
  private readonly maxPieceUnits: number;
  private readonly maxInputChars: number;

  /**
   * @param vocabulary entry → id.
   * @param entries every entry (for the longest one).
   */
  constructor(
    private readonly vocabulary: TokenLookup,
    entries: Iterable<string>,
    private readonly options: WordPieceOptions,
  ) {
    let longest = 1;
    for (const token of entries) longest = Math.max(longest, token.length);
    this.maxPieceUnits = longest;
    this.maxInputChars = options.maxInputChars ?? 100;
  }

  /**
   * Appends the pieces of `word` (already normalized) to `ids`; `ends` receives, per piece,
   * the code point index in the word where it ends.
   */
  encodeWord(word: string, codePointCount: number, ids: number[], ends?: number[]): void {
    const { wordPrefix, continuationPrefix, unknownId } = this.options;
    if (codePointCount > this.maxInputChars) {
      ids.push(unknownId);
      ends?.push(codePointCount);
      return;
    }
    const mark = ids.length;
    const endsMark = ends?.length ?? 0;
    let start = 0;
    let consumed = 0;
    while (start < word.length) {
      const prefix = start === 0 ? wordPrefix : continuationPrefix;
      let end = Math.min(word.length, start + this.maxPieceUnits);
      let found = -1;
      for (; end > start; end--) {
        // Never cut a surrogate pair.
        const code = word.charCodeAt(end - 1);
        if (code >= 0xd800 && code <= 0xdbff) continue;
        const id = this.vocabulary.get(prefix + word.slice(start, end));
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      if (found < 0) {
        ids.length = mark;
        if (ends !== undefined) ends.length = endsMark;
        ids.push(unknownId);
        ends?.push(codePointCount);
        return;
      }
      ids.push(found);
      for (let i = start; i < end; i++) {
        const code = word.charCodeAt(i);
        if (!(code >= 0xdc00 && code <= 0xdfff)) consumed++;
      }
      ends?.push(consumed);
      start = end;
    }
  }
}
