/**
 * Writes a Llama-family model as a GGUF v3 file (llama.cpp's layout, read back by `readGguf` of
 * `@rotor/tokenizer` and by llama.cpp): `llama.*` metadata from the config, any extra metadata
 * (e.g. a source GGUF's `tokenizer.*` vocabulary), then the tensors under llama.cpp's names, each
 * aligned to 32 bytes.
 *
 * With `weightType` `q8_0` or `q4_0`, every weight matrix whose input width is a multiple of 32
 * (attention and feed-forward projections, the token embedding, a separate output matrix) is
 * quantised as llama.cpp's reference quantiser does; norms, biases and matrices of other widths
 * stay F32 (llama.cpp falls back the same way). With `f16`, every weight matrix is F16 (rounded to
 * nearest even; a value beyond the half range is an error, not an infinity), norms and biases F32.
 * Matrices already held in the chosen type (`ModelWeights.quantized`) are copied unchanged; others
 * are decoded to f32 first, so a kept F16 or Q8_0 matrix exported as another type is converted from
 * its exact values.
 */
import { floatToHalf, quantizeBlocks } from '@rotor/attention-core';
import { type HostTensor, InvalidArgumentError, UnsupportedError } from '@rotor/core';
import type { GgufValue } from '@rotor/tokenizer';
import { kvDim, queryDim } from '../config.js';
import {
  type ModelWeights,
  weightNames as names,
  optionalTensor,
  requireMatrix,
  requireTensor,
  type StoredWeightType,
} from '../weights.js';

/** Options of {@link serializeGguf}. */
export interface GgufWriteOptions {
  /** Type of the weight matrices: `f32` (default), `f16`, `q8_0` or `q4_0`. */
  weightType?: 'f32' | StoredWeightType;
  /**
   * Extra metadata written after the `general.*` and `llama.*` keys this writer sets (which win),
   * e.g. the `tokenizer.ggml.*` keys of a source GGUF so the file carries its vocabulary.
   */
  metadata?: ReadonlyMap<string, GgufValue>;
  /** `general.name`. */
  name?: string;
}

const ALIGNMENT = 32;

/** GGML type ids (ggml.h). */
const GGML_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 } as const;

/** llama.cpp `llama_ftype`: all F32, mostly F16, mostly Q4_0, mostly Q8_0. */
const FILE_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 } as const;

const VALUE_TYPE: Record<string, number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

interface TensorEntry {
  readonly name: string;
  /** Row-major shape, outermost first (written reversed, innermost first). */
  readonly shape: readonly number[];
  readonly type: number;
  readonly data: Uint8Array;
}

/** Little-endian byte sink that grows as needed. */
class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length++, value);
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  u64(value: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  string(text: string): void {
    const encoded = new TextEncoder().encode(text);
    this.u64(encoded.length);
    this.bytes(encoded);
  }

  pad(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }

  scalar(type: string, value: number | bigint | boolean | string): void {
    const at = this.length;
    switch (type) {
      case 'string':
        this.string(value as string);
        return;
      case 'bool':
        this.u8(value ? 1 : 0);
        return;
      case 'uint64':
      case 'int64':
        this.reserve(8);
        if (type === 'uint64') this.view.setBigUint64(at, BigInt(value as bigint), true);
        else this.view.setBigInt64(at, BigInt(value as bigint), true);
        this.length += 8;
        return;
      default: {
        const size = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 }[
          type
        ] as number;
        this.reserve(size);
        const view = this.view;
        const n = value as number;
        if (type === 'uint8') view.setUint8(at, n);
        else if (type === 'int8') view.setInt8(at, n);
        else if (type === 'uint16') view.setUint16(at, n, true);
        else if (type === 'int16') view.setInt16(at, n, true);
        else if (type === 'uint32') view.setUint32(at, n, true);
        else if (type === 'int32') view.setInt32(at, n, true);
        else if (type === 'float32') view.setFloat32(at, n, true);
        else view.setFloat64(at, n, true);
        this.length += size;
      }
    }
  }

  value(entry: GgufValue): void {
    this.u32(VALUE_TYPE[entry.type]);
    if (entry.type !== 'array') {
      this.scalar(entry.type, entry.value);
      return;
    }
    this.u32(VALUE_TYPE[entry.elementType]);
    this.u64(entry.value.length);
    for (const element of entry.value as Iterable<unknown>) {
      if (entry.elementType === 'array') {
        const nested = element as GgufValue & { type: 'array' };
        this.u32(VALUE_TYPE[nested.elementType]);
        this.u64(nested.value.length);
        for (const inner of nested.value as Iterable<number | string | boolean | bigint>)
          this.scalar(nested.elementType, inner);
      } else {
        this.scalar(entry.elementType, element as number | string | boolean | bigint);
      }
    }
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function bytesOf(data: Float32Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** `values` as little-endian half bits; a finite value beyond ±65504 (after rounding) is an error. */
function halfBytes(ggufName: string, values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = floatToHalf(values[i]);
    if ((out[i] & 0x7c00) === 0x7c00 && Number.isFinite(values[i])) {
      throw new InvalidArgumentError(
        `gguf writer: tensor "${ggufName}"[${i}]: expected a value within the f16 range (|x| <= 65504), found ${values[i]}`,
      );
    }
  }
  return bytesOf(out);
}

/** Serialises `weights` (a Llama-family model) as a GGUF v3 file. */
export function serializeGguf(weights: ModelWeights, options: GgufWriteOptions = {}): Uint8Array {
  const { config } = weights;
  const weightType = options.weightType ?? 'f32';
  if (weightType !== 'f32' && weightType !== 'f16' && weightType !== 'q8_0' && weightType !== 'q4_0') {
    throw new UnsupportedError(
      `gguf writer: weightType: expected f32, f16, q8_0 or q4_0, found ${String(weightType)}`,
    );
  }
  const spec = config.positionalEncoding as {
    type?: string;
    layout?: string;
    base?: number;
    rotaryDim?: number;
    scaling?: unknown;
  };
  if (
    config.norm !== 'rms-norm' ||
    config.normPlacement !== 'pre' ||
    config.mlp !== 'swiglu' ||
    spec.type !== 'rope' ||
    (spec.layout ?? 'interleaved') !== 'interleaved' ||
    spec.scaling !== undefined
  ) {
    throw new UnsupportedError(
      'gguf writer: model: expected a Llama-family model (pre-norm RMSNorm, SwiGLU, interleaved RoPE without scaling), found another architecture',
    );
  }
  const { modelDim: D, hiddenDim: F, vocabSize: V, numLayers } = config;
  const Q = queryDim(config);
  const KV = kvDim(config);

  const entries: TensorEntry[] = [];
  const plain = (ggufName: string, tensor: HostTensor<'f32'> | undefined) => {
    if (tensor)
      entries.push({ name: ggufName, shape: tensor.shape, type: GGML_TYPE.f32, data: bytesOf(tensor.data) });
  };
  const matrix = (ggufName: string, name: string, shape: number[]) => {
    const kept = weights.quantized?.get(name);
    if (kept && kept.dtype === weightType) {
      const data = bytesOf(requireMatrix(weights, name, shape).data as Uint8Array | Uint16Array);
      entries.push({ name: ggufName, shape, type: GGML_TYPE[kept.dtype], data });
      return;
    }
    const tensor = requireTensor(weights, name, shape);
    if (weightType === 'f16')
      entries.push({ name: ggufName, shape, type: GGML_TYPE.f16, data: halfBytes(ggufName, tensor.data) });
    else if (weightType === 'f32' || shape[1] % 32 !== 0) plain(ggufName, tensor);
    else
      entries.push({
        name: ggufName,
        shape,
        type: GGML_TYPE[weightType],
        data: quantizeBlocks(tensor.data, weightType),
      });
  };

  const embedding =
    weights.quantized?.get(names.classifier)?.dtype === weightType && config.tiedEmbeddings
      ? names.classifier
      : names.tokenEmbedding;
  matrix('token_embd.weight', embedding, [V, D]);
  for (let l = 0; l < numLayers; l++) {
    const p = `blk.${l}.`;
    plain(`${p}attn_norm.weight`, requireTensor(weights, names.attentionNorm(l), [D]));
    matrix(`${p}attn_q.weight`, names.wq(l), [Q, D]);
    matrix(`${p}attn_k.weight`, names.wk(l), [KV, D]);
    matrix(`${p}attn_v.weight`, names.wv(l), [KV, D]);
    plain(`${p}attn_q.bias`, optionalTensor(weights, names.wqBias(l), [Q]));
    plain(`${p}attn_k.bias`, optionalTensor(weights, names.wkBias(l), [KV]));
    plain(`${p}attn_v.bias`, optionalTensor(weights, names.wvBias(l), [KV]));
    matrix(`${p}attn_output.weight`, names.wo(l), [D, Q]);
    plain(`${p}ffn_norm.weight`, requireTensor(weights, names.ffnNorm(l), [D]));
    matrix(`${p}ffn_gate.weight`, names.w1(l), [F, D]);
    matrix(`${p}ffn_down.weight`, names.w2(l), [D, F]);
    matrix(`${p}ffn_up.weight`, names.w3(l), [F, D]);
  }
  plain('output_norm.weight', requireTensor(weights, names.finalNorm, [D]));
  if (!config.tiedEmbeddings) matrix('output.weight', names.classifier, [V, D]);

  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  const f32 = (value: number): GgufValue => ({ type: 'float32', value });
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: options.name ?? 'rotor model' }],
    ['general.file_type', u32(FILE_TYPE[weightType])],
    ['general.quantization_version', u32(2)],
    ['llama.context_length', u32(config.maxSequenceLength)],
    ['llama.embedding_length', u32(D)],
    ['llama.block_count', u32(numLayers)],
    ['llama.feed_forward_length', u32(F)],
    ['llama.attention.head_count', u32(config.numHeads)],
    ['llama.attention.head_count_kv', u32(config.numKvHeads)],
    ['llama.rope.dimension_count', u32(spec.rotaryDim ?? config.headDim)],
    ['llama.rope.freq_base', f32(spec.base ?? 10000)],
    ['llama.attention.layer_norm_rms_epsilon', f32(config.normEpsilon)],
    ['llama.vocab_size', u32(V)],
  ]);
  for (const [key, value] of options.metadata ?? []) {
    if (!metadata.has(key) && key !== 'general.alignment') metadata.set(key, value);
  }

  const out = new ByteWriter();
  out.u32(0x46554747); // "GGUF"
  out.u32(3);
  out.u64(entries.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    out.value(value);
  }
  let offset = 0;
  for (const entry of entries) {
    out.string(entry.name);
    out.u32(entry.shape.length);
    for (let d = entry.shape.length - 1; d >= 0; d--) out.u64(entry.shape[d]);
    out.u32(entry.type);
    out.u64(offset);
    offset += Math.ceil(entry.data.length / ALIGNMENT) * ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const entry of entries) {
    out.bytes(entry.data);
    out.pad(ALIGNMENT);
  }
  return out.result();
}
