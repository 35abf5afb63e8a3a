/**
 * The default model (stories260K, llama2.c format): from $ROTOR_FIXTURES or ../shared/fixtures
 * beside the repository when present, else downloaded once from its public origin into
 * ~/.cache/rotor and verified by SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IoError } from '@rotor/core';
import manifest from '../../../tools/fixtures-manifest.json';

const MODEL = 'stories260K/stories260K.bin';
const TOKENIZER = 'stories260K/tok512.bin';

/** Paths of the default model and its tokenizer. */
export interface DefaultModel {
  modelPath: string;
  tokenizerPath: string;
}

function fixtureDirectories(): string[] {
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const directories = [resolve(repositoryRoot, '../shared/fixtures')];
  if (process.env.ROTOR_FIXTURES) directories.unshift(resolve(process.env.ROTOR_FIXTURES));
  return directories;
}

/** Finds the default model locally, downloading it when no copy exists. */
export async function defaultModel(log: (line: string) => void): Promise<DefaultModel> {
  for (const directory of fixtureDirectories()) {
    if (existsSync(join(directory, MODEL)) && existsSync(join(directory, TOKENIZER))) {
      return { modelPath: join(directory, MODEL), tokenizerPath: join(directory, TOKENIZER) };
    }
  }
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rotor');
  return { modelPath: await cached(cache, MODEL, log), tokenizerPath: await cached(cache, TOKENIZER, log) };
}

async function cached(cache: string, path: string, log: (line: string) => void): Promise<string> {
  const entry = manifest.files.find((f) => f.path === path);
  if (!entry?.url) throw new IoError(`default model: no download origin for ${path}`);
  const target = join(cache, path);
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const existing = await readFile(target).catch(() => undefined);
  if (existing && sha256(existing) === entry.sha256) return target;
  log(`downloading ${entry.url}`);
  let bytes: Uint8Array;
  try {
    const response = await fetch(entry.url, { redirect: 'follow' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new IoError(
      `default model: cannot download ${entry.url} (${error instanceof Error ? error.message : String(error)}); set ROTOR_FIXTURES or pass --model`,
      { cause: error },
    );
  }
  if (sha256(bytes) !== entry.sha256) {
    throw new IoError(`default model: ${entry.url}: expected sha256 ${entry.sha256}, found ${sha256(bytes)}`);
  }
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, bytes);
  return target;
}
