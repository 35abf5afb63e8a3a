/**
 * Recognises a tokenizer file's format from its bytes.
 */
import { MAX_TOKEN_LENGTH_LIMIT } from './llama2c.js';

/** Formats {@link detectTokenizerFormat} tells apart. */
export type TokenizerFormat = 'llama2c' | 'gguf' | 'tokenizer-json';

/**
 * The format of a tokenizer file, or undefined when unrecognised. GGUF has a magic number
 * and `tokenizer.json` is a JSON object; llama2.c's `tokenizer.bin` has no magic, so it is
 * recognised by a plausible header and first entry.
 */
export function detectTokenizerFormat(bytes: Uint8Array): TokenizerFormat | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46) {
    return 'gguf';
  }
  const firstNonSpace = bytes.findIndex(
    (byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d,
  );
  if (firstNonSpace >= 0 && bytes[firstNonSpace] === 0x7b) return 'tokenizer-json';
  if (bytes.length < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const maxTokenLength = view.getInt32(0, true);
  const score = view.getFloat32(4, true);
  const length = view.getInt32(8, true);
  const plausible =
    maxTokenLength >= 1 &&
    maxTokenLength <= MAX_TOKEN_LENGTH_LIMIT &&
    Number.isFinite(score) &&
    length >= 0 &&
    length <= maxTokenLength &&
    length <= bytes.length - 12;
  return plausible ? 'llama2c' : undefined;
}
