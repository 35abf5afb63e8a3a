/**
 * Node-only helpers: load a model and its tokenizer from files.
 */
import { access, open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError, InvalidArgumentError, IoError, type Tokenizer } from '@rotor/core';
import { loadGgufTokenizer } from '@rotor/tokenizer';
import { loadTokenizerFile } from '@rotor/tokenizer/node';
import { chatTemplateFromTokenizerConfig } from '../chat-template.js';
import type { LoadProgress } from '../fetch-model.js';
import {
  createLanguageModel,
  type LanguageModel,
  type LanguageModelOptions,
  parseModelWeights,
} from '../language-model.js';
import type { GgufModelWeights } from '../loaders/gguf.js';
import { parseHuggingFaceModel } from '../loaders/safetensors.js';
import type { ModelWeights } from '../weights.js';

/** Options of {@link readModelWeightsFile}. */
export interface ReadModelOptions {
  /** Called as the model's bytes are read (all files of a folder counted together). */
  onProgress?: (progress: LoadProgress) => void;
  /** Keep a GGUF file's Q8_0/Q4_0/F16 weight matrices as stored (`parseGgufWeights` option). Default false. */
  keepQuantized?: boolean;
}

/** Options of {@link loadLanguageModelFile}. */
export interface LoadLanguageModelFileOptions extends LanguageModelOptions, ReadModelOptions {
  /**
   * Tokenizer file. Default: a GGUF model's embedded vocabulary; otherwise `tokenizer.bin`, then
   * `tok<vocabSize>.bin` (llama2.c's conventions), then `tokenizer.json`, beside the model.
   */
  tokenizerPath?: string;
}

/** A loaded model plus how long loading took. */
export interface LoadedLanguageModel extends LanguageModel {
  /** Milliseconds from the start of the call to a model ready to generate. */
  readonly loadMs: number;
  /** The tokenizer file that was used (the model file itself for an embedded GGUF vocabulary). */
  readonly tokenizerPath: string;
}

/**
 * Reads a checkpoint: a llama2.c `.bin`, a `.gguf` or an `.onnx` file (format detected from its
 * bytes), or a Hugging Face folder (`config.json` plus `model.safetensors` or the shards listed
 * in `model.safetensors.index.json`), given as the folder or any file in it ending in
 * `.safetensors` or `config.json`.
 */
export async function readModelWeightsFile(
  path: string,
  options: ReadModelOptions = {},
): Promise<ModelWeights> {
  const folder = await huggingFaceFolder(path);
  if (folder !== undefined) return readHuggingFaceFolder(folder, options);
  const progress = new ProgressCounter(options.onProgress);
  return parseModelWeights(await readFileOrThrow(path, 'model', progress), {
    source: basename(path),
    keepQuantized: options.keepQuantized,
  });
}

/** Loads a model file and its tokenizer and builds a ready {@link LanguageModel}. */
export async function loadLanguageModelFile(
  modelPath: string,
  options: LoadLanguageModelFileOptions = {},
): Promise<LoadedLanguageModel> {
  const start = performance.now();
  const weights = await readModelWeightsFile(modelPath, options);
  const gguf = (weights as Partial<GgufModelWeights>).gguf;
  let tokenizer: Tokenizer;
  let tokenizerPath: string;
  if (options.tokenizerPath === undefined && gguf) {
    tokenizer = loadGgufTokenizer(gguf, { source: basename(modelPath) });
    tokenizerPath = modelPath;
  } else {
    tokenizerPath = options.tokenizerPath ?? (await findTokenizerBeside(modelPath, weights.config.vocabSize));
    tokenizer = await loadTokenizerFile(tokenizerPath, { vocabSize: weights.config.vocabSize });
  }
  const chatTemplate = options.chatTemplate ?? (await findChatTemplate(modelPath, gguf));
  const model = await createLanguageModel(weights, tokenizer, { ...options, chatTemplate });
  return { ...model, loadMs: performance.now() - start, tokenizerPath };
}

/** The Hugging Face folder `path` names, or undefined when it names a single-file checkpoint. */
async function huggingFaceFolder(path: string): Promise<string | undefined> {
  if (path.endsWith('.safetensors') || basename(path) === 'config.json') return dirname(path);
  try {
    if ((await stat(path)).isDirectory()) return path;
  } catch {
    // not there: reading it as a file reports the error
  }
  return undefined;
}

async function readHuggingFaceFolder(folder: string, options: ReadModelOptions): Promise<ModelWeights> {
  const config = await readJson(join(folder, 'config.json'));
  const indexPath = join(folder, 'model.safetensors.index.json');
  let shardNames = ['model.safetensors'];
  if (await exists(indexPath)) {
    const index = (await readJson(indexPath)) as { weight_map?: Record<string, unknown> };
    const files = Object.values(index.weight_map ?? {});
    if (
      files.length === 0 ||
      !files.every((f) => typeof f === 'string' && !f.includes('/') && !f.includes('\\'))
    ) {
      throw new FormatError(
        `${indexPath}: weight_map: expected tensor names mapped to file names in the folder`,
      );
    }
    shardNames = [...new Set(files as string[])];
  }
  const paths = shardNames.map((name) => join(folder, name));
  const progress = new ProgressCounter(options.onProgress);
  for (const shard of paths) progress.total += await sizeOf(shard);
  const shards = [];
  for (const shard of paths) shards.push(await readFileOrThrow(shard, 'safetensors', progress));
  return parseHuggingFaceModel(config, shards, { source: folder });
}

/** GGUF `tokenizer.chat_template`, or `chat_template` of a `tokenizer_config.json` beside the model. */
async function findChatTemplate(
  modelPath: string,
  gguf: GgufModelWeights['gguf'] | undefined,
): Promise<string | undefined> {
  if (gguf) {
    const entry = gguf.metadata.get('tokenizer.chat_template');
    return entry?.type === 'string' ? entry.value : undefined;
  }
  const folder = (await huggingFaceFolder(modelPath)) ?? dirname(modelPath);
  const path = join(folder, 'tokenizer_config.json');
  return (await exists(path)) ? chatTemplateFromTokenizerConfig(await readJson(path)) : undefined;
}

async function readJson(path: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readFileOrThrow(path, 'JSON'));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FormatError(`${path}: expected JSON, found invalid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function findTokenizerBeside(modelPath: string, vocabSize: number): Promise<string> {
  const folder = (await huggingFaceFolder(modelPath)) ?? dirname(modelPath);
  const candidates = [
    join(folder, 'tokenizer.bin'),
    join(folder, `tok${vocabSize}.bin`),
    join(folder, 'tokenizer.json'),
  ];
  for (const candidate of candidates) if (await exists(candidate)) return candidate;
  throw new InvalidArgumentError(
    `tokenizer: none given and none found beside the model (looked for ${candidates.join(', ')}); pass one explicitly`,
  );
}

/** Bytes per read: progress is reported this often. */
const READ_CHUNK = 16 * 1024 * 1024;

/** Sums bytes read across files and reports them. */
class ProgressCounter {
  loaded = 0;
  total = 0;
  constructor(private readonly report?: (progress: LoadProgress) => void) {}

  add(bytes: number): void {
    this.loaded += bytes;
    this.report?.({ loaded: this.loaded, total: this.total });
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Reads a file in chunks into one buffer of its size, reporting progress. */
async function readFileOrThrow(path: string, what: string, progress?: ProgressCounter): Promise<Uint8Array> {
  try {
    const handle = await open(path, 'r');
    try {
      const size = (await handle.stat()).size;
      if (progress && progress.total < progress.loaded + size) progress.total = progress.loaded + size;
      const buffer = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const { bytesRead } = await handle.read(buffer, at, Math.min(READ_CHUNK, size - at), at);
        if (bytesRead === 0) break;
        at += bytesRead;
        progress?.add(bytesRead);
      }
      return at === size ? buffer : buffer.subarray(0, at);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(error));
    throw new IoError(`${what} file ${path}: cannot read (${reason})`, { cause: error });
  }
}
