/**
 * llama2.c checkpoints (karpathy/llama2.c `export.py`), three layouts:
 *
 * - v0 ("legacy", read by `run.c`): int32 × 7 header dim, hidden_dim, n_layers, n_heads,
 *   n_kv_heads, vocab_size, seq_len (a negative vocab_size means a separate classifier at the
 *   end), then float32 weights: token_embedding [V, D], rms_att [L, D], wq [L, H*Dh, D],
 *   wk [L, Hkv*Dh, D], wv [L, Hkv*Dh, D], wo [L, D, H*Dh], rms_ffn [L, D], w1 [L, hidden, D],
 *   w2 [L, D, hidden], w3 [L, hidden, D], rms_final [D], two unused RoPE tables [seq_len, Dh/2]
 *   each, and wcls [V, D] when not shared.
 * - v1 (float32): uint32 magic "ak42", int32 version 1, the 7 fields (vocab_size positive), a
 *   uint8 shared-classifier flag, zeros up to byte 256; then rms_att [L, D], rms_ffn [L, D],
 *   rms_final [D], token_embedding, wq, wk, wv, wo, w1, w2, w3 (all layers of each), wcls when
 *   not shared.
 * - v2 (Q8_0, read by `runq.c`): like v1 with version 2 and an int32 group size after the flag;
 *   then the norms in float32 as in v1, and each matrix of the v1 order (token_embedding, then
 *   every layer's wq, ...) as int8 values followed by one float32 scale per group; a value is
 *   `q * scale`. Dequantised to f32 at load.
 *
 * Every header field and the exact file size are checked before any weight is touched.
 */
import { FormatError, type HostTensor, type ModelConfig, mismatch, UnsupportedError } from '@rotor/core';
import { MAX_DIMENSION } from '../config.js';
import { type ModelWeights, weightNames as names } from '../weights.js';

const HEADER_BYTES = 28;
const VERSIONED_HEADER_BYTES = 256;
const FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
/** "ak42" read as a little-endian uint32: the magic of llama2.c's versioned (v1, v2) exports. */
const VERSIONED_MAGIC = 0x616b3432;

/** Options of {@link parseLlama2cCheckpoint}. */
export interface Llama2cOptions {
  /** Name used in error messages (a file name or URL). */
  source?: string;
}

/** The header's dimensions after validation. */
interface Dimensions {
  dim: number;
  hiddenDim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  vocabSize: number;
  seqLen: number;
  headDim: number;
  kv: number;
}

/**
 * Reads a llama2.c checkpoint (v0, v1 or v2 — detected from the magic) into canonical Llama
 * weights. Throws `FormatError` on malformed input.
 */
export function parseLlama2cCheckpoint(
  input: ArrayBuffer | Uint8Array,
  options: Llama2cOptions = {},
): ModelWeights {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const source = options.source ?? 'llama2.c checkpoint';
  if (bytes.byteLength < HEADER_BYTES) {
    throw new FormatError(
      `${source}: header: expected at least ${HEADER_BYTES} bytes, found ${bytes.byteLength} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === VERSIONED_MAGIC) return parseVersioned(bytes, view, source);

  const signedVocab = view.getInt32(20, true);
  const d = readDimensions(view, 0, source, true);
  const shared = signedVocab > 0;
  // Sizes come from the header alone, so a corrupt header is rejected before anything is allocated.
  const ropeTables = d.seqLen * d.headDim;
  const totalFloats = matrixFloats(d, shared) + normFloats(d) + ropeTables;
  checkSize(
    bytes,
    HEADER_BYTES + totalFloats * 4,
    `the header's dimensions ${headerValues(view, 0).join('/')}`,
    source,
  );

  const floats = floatsAt(bytes, HEADER_BYTES, totalFloats);
  const tensors = new Map<string, HostTensor<'f32'>>();
  let offset = 0;
  const take = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { dtype: 'f32', shape, data: floats.subarray(offset, offset + size) });
    offset += size;
  };
  for (const [name, shape] of v0Order(d)) take(name, shape);
  offset += ropeTables;
  if (!shared) take(names.classifier, [d.vocabSize, d.dim]);
  return { config: llamaConfigOf(d, shared), tensors };
}

function parseVersioned(bytes: Uint8Array, view: DataView, source: string): ModelWeights {
  if (bytes.byteLength < VERSIONED_HEADER_BYTES) {
    throw new FormatError(
      `${source}: llama2.c versioned header: expected ${VERSIONED_HEADER_BYTES} bytes, found ${bytes.byteLength} bytes`,
    );
  }
  const version = view.getInt32(4, true);
  if (version !== 1 && version !== 2) {
    throw new UnsupportedError(
      `${source}: llama2.c versioned export (magic "ak42") version ${version} is not supported (expected 1 or 2)`,
    );
  }
  const d = readDimensions(view, 8, source, false);
  const flag = bytes[36];
  if (flag > 1) {
    throw new FormatError(mismatch('shared_classifier flag', `${source} byte 36`, '0 or 1', flag));
  }
  const shared = flag === 1;
  const description = `version ${version} with dimensions ${headerValues(view, 8).join('/')}`;
  const tensors = new Map<string, HostTensor<'f32'>>();
  if (version === 1) {
    const total = normFloats(d) + matrixFloats(d, shared);
    checkSize(bytes, VERSIONED_HEADER_BYTES + total * 4, description, source);
    const norms = versionedNorms(d);
    const matrices = versionedMatrices(d, shared);
    const floats = floatsAt(bytes, VERSIONED_HEADER_BYTES, total);
    let offset = 0;
    for (const [name, shape] of [...norms, ...matrices]) {
      const size = shape.reduce((a, b) => a * b, 1);
      tensors.set(name, { dtype: 'f32', shape, data: floats.subarray(offset, offset + size) });
      offset += size;
    }
    return { config: llamaConfigOf(d, shared), tensors };
  }
  const groupSize = view.getInt32(37, true);
  if (groupSize <= 0 || groupSize > MAX_DIMENSION || d.dim % groupSize !== 0) {
    throw new FormatError(
      mismatch('group_size', `${source} byte 37`, `a positive divisor of dim ${d.dim}`, groupSize),
    );
  }
  // Every matrix has dim as a factor, so it splits into whole groups: int8 values plus a float32 scale per group.
  const values = matrixFloats(d, shared);
  const quantizedBytes = values + (values / groupSize) * 4;
  checkSize(
    bytes,
    VERSIONED_HEADER_BYTES + normFloats(d) * 4 + quantizedBytes,
    `${description}, group size ${groupSize}`,
    source,
  );
  // Layouts list every layer, so they are built only once the size has bounded the layer count.
  const norms = versionedNorms(d);
  const matrices = versionedMatrices(d, shared);
  const normData = floatsAt(bytes, VERSIONED_HEADER_BYTES, normFloats(d));
  let offset = 0;
  for (const [name, shape] of norms) {
    tensors.set(name, { dtype: 'f32', shape, data: normData.subarray(offset, offset + shape[0]) });
    offset += shape[0];
  }
  let at = VERSIONED_HEADER_BYTES + normFloats(d) * 4;
  for (const [name, shape] of matrices) {
    const count = shape[0] * shape[1];
    const groups = count / groupSize;
    const scales = floatsAt(bytes, at + count, groups);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++)
      data[i] = ((bytes[at + i] << 24) >> 24) * scales[Math.floor(i / groupSize)];
    tensors.set(name, { dtype: 'f32', shape, data });
    at += count + groups * 4;
  }
  return { config: llamaConfigOf(d, shared), tensors };
}

/** Validates the 7 header fields at `at` (v0 allows a negative vocab_size). */
function readDimensions(view: DataView, at: number, source: string, signedVocab: boolean): Dimensions {
  const header = headerValues(view, at);
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, vocab, seqLen] = header;
  const field = (i: number, expected: string) =>
    new FormatError(
      mismatch(`header field ${FIELDS[i]}`, `${source} byte ${at + i * 4}`, expected, header[i]),
    );
  for (let i = 0; i < header.length; i++) {
    const allowNegative = signedVocab && i === 5;
    const magnitude = allowNegative ? Math.abs(header[i]) : header[i];
    if (magnitude <= 0 || magnitude > MAX_DIMENSION) {
      throw field(
        i,
        `${allowNegative ? 'a non-zero' : 'a positive'} integer with magnitude up to ${MAX_DIMENSION}`,
      );
    }
  }
  if (dim % numHeads !== 0) throw field(3, `a divisor of dim ${dim}`);
  if (numKvHeads > numHeads || numHeads % numKvHeads !== 0)
    throw field(4, `a divisor of n_heads ${numHeads}`);
  const headDim = dim / numHeads;
  if (headDim % 2 !== 0)
    throw field(3, `a head count giving an even head size (dim ${dim} / n_heads is ${headDim})`);
  return {
    dim,
    hiddenDim,
    numLayers,
    numHeads,
    numKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    headDim,
    kv: numKvHeads * headDim,
  };
}

function headerValues(view: DataView, at: number): number[] {
  return FIELDS.map((_, i) => view.getInt32(at + i * 4, true));
}

function checkSize(bytes: Uint8Array, expected: number, forWhat: string, source: string): void {
  if (bytes.byteLength !== expected) {
    const what = bytes.byteLength < expected ? 'file size (truncated)' : 'file size (trailing bytes)';
    throw new FormatError(
      `${source}: ${what}: expected ${expected} bytes for ${forWhat}, found ${bytes.byteLength} bytes`,
    );
  }
}

/** `count` float32 values at byte `at`, viewed in place when aligned, copied otherwise. */
function floatsAt(bytes: Uint8Array, at: number, count: number): Float32Array {
  const start = bytes.byteOffset + at;
  if (start % 4 === 0) return new Float32Array(bytes.buffer, start, count);
  return new Float32Array(bytes.slice(at, at + count * 4).buffer);
}

function normFloats(d: Dimensions): number {
  return (2 * d.numLayers + 1) * d.dim;
}

function matrixFloats(d: Dimensions, shared: boolean): number {
  const perLayer = d.dim * d.dim * 2 + 2 * d.kv * d.dim + 3 * d.hiddenDim * d.dim;
  return d.vocabSize * d.dim * (shared ? 1 : 2) + d.numLayers * perLayer;
}

type Layout = [string, number[]][];

function perLayer(d: Dimensions, layout: Layout, name: (l: number) => string, shape: number[]): void {
  for (let l = 0; l < d.numLayers; l++) layout.push([name(l), shape]);
}

/** v0 order, without the RoPE tables and the separate classifier. */
function v0Order(d: Dimensions): Layout {
  const layout: Layout = [[names.tokenEmbedding, [d.vocabSize, d.dim]]];
  perLayer(d, layout, names.attentionNorm, [d.dim]);
  perLayer(d, layout, names.wq, [d.dim, d.dim]);
  perLayer(d, layout, names.wk, [d.kv, d.dim]);
  perLayer(d, layout, names.wv, [d.kv, d.dim]);
  perLayer(d, layout, names.wo, [d.dim, d.dim]);
  perLayer(d, layout, names.ffnNorm, [d.dim]);
  perLayer(d, layout, names.w1, [d.hiddenDim, d.dim]);
  perLayer(d, layout, names.w2, [d.dim, d.hiddenDim]);
  perLayer(d, layout, names.w3, [d.hiddenDim, d.dim]);
  layout.push([names.finalNorm, [d.dim]]);
  return layout;
}

/** v1/v2: the float32 norms first. */
function versionedNorms(d: Dimensions): Layout {
  const layout: Layout = [];
  perLayer(d, layout, names.attentionNorm, [d.dim]);
  perLayer(d, layout, names.ffnNorm, [d.dim]);
  layout.push([names.finalNorm, [d.dim]]);
  return layout;
}

/** v1/v2: the matrices, in `export.py` order. */
function versionedMatrices(d: Dimensions, shared: boolean): Layout {
  const layout: Layout = [[names.tokenEmbedding, [d.vocabSize, d.dim]]];
  perLayer(d, layout, names.wq, [d.dim, d.dim]);
  perLayer(d, layout, names.wk, [d.kv, d.dim]);
  perLayer(d, layout, names.wv, [d.kv, d.dim]);
  perLayer(d, layout, names.wo, [d.dim, d.dim]);
  perLayer(d, layout, names.w1, [d.hiddenDim, d.dim]);
  perLayer(d, layout, names.w2, [d.dim, d.hiddenDim]);
  perLayer(d, layout, names.w3, [d.hiddenDim, d.dim]);
  if (!shared) layout.push([names.classifier, [d.vocabSize, d.dim]]);
  return layout;
}

function llamaConfigOf(d: Dimensions, shared: boolean): ModelConfig {
  return {
    architecture: 'llama',
    modelDim: d.dim,
    hiddenDim: d.hiddenDim,
    numLayers: d.numLayers,
    numHeads: d.numHeads,
    numKvHeads: d.numKvHeads,
    headDim: d.headDim,
    vocabSize: d.vocabSize,
    maxSequenceLength: d.seqLen,
    norm: 'rms-norm',
    normPlacement: 'pre',
    normEpsilon: 1e-5,
    mlp: 'swiglu',
    tiedEmbeddings: shared,
    positionalEncoding: { type: 'rope', layout: 'interleaved', base: 10000 },
  };
}

/** Options of {@link serializeLlama2cCheckpoint}. */
export interface Llama2cWriteOptions {
  /** Layout version: 0 (default, what `run.c` reads), 1 (float32) or 2 (Q8_0, what `runq.c` reads). */
  version?: 0 | 1 | 2;
  /** Q8_0 group size for version 2; default 64, halved until it divides dim (as `export.py`). */
  groupSize?: number;
}

/**
 * Writes Llama weights as a llama2.c checkpoint (the inverse of {@link parseLlama2cCheckpoint};
 * v0's unused RoPE tables are written as zeros; v2 quantises as `export.py`: per group,
 * `scale = max|w| / 127`, `q = round(w / scale)`).
 */
export function serializeLlama2cCheckpoint(
  weights: ModelWeights,
  options: Llama2cWriteOptions = {},
): Uint8Array {
  const { config } = weights;
  const { modelDim: D, numHeads } = config;
  if (config.architecture !== 'llama' || config.headDim * numHeads !== D) {
    throw new UnsupportedError(
      `llama2.c export: only Llama models with headDim * numHeads = modelDim can be written`,
    );
  }
  const d: Dimensions = {
    dim: D,
    hiddenDim: config.hiddenDim,
    numLayers: config.numLayers,
    numHeads,
    numKvHeads: config.numKvHeads,
    vocabSize: config.vocabSize,
    seqLen: config.maxSequenceLength,
    headDim: config.headDim,
    kv: config.numKvHeads * config.headDim,
  };
  const shared = config.tiedEmbeddings;
  const get = (name: string) => {
    const tensor = weights.tensors.get(name);
    if (!tensor) throw new FormatError(`llama2.c export: tensor "${name}" is missing`);
    return tensor.data;
  };
  const fields = [D, d.hiddenDim, d.numLayers, numHeads, d.numKvHeads, d.vocabSize, d.seqLen];
  const version = options.version ?? 0;
  if (version === 0) {
    const order = v0Order(d).map(([name]) => get(name));
    const classifier = shared ? undefined : get(names.classifier);
    const ropeTables = d.seqLen * d.headDim;
    const floats = order.reduce((n, t) => n + t.length, 0) + ropeTables + (classifier?.length ?? 0);
    const out = new Uint8Array(HEADER_BYTES + floats * 4);
    new Int32Array(out.buffer, 0, 7).set([
      ...fields.slice(0, 5),
      shared ? d.vocabSize : -d.vocabSize,
      d.seqLen,
    ]);
    const body = new Float32Array(out.buffer, HEADER_BYTES, floats);
    let offset = 0;
    for (const data of order) {
      body.set(data, offset);
      offset += data.length;
    }
    if (classifier) body.set(classifier, offset + ropeTables);
    return out;
  }
  const header = new Uint8Array(VERSIONED_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, VERSIONED_MAGIC, true);
  view.setInt32(4, version, true);
  for (const [i, value] of fields.entries()) view.setInt32(8 + i * 4, value, true);
  header[36] = shared ? 1 : 0;
  const norms = versionedNorms(d).map(([name]) => get(name));
  const matrices = versionedMatrices(d, shared).map(([name]) => get(name));
  const parts: Uint8Array[] = [header, ...norms.map(asBytes)];
  if (version === 1) {
    parts.push(...matrices.map(asBytes));
  } else {
    let groupSize = options.groupSize ?? 64;
    while (D % groupSize !== 0) groupSize = Math.floor(groupSize / 2);
    view.setInt32(37, groupSize, true);
    for (const data of matrices) parts.push(...quantizeQ80(data, groupSize));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function asBytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** `export.py` `quantize_q80`: int8 values, then one float32 scale per group. */
function quantizeQ80(data: Float32Array, groupSize: number): [Uint8Array, Uint8Array] {
  const values = new Int8Array(data.length);
  const scales = new Float32Array(data.length / groupSize);
  for (let g = 0; g < scales.length; g++) {
    let max = 0;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) max = Math.max(max, Math.abs(data[i]));
    const scale = Math.fround(max / 127);
    scales[g] = scale;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) {
      values[i] = scale === 0 ? 0 : roundHalfEven(data[i] / scale);
    }
  }
  return [new Uint8Array(values.buffer), asBytes(scales)];
}

/** `torch.round`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
