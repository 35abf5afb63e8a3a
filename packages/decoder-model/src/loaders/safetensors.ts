/**
 * safetensors (Hugging Face): an 8-byte little-endian header length `N`, `N` bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the tensor
 * bytes, offsets relative to their start. The header length, every shape and every offset are
 * checked against the file before anything is allocated. F32, F16, BF16 and F64 tensors become
 * f32; integer and boolean tensors (buffers such as attention masks) are skipped.
 *
 * {@link serializeSafetensors} writes the format, for tests and tools.
 */
import {
  FormatError,
  type HostTensor,
  InvalidArgumentError,
  type ModelConfig,
  ShapeError,
  UnsupportedError,
} from '@rotor/core';
import { validateModelConfig } from '../config.js';
import { type ModelWeights, weightNames as names } from '../weights.js';
import { decodeBf16, decodeF16, decodeF32 } from './floats.js';
import { configFromHuggingFace, mapGpt2Tensors, mapLlamaTensors } from './hugging-face.js';
import { permuteRotaryRows } from './rotary-permutation.js';

/** Largest JSON header accepted (real headers are kilobytes; a corrupt length must not allocate). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const ELEMENT_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Options of {@link parseSafetensors}. */
export interface SafetensorsOptions {
  /** Name used in error messages. */
  source?: string;
}

/** Reads the floating-point tensors of a safetensors file, converted to f32, by name. */
export function parseSafetensors(
  input: Uint8Array | ArrayBuffer,
  options: SafetensorsOptions = {},
): Map<string, HostTensor<'f32'>> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const source = options.source ?? 'model.safetensors';
  if (bytes.byteLength < 8) {
    throw new FormatError(`${source}: header length: expected 8 bytes, found ${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8)) {
    throw new FormatError(
      `${source}: header length: expected at most ${Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8)} bytes (the file holds ${bytes.byteLength}), found ${headerLength}`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    throw new FormatError(
      `${source}: header: expected UTF-8 JSON of ${headerLength} bytes, found invalid JSON`,
      {
        cause: error,
      },
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FormatError(
      `${source}: header: expected a JSON object, found ${JSON.stringify(header)?.slice(0, 40)}`,
    );
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const plan: { name: string; dtype: string; shape: number[]; begin: number; end: number; count: number }[] =
    [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const where = `${source}: tensor "${name}"`;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    const width = typeof dtype === 'string' ? ELEMENT_BYTES[dtype] : undefined;
    if (width === undefined) {
      throw new UnsupportedError(
        `${where}: dtype: expected one of ${Object.keys(ELEMENT_BYTES).join(', ')}, found ${JSON.stringify(dtype)}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(
        `${where}: shape: expected a list of non-negative integers, found ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1] ||
      offsets[1] > dataLength
    ) {
      throw new FormatError(
        `${where}: data_offsets: expected [begin, end] with begin <= end <= ${dataLength} (the data section), found ${JSON.stringify(offsets)}`,
      );
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (offsets[1] - offsets[0] !== count * width) {
      throw new FormatError(
        `${where}: data_offsets: expected ${count * width} bytes for ${dtype} shape [${shape.join(', ')}], found ${offsets[1] - offsets[0]}`,
      );
    }
    if (FLOAT_DTYPES.has(dtype as string)) {
      plan.push({
        name,
        dtype: dtype as string,
        shape: shape as number[],
        begin: offsets[0],
        end: offsets[1],
        count,
      });
    }
  }
  // Only now, with every entry checked against the file, is anything allocated.
  const tensors = new Map<string, HostTensor<'f32'>>();
  for (const { name, dtype, shape, begin, end, count } of plan) {
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype: 'f32', shape, data: decode(dtype, raw, count) });
  }
  return tensors;
}

function decode(dtype: string, raw: Uint8Array, count: number): Float32Array {
  switch (dtype) {
    case 'F32':
      return decodeF32(raw, count);
    case 'F16':
      return decodeF16(raw, count);
    case 'BF16':
      return decodeBf16(raw, count);
    default: {
      const copy = new Uint8Array(raw);
      return Float32Array.from(new Float64Array(copy.buffer, 0, count));
    }
  }
}

/** A tensor to write: f32 values, or the raw 16-bit patterns of F16 / BF16 values. */
export type SafetensorsEntry =
  | { readonly dtype: 'F32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'F16' | 'BF16'; readonly shape: readonly number[]; readonly data: Uint16Array };

/** Writes tensors (in insertion order) as a safetensors file. */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsEntry>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) {
      throw new ShapeError(
        `safetensors writer: tensor "${name}": expected ${count} values for shape [${tensor.shape.join(', ')}], found ${tensor.data.length}`,
      );
    }
    header[name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.data.byteLength],
    };
    offset += tensor.data.byteLength;
  }
  // The data section starts 8-aligned, as the reference writer pads the header with spaces.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setUint32(0, headerBytes.byteLength, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const tensor of tensors.values()) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), at);
    at += tensor.data.byteLength;
  }
  return out;
}

/** Options of {@link parseHuggingFaceModel}. */
export interface HuggingFaceModelOptions {
  /** Name used in error messages. */
  source?: string;
}

/**
 * A Hugging Face model folder's contents: `config.json` (parsed JSON) and the bytes of every
 * safetensors shard. `model_type` `gpt2` or `llama` (and the Llama-layout `mistral`, `qwen2`),
 * or `rotor`: a {@link ModelConfig} under `"config"` and tensors under canonical names (how
 * architectures without a Hugging Face layout, such as the post-norm sinusoidal decoder, are stored).
 */
export function parseHuggingFaceModel(
  config: unknown,
  shards: readonly (Uint8Array | ArrayBuffer)[],
  options: HuggingFaceModelOptions = {},
): ModelWeights {
  const source = options.source ?? 'model';
  if (shards.length === 0)
    throw new InvalidArgumentError(`${source}: expected at least one safetensors file, found none`);
  const rotor = (config as { model_type?: unknown } | null)?.model_type === 'rotor';
  const modelConfig: ModelConfig = rotor
    ? validateModelConfig(
        (config as { config: ModelConfig }).config ?? ({} as ModelConfig),
        `${source}/config.json`,
      )
    : configFromHuggingFace(config, `${source}/config.json`);
  const tensors = new Map<string, HostTensor<'f32'>>();
  shards.forEach((shard, i) => {
    const name = shards.length === 1 ? `${source}/model.safetensors` : `${source} shard ${i + 1}`;
    for (const [key, tensor] of parseSafetensors(shard, { source: name })) tensors.set(key, tensor);
  });
  if (rotor) return { config: modelConfig, tensors };
  const map = modelConfig.architecture === 'gpt2' ? mapGpt2Tensors : mapLlamaTensors;
  return { config: modelConfig, tensors: map(modelConfig, tensors, source) };
}

/**
 * Writes canonical weights as a Hugging Face model folder's contents (`config.json` object and
 * one `model.safetensors`, F32), the inverse of {@link parseHuggingFaceModel}. GPT-2 weights are
 * transposed back to `Conv1D` layout with a fused `c_attn`; Llama q/k rows of an interleaved-RoPE
 * model are permuted to Hugging Face's half-split layout. Any other architecture is written as
 * `model_type` `rotor` with canonical names.
 */
export function serializeHuggingFaceModel(weights: ModelWeights): {
  config: Record<string, unknown>;
  safetensors: Uint8Array;
} {
  const { config } = weights;
  const get = (name: string) => {
    const tensor = weights.tensors.get(name);
    if (!tensor) throw new InvalidArgumentError(`Hugging Face export: tensor "${name}" is missing`);
    return tensor;
  };
  const out = new Map<string, SafetensorsEntry>();
  const put = (name: string, tensor: HostTensor<'f32'>) =>
    out.set(name, { dtype: 'F32', shape: tensor.shape, data: tensor.data });
  if (config.architecture === 'gpt2') {
    const D = config.modelDim;
    put('wte.weight', get(names.tokenEmbedding));
    put('wpe.weight', get(names.positionEmbedding));
    for (let l = 0; l < config.numLayers; l++) {
      const p = `h.${l}.`;
      put(`${p}ln_1.weight`, get(names.attentionNorm(l)));
      put(`${p}ln_1.bias`, get(names.attentionNormBias(l)));
      const fused = new Float32Array(3 * D * D);
      const fusedBias = new Float32Array(3 * D);
      const parts = [
        [names.wq(l), names.wqBias(l)],
        [names.wk(l), names.wkBias(l)],
        [names.wv(l), names.wvBias(l)],
      ];
      for (const [i, [weight, bias]] of parts.entries()) {
        fused.set(get(weight).data, i * D * D);
        fusedBias.set(get(bias).data, i * D);
      }
      put(`${p}attn.c_attn.weight`, transpose2d({ dtype: 'f32', shape: [3 * D, D], data: fused }));
      put(`${p}attn.c_attn.bias`, { dtype: 'f32', shape: [3 * D], data: fusedBias });
      put(`${p}attn.c_proj.weight`, transpose2d(get(names.wo(l))));
      put(`${p}attn.c_proj.bias`, get(names.woBias(l)));
      put(`${p}ln_2.weight`, get(names.ffnNorm(l)));
      put(`${p}ln_2.bias`, get(names.ffnNormBias(l)));
      put(`${p}mlp.c_fc.weight`, transpose2d(get(names.w1(l))));
      put(`${p}mlp.c_fc.bias`, get(names.w1Bias(l)));
      put(`${p}mlp.c_proj.weight`, transpose2d(get(names.w2(l))));
      put(`${p}mlp.c_proj.bias`, get(names.w2Bias(l)));
    }
    put('ln_f.weight', get(names.finalNorm));
    put('ln_f.bias', get(names.finalNormBias));
    if (!config.tiedEmbeddings) put('lm_head.weight', get(names.classifier));
    return {
      config: {
        model_type: 'gpt2',
        vocab_size: config.vocabSize,
        n_embd: D,
        n_layer: config.numLayers,
        n_head: config.numHeads,
        n_inner: config.hiddenDim,
        n_positions: config.maxSequenceLength,
        layer_norm_epsilon: config.normEpsilon,
        activation_function: config.mlp === 'gelu' ? 'gelu' : 'gelu_new',
        tie_word_embeddings: config.tiedEmbeddings,
      },
      safetensors: serializeSafetensors(out),
    };
  }
  if (config.architecture !== 'llama' || config.positionalEncoding.type !== 'rope') {
    for (const [name, tensor] of weights.tensors) put(name, tensor);
    return { config: { model_type: 'rotor', config }, safetensors: serializeSafetensors(out) };
  }
  const layout = (config.positionalEncoding.layout ?? 'interleaved') as 'interleaved' | 'half-split';
  put('model.embed_tokens.weight', get(names.tokenEmbedding));
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    put(`${p}input_layernorm.weight`, get(names.attentionNorm(l)));
    put(
      `${p}self_attn.q_proj.weight`,
      permuteRotaryRows(get(names.wq(l)), config.numHeads, layout, 'half-split'),
    );
    put(
      `${p}self_attn.k_proj.weight`,
      permuteRotaryRows(get(names.wk(l)), config.numKvHeads, layout, 'half-split'),
    );
    put(`${p}self_attn.v_proj.weight`, get(names.wv(l)));
    put(`${p}self_attn.o_proj.weight`, get(names.wo(l)));
    put(`${p}post_attention_layernorm.weight`, get(names.ffnNorm(l)));
    put(`${p}mlp.gate_proj.weight`, get(names.w1(l)));
    put(`${p}mlp.down_proj.weight`, get(names.w2(l)));
    put(`${p}mlp.up_proj.weight`, get(names.w3(l)));
  }
  put('model.norm.weight', get(names.finalNorm));
  if (!config.tiedEmbeddings) put('lm_head.weight', get(names.classifier));
  return {
    config: {
      model_type: 'llama',
      vocab_size: config.vocabSize,
      hidden_size: config.modelDim,
      intermediate_size: config.hiddenDim,
      num_hidden_layers: config.numLayers,
      num_attention_heads: config.numHeads,
      num_key_value_heads: config.numKvHeads,
      head_dim: config.headDim,
      max_position_embeddings: config.maxSequenceLength,
      rms_norm_eps: config.normEpsilon,
      rope_theta: config.positionalEncoding.base ?? 10000,
      hidden_act: 'silu',
      tie_word_embeddings: config.tiedEmbeddings,
    },
    safetensors: serializeSafetensors(out),
  };
}

function transpose2d(t: HostTensor<'f32'>): HostTensor<'f32'> {
  const [rows, columns] = t.shape;
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) out[c * rows + r] = t.data[r * columns + c];
  return { dtype: 'f32', shape: [columns, rows], data: out };
}
