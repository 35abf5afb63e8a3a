/**
 * The default model's bytes: from the fixtures the server exposes under /fixtures/ when present,
 * otherwise from its public origin, kept in the Cache API so later visits load offline.
 */
const DEFAULT_FILES = {
  model: {
    local: '/fixtures/stories260K/stories260K.bin',
    remote: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin',
  },
  tokenizer: {
    local: '/fixtures/stories260K/tok512.bin',
    remote: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin',
  },
};

const CACHE_NAME = 'rotor-models-v1';

/** Reports bytes received so far of a download. */
export type ProgressCallback = (loaded: number, total: number) => void;

/** Fetches the default model and tokenizer. */
export async function fetchDefaultModel(
  onProgress: (what: string) => ProgressCallback,
): Promise<{ model: ArrayBuffer; tokenizer: ArrayBuffer }> {
  const [model, tokenizer] = await Promise.all([
    fetchModelFile(DEFAULT_FILES.model, onProgress('stories260K.bin')),
    fetchModelFile(DEFAULT_FILES.tokenizer, onProgress('tok512.bin')),
  ]);
  return { model, tokenizer };
}

async function fetchModelFile(
  file: { local: string; remote: string },
  onProgress: ProgressCallback,
): Promise<ArrayBuffer> {
  const local = await fetch(file.local).catch(() => undefined);
  if (local?.ok) return readWithProgress(local, onProgress);
  const cache = typeof caches === 'undefined' ? undefined : await caches.open(CACHE_NAME);
  const cached = await cache?.match(file.remote);
  if (cached) return readWithProgress(cached, onProgress);
  const response = await fetch(file.remote);
  if (!response.ok) throw new Error(`downloading ${file.remote}: HTTP ${response.status}`);
  const bytes = await readWithProgress(response, onProgress);
  await cache?.put(file.remote, new Response(bytes));
  return bytes;
}

async function readWithProgress(response: Response, onProgress: ProgressCallback): Promise<ArrayBuffer> {
  const total = Number(response.headers.get('Content-Length') ?? 0);
  if (!response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress(loaded, total || loaded);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes.buffer;
}
