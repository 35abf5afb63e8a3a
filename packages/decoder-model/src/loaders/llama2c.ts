/**
 * llama2.c checkpoints, "v0" format (karpathy/llama2.c `run.c`):
 *
 *   int32 × 7 header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   (a negative vocab_size means the classifier is stored separately at the end), then float32
 *   weights in this order: token_embedding [V, D], rms_att [L, D], wq [L, H*Dh, D],
 *   wk [L, Hkv*Dh, D], wv [L, Hkv*Dh, D], wo [L, D, H*Dh], rms_ffn [L, D], w1 [L, hidden, D],
 *   w2 [L, D, hidden], w3 [L, hidden, D], rms_final [D], two unused RoPE tables
 *   [seq_len, Dh/2] each, and wcls [V, D] when not shared.
 *
 * Every header field and the exact file size are checked before any weight is touched.
 */
import { FormatError, type HostTensor, type ModelConfig, mismatch, UnsupportedError } from '@rotor/core';
import { MAX_DIMENSION } from '../config.js';
import { type ModelWeights, llamaWeightNames as names } from '../weights.js';

const HEADER_BYTES = 28;
const FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
/** "ak42" read as a little-endian uint32: the magic of llama2.c's versioned (v1, v2) exports. */
const VERSIONED_MAGIC = 0x616b3432;

/** Options of {@link parseLlama2cCheckpoint}. */
export interface Llama2cOptions {
  /** Name used in error messages (a file name or URL). */
  source?: string;
}

/** Reads a llama2.c v0 checkpoint into canonical Llama weights. Throws `FormatError` on malformed input. */
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
  if (view.getUint32(0, true) === VERSIONED_MAGIC) {
    throw new UnsupportedError(
      `${source}: llama2.c versioned export (magic "ak42") is not supported yet; use the v0 format`,
    );
  }
  const header = FIELDS.map((_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, signedVocab, seqLen] = header;
  const vocabSize = Math.abs(signedVocab);
  const field = (i: number, expected: string) =>
    new FormatError(mismatch(`header field ${FIELDS[i]}`, `${source} byte ${i * 4}`, expected, header[i]));
  for (let i = 0; i < header.length; i++) {
    const magnitude = i === 5 ? Math.abs(header[i]) : header[i];
    if (magnitude <= 0 || magnitude > MAX_DIMENSION) {
      throw field(
        i,
        `${i === 5 ? 'a non-zero' : 'a positive'} integer with magnitude up to ${MAX_DIMENSION}`,
      );
    }
  }
  if (dim % numHeads !== 0) throw field(3, `a divisor of dim ${dim}`);
  if (numKvHeads > numHeads || numHeads % numKvHeads !== 0)
    throw field(4, `a divisor of n_heads ${numHeads}`);
  const headDim = dim / numHeads;
  if (headDim % 2 !== 0)
    throw field(3, `a head count giving an even head size (dim ${dim} / n_heads is ${headDim})`);

  const kv = numKvHeads * headDim;
  const shared = signedVocab > 0;
  // Sizes come from the header alone, so a corrupt header is rejected before anything is allocated.
  const perLayerFloats = 2 * dim + dim * dim * 2 + 2 * kv * dim + 3 * hiddenDim * dim;
  const ropeTables = seqLen * headDim;
  const totalFloats = vocabSize * dim * (shared ? 1 : 2) + numLayers * perLayerFloats + dim + ropeTables;
  const expectedBytes = HEADER_BYTES + totalFloats * 4;
  if (bytes.byteLength !== expectedBytes) {
    const what = bytes.byteLength < expectedBytes ? 'file size (truncated)' : 'file size (trailing bytes)';
    throw new FormatError(
      `${source}: ${what}: expected ${expectedBytes} bytes for the header's dimensions ${header.join('/')}, found ${bytes.byteLength} bytes`,
    );
  }

  const layout: [string, number[]][] = [[names.tokenEmbedding, [vocabSize, dim]]];
  const perLayer = (name: (l: number) => string, shape: number[]) => {
    for (let l = 0; l < numLayers; l++) layout.push([name(l), shape]);
  };
  perLayer(names.attentionNorm, [dim]);
  perLayer(names.wq, [dim, dim]);
  perLayer(names.wk, [kv, dim]);
  perLayer(names.wv, [kv, dim]);
  perLayer(names.wo, [dim, dim]);
  perLayer(names.ffnNorm, [dim]);
  perLayer(names.w1, [hiddenDim, dim]);
  perLayer(names.w2, [dim, hiddenDim]);
  perLayer(names.w3, [hiddenDim, dim]);
  layout.push([names.finalNorm, [dim]]);

  const payloadOffset = bytes.byteOffset + HEADER_BYTES;
  const floats =
    payloadOffset % 4 === 0
      ? new Float32Array(bytes.buffer, payloadOffset, totalFloats)
      : new Float32Array(bytes.slice(HEADER_BYTES).buffer);
  const tensors = new Map<string, HostTensor<'f32'>>();
  let offset = 0;
  const take = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { dtype: 'f32', shape, data: floats.subarray(offset, offset + size) });
    offset += size;
  };
  for (const [name, shape] of layout) take(name, shape);
  offset += ropeTables;
  if (!shared) take(names.classifier, [vocabSize, dim]);

  const config: ModelConfig = {
    architecture: 'llama',
    modelDim: dim,
    hiddenDim,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    maxSequenceLength: seqLen,
    norm: 'rms-norm',
    normPlacement: 'pre',
    normEpsilon: 1e-5,
    mlp: 'swiglu',
    tiedEmbeddings: shared,
    positionalEncoding: { type: 'rope', layout: 'interleaved', base: 10000 },
  };
  return { config, tensors };
}

/**
 * Writes Llama weights as a llama2.c v0 checkpoint (the inverse of {@link parseLlama2cCheckpoint};
 * the unused RoPE tables are written as zeros).
 */
export function serializeLlama2cCheckpoint(weights: ModelWeights): Uint8Array {
  const { config } = weights;
  const {
    modelDim: D,
    hiddenDim: F,
    numLayers: L,
    numHeads,
    numKvHeads,
    vocabSize: V,
    maxSequenceLength,
  } = config;
  if (config.architecture !== 'llama' || config.headDim * numHeads !== D) {
    throw new UnsupportedError(
      `llama2.c export: only Llama models with headDim * numHeads = modelDim can be written`,
    );
  }
  const order: string[] = [names.tokenEmbedding];
  const perLayer = (name: (l: number) => string) => {
    for (let l = 0; l < L; l++) order.push(name(l));
  };
  for (const name of [
    names.attentionNorm,
    names.wq,
    names.wk,
    names.wv,
    names.wo,
    names.ffnNorm,
    names.w1,
    names.w2,
    names.w3,
  ]) {
    perLayer(name);
  }
  order.push(names.finalNorm);
  const ropeTables = maxSequenceLength * config.headDim;
  const tensors = order.map((name) => {
    const tensor = weights.tensors.get(name);
    if (!tensor) throw new FormatError(`llama2.c export: tensor "${name}" is missing`);
    return tensor.data;
  });
  const classifier = config.tiedEmbeddings ? undefined : weights.tensors.get(names.classifier)?.data;
  if (!config.tiedEmbeddings && !classifier)
    throw new FormatError(`llama2.c export: tensor "${names.classifier}" is missing`);
  const floats = tensors.reduce((n, t) => n + t.length, 0) + ropeTables + (classifier?.length ?? 0);
  const out = new Uint8Array(HEADER_BYTES + floats * 4);
  const header = new Int32Array(out.buffer, 0, 7);
  header.set([D, F, L, numHeads, numKvHeads, config.tiedEmbeddings ? V : -V, maxSequenceLength]);
  const body = new Float32Array(out.buffer, HEADER_BYTES, floats);
  let offset = 0;
  for (const data of tensors) {
    body.set(data, offset);
    offset += data.length;
  }
  offset += ropeTables;
  if (classifier) body.set(classifier, offset);
  return out;
}
