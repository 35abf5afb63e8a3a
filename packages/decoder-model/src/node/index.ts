/**
 * Node-only helpers: load a model and its tokenizer from files.
 */
import { access, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, IoError } from '@rotor/core';
import { loadTokenizerFile } from '@rotor/tokenizer/node';
import {
  createLanguageModel,
  type LanguageModel,
  type LanguageModelOptions,
  parseModelWeights,
} from '../language-model.js';
import type { ModelWeights } from '../weights.js';

/** Options of {@link loadLanguageModelFile}. */
export interface LoadLanguageModelFileOptions extends LanguageModelOptions {
  /**
   * Tokenizer file. Default: `tokenizer.bin`, then `tok<vocabSize>.bin`, beside the model
   * (llama2.c's conventions).
   */
  tokenizerPath?: string;
}

/** A loaded model plus how long loading took. */
export interface LoadedLanguageModel extends LanguageModel {
  /** Milliseconds from the start of the call to a model ready to generate. */
  readonly loadMs: number;
  /** The tokenizer file that was used. */
  readonly tokenizerPath: string;
}

/** Reads a checkpoint file and parses it (format detected from its bytes). */
export async function readModelWeightsFile(path: string): Promise<ModelWeights> {
  return parseModelWeights(await readFileOrThrow(path, 'model'), { source: basename(path) });
}

/** Loads a model file and its tokenizer file and builds a ready {@link LanguageModel}. */
export async function loadLanguageModelFile(
  modelPath: string,
  options: LoadLanguageModelFileOptions = {},
): Promise<LoadedLanguageModel> {
  const start = performance.now();
  const weights = await readModelWeightsFile(modelPath);
  const tokenizerPath =
    options.tokenizerPath ?? (await findTokenizerBeside(modelPath, weights.config.vocabSize));
  const tokenizer = await loadTokenizerFile(tokenizerPath, { vocabSize: weights.config.vocabSize });
  const model = await createLanguageModel(weights, tokenizer, options);
  return { ...model, loadMs: performance.now() - start, tokenizerPath };
}

async function findTokenizerBeside(modelPath: string, vocabSize: number): Promise<string> {
  const candidates = [
    join(dirname(modelPath), 'tokenizer.bin'),
    join(dirname(modelPath), `tok${vocabSize}.bin`),
  ];
  for (const candidate of candidates) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next convention
    }
  }
  throw new InvalidArgumentError(
    `tokenizer: none given and none found beside the model (looked for ${candidates.join(', ')}); pass one explicitly`,
  );
}

async function readFileOrThrow(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(error));
    throw new IoError(`${what} file ${path}: cannot read (${reason})`, { cause: error });
  }
}
