/**
 * The `Tokenizer` contract. Implementations live in `@rotor/tokenizer`.
 */

/** Options for {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the model's special tokens (BOS, and EOS where the format's template has one). Default false. */
  addSpecialTokens?: boolean;
  /** Recognise special-token strings such as `<s>` in the text. Default false: they encode as plain text. */
  parseSpecialTokens?: boolean;
}

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, padding, control tokens) from the output. Default false. */
  skipSpecialTokens?: boolean;
}

/** Ids of the special tokens a vocabulary defines; absent when it has none. */
export interface SpecialTokenIds {
  readonly bos?: number;
  readonly eos?: number;
  readonly unknown?: number;
  readonly padding?: number;
}

/**
 * Turns token ids into text one id at a time for streaming. Never emits a broken UTF-8
 * character: bytes of a character split over several tokens are held back until complete.
 */
export interface StreamDecoder {
  /** Feeds one id; returns the text that became complete (possibly empty). */
  push(id: number): string;
  /** Returns any held-back bytes (invalid sequences as U+FFFD) and resets. */
  flush(): string;
}

/** A tokenizer: text to ids and back. */
export interface Tokenizer {
  /** Number of ids in the vocabulary. */
  readonly vocabSize: number;
  /** Special-token ids. */
  readonly specialTokens: SpecialTokenIds;
  /** Encodes text to ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Decodes ids to text; invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** A fresh streaming decoder. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
  /** The vocabulary entry of `id` as stored (e.g. `▁the`, `<0x0A>`), or undefined when out of range. */
  idToToken(id: number): string | undefined;
  /** The id of a vocabulary entry, or undefined. */
  tokenToId(token: string): number | undefined;
}
