/**
 * Node entry of `@rotor/tokenizer`: loading tokenizer files from disk.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError, IoError, mismatch, type Tokenizer } from '@rotor/core';
import { detectTokenizerFormat } from '../loaders/detect-format.js';
import { loadGgufTokenizer } from '../loaders/gguf.js';
import { loadLlama2cTokenizer } from '../loaders/llama2c.js';
import { loadTokenizerJson } from '../loaders/tokenizer-json.js';

/** Options of {@link loadTokenizerFile}. */
export interface LoadTokenizerFileOptions {
  /** For llama2.c files: number of entries to read (the checkpoint's vocab_size). */
  vocabSize?: number;
  /**
   * For `tokenizer.json`: the path of `tokenizer_config.json`. Default: the file of that name
   * beside it, when it exists; `null` to use none.
   */
  tokenizerConfigPath?: string | null;
}

/**
 * Reads a tokenizer file and picks the loader from its content: llama2.c `tokenizer.bin`, the
 * vocabulary of a GGUF file (`tokenizer.ggml.model` llama, gpt2 or bert; for a full model
 * file the tensors are not loaded, only validated) or a Hugging Face `tokenizer.json` (with
 * the `tokenizer_config.json` beside it, when there is one).
 *
 * @throws IoError when the file cannot be read; FormatError when it is malformed or its
 *   format is unknown; UnsupportedError for a known format this build cannot load yet.
 */
export async function loadTokenizerFile(
  path: string,
  options: LoadTokenizerFileOptions = {},
): Promise<Tokenizer> {
  const bytes = await readBytes(path, 'tokenizer file');
  const format = detectTokenizerFormat(bytes);
  if (format === 'llama2c')
    return loadLlama2cTokenizer(bytes, { vocabSize: options.vocabSize, source: path });
  if (format === 'gguf') return loadGgufTokenizer(bytes, { source: path });
  if (format === 'tokenizer-json') {
    const configPath = options.tokenizerConfigPath;
    let tokenizerConfig: Uint8Array | undefined;
    if (typeof configPath === 'string') tokenizerConfig = await readBytes(configPath, 'tokenizer config');
    else if (configPath === undefined && basename(path) === 'tokenizer.json') {
      tokenizerConfig = await readFile(join(dirname(path), 'tokenizer_config.json')).catch(() => undefined);
    }
    return loadTokenizerJson(bytes, { source: path, tokenizerConfig });
  }
  throw new FormatError(
    mismatch(
      'tokenizer format',
      path,
      'a GGUF file, a tokenizer.json or a llama2.c tokenizer.bin (int32 max_token_length, then float32 score, int32 length, bytes per entry)',
      describeStart(bytes),
    ),
    { details: { path } },
  );
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new IoError(`${path}: cannot read ${what}${typeof code === 'string' ? ` (${code})` : ''}`, {
      cause,
      details: { path },
    });
  }
}

/** The first bytes in hex and as text, for the unknown-format message. */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const text = Array.from(head, (byte) =>
    byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.',
  ).join('');
  return `${bytes.length} bytes starting ${hex} (${text})`;
}
