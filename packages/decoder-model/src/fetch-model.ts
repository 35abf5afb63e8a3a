/**
 * Downloading model files with web APIs: streamed into one buffer of the announced size (peak
 * memory ≈ the file), progress reported per chunk, and optionally kept in the Cache API so a
 * page loads the model from disk next time.
 */
import { AbortedError, IoError } from '@rotor/core';
import { parseModelWeights } from './language-model.js';
import type { ModelWeights } from './weights.js';

/** Bytes received so far and the total when the server announced it. */
export interface LoadProgress {
  readonly loaded: number;
  readonly total?: number;
}

/** The part of the Cache API this module uses (`caches.open(...)` returns one). */
export interface ResponseCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
}

/** Options of {@link fetchModelBytes}. */
export interface FetchModelOptions {
  /** Called after every chunk. */
  onProgress?: (progress: LoadProgress) => void;
  /** Cancels the download with an `AbortedError`. */
  signal?: AbortSignal;
  /**
   * Where downloads are cached: a cache object, `true` for the Cache API store `rotor-models`
   * (when the environment has one), `false` (default) for none.
   */
  cache?: ResponseCache | boolean;
  /** The fetch implementation; default the global `fetch`. */
  fetch?: typeof fetch;
}

const CACHE_NAME = 'rotor-models';

/** Downloads `url` (or reads it from the cache) into one Uint8Array. */
export async function fetchModelBytes(
  url: string,
  options: FetchModelOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const cache = await openCache(options.cache);
  const cached = await cache?.match(url);
  if (cached) return readBody(cached, url, options);
  const fetcher = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetcher(url, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError(`${url}: download aborted`, { cause: error });
    throw new IoError(`${url}: cannot fetch (${(error as Error).message})`, { cause: error });
  }
  if (!response.ok) throw new IoError(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  const bytes = await readBody(response, url, options);
  await cache?.put(
    url,
    new Response(bytes, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': `${bytes.byteLength}` },
    }),
  );
  return bytes;
}

/** Downloads a single-file checkpoint (GGUF, ONNX, llama2.c) and parses it. */
export async function fetchModelWeights(url: string, options: FetchModelOptions = {}): Promise<ModelWeights> {
  const bytes = await fetchModelBytes(url, options);
  return parseModelWeights(bytes, { source: url.slice(url.lastIndexOf('/') + 1) || url });
}

async function openCache(option: FetchModelOptions['cache']): Promise<ResponseCache | undefined> {
  if (option === undefined || option === false) return undefined;
  if (option !== true) return option;
  const storage = (globalThis as { caches?: { open(name: string): Promise<ResponseCache> } }).caches;
  return storage ? storage.open(CACHE_NAME) : undefined;
}

/** Reads a body into a buffer of the announced length (growing it only when none was announced). */
async function readBody(
  response: Response,
  url: string,
  options: FetchModelOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const header = response.headers.get('content-length');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  let buffer = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  try {
    for (;;) {
      if (options.signal?.aborted)
        throw new AbortedError(`${url}: download aborted`, { cause: options.signal.reason });
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > buffer.byteLength) {
        if (total !== undefined) {
          throw new IoError(`${url}: body: expected ${total} bytes (content-length), found more`);
        }
        const grown = new Uint8Array(Math.max(buffer.byteLength * 2, loaded + value.byteLength));
        grown.set(buffer.subarray(0, loaded));
        buffer = grown;
      }
      buffer.set(value, loaded);
      loaded += value.byteLength;
      options.onProgress?.({ loaded, total });
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof AbortedError || error instanceof IoError) throw error;
    if (options.signal?.aborted) throw new AbortedError(`${url}: download aborted`, { cause: error });
    throw new IoError(`${url}: download failed (${(error as Error).message})`, { cause: error });
  }
  if (total !== undefined && loaded !== total) {
    throw new IoError(`${url}: body: expected ${total} bytes (content-length), found ${loaded}`);
  }
  return loaded === buffer.byteLength ? buffer : buffer.slice(0, loaded);
}
