/**
 * Reader of llama2.c `tokenizer.bin` files.
 *
 * Layout (little-endian): int32 max_token_length, then per entry: float32 score, int32 byte
 * length, that many piece bytes. The file does not store the entry count: run.c reads
 * exactly the checkpoint's vocab_size entries.
 */
import { FormatError, InvalidArgumentError, mismatch } from '@rotor/core';
import { Llama2cTokenizer } from '../tokenizers/llama2c-tokenizer.js';

/** Options of {@link loadLlama2cTokenizer}. */
export interface Llama2cLoadOptions {
  /**
   * Number of entries to read (the model checkpoint's vocab_size), as run.c does; bytes after
   * them are ignored. When absent, entries are read up to the end of the file.
   */
  vocabSize?: number;
  /** Name of the data in error messages (e.g. a file path). Default `"tokenizer.bin"`. */
  source?: string;
}

/** Largest accepted max_token_length; real files have a few dozen at most. */
export const MAX_TOKEN_LENGTH_LIMIT = 65536;
/** Ids 0, 1, 2 are `<unk>`, BOS and EOS, so a usable vocabulary has at least three entries. */
const MIN_VOCAB_SIZE = 3;
const ENTRY_HEADER_BYTES = 8;

/**
 * Reads a llama2.c `tokenizer.bin`. The whole file is validated before anything is
 * allocated; every defect is a `FormatError` naming the byte offset, what was expected and
 * what was found.
 *
 * @example
 * const tokenizer = loadLlama2cTokenizer(bytes, { vocabSize: 512 });
 * tokenizer.encode('Once upon a time', { addSpecialTokens: true }); // [1, 403, 407, 261, 378]
 */
export function loadLlama2cTokenizer(
  bytes: Uint8Array | ArrayBuffer,
  options: Llama2cLoadOptions = {},
): Llama2cTokenizer {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
    throw new InvalidArgumentError(
      mismatch('bytes', 'loadLlama2cTokenizer', 'a Uint8Array or ArrayBuffer', describe(bytes)),
    );
  }
  const { vocabSize } = options;
  if (vocabSize !== undefined && (!Number.isSafeInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE)) {
    throw new InvalidArgumentError(
      mismatch('options.vocabSize', 'loadLlama2cTokenizer', `an integer ≥ ${MIN_VOCAB_SIZE}`, vocabSize),
    );
  }
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const source = options.source ?? 'tokenizer.bin';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const at = (offset: number) => `${source} byte ${offset}`;
  const fail = (what: string, offset: number, expected: string, found: unknown): never => {
    throw new FormatError(mismatch(what, at(offset), expected, found), { details: { source, offset } });
  };

  if (data.length < 4) fail('file length', 0, 'at least 4 bytes (int32 max_token_length)', data.length);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > MAX_TOKEN_LENGTH_LIMIT) {
    fail('header max_token_length', 0, `an integer in 1..${MAX_TOKEN_LENGTH_LIMIT}`, maxTokenLength);
  }

  // Pass 1: validate every entry and size the tables.
  let offset = 4;
  let count = 0;
  let pieceBytes = 0;
  while (vocabSize === undefined ? offset < data.length : count < vocabSize) {
    const left = data.length - offset;
    if (left < ENTRY_HEADER_BYTES) {
      if (left === 0) {
        fail(
          'number of entries before the end of the file',
          offset,
          `${vocabSize} (options.vocabSize)`,
          count,
        );
      }
      fail(`entry ${count}: bytes left for the header`, offset, '8 (float32 score, int32 length)', left);
    }
    const score = view.getFloat32(offset, true);
    if (!Number.isFinite(score)) fail(`entry ${count} score`, offset, 'a finite float32', score);
    const length = view.getInt32(offset + 4, true);
    if (length < 0 || length > maxTokenLength) {
      fail(`entry ${count} piece length`, offset + 4, `0..${maxTokenLength} (max_token_length)`, length);
    }
    if (length > left - ENTRY_HEADER_BYTES) {
      fail(
        `entry ${count} piece length`,
        offset + 4,
        `at most ${left - ENTRY_HEADER_BYTES} (bytes left in the file)`,
        length,
      );
    }
    offset += ENTRY_HEADER_BYTES + length;
    pieceBytes += length;
    count++;
  }
  if (count < MIN_VOCAB_SIZE) {
    fail('number of entries', offset, `at least ${MIN_VOCAB_SIZE} (<unk>, BOS, EOS)`, count);
  }

  // Pass 2: copy into the tables.
  const pieceData = new Uint8Array(pieceBytes);
  const pieceOffsets = new Uint32Array(count + 1);
  const scores = new Float32Array(count);
  offset = 4;
  for (let id = 0; id < count; id++) {
    scores[id] = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += ENTRY_HEADER_BYTES;
    pieceData.set(data.subarray(offset, offset + length), pieceOffsets[id]);
    pieceOffsets[id + 1] = pieceOffsets[id] + length;
    offset += length;
  }
  return new Llama2cTokenizer({ maxTokenLength, pieceData, pieceOffsets, scores });
}

function describe(value: unknown): string {
  return value === null
    ? 'null'
    : typeof value === 'object'
      ? (value.constructor?.name ?? 'object')
      : typeof value;
}
