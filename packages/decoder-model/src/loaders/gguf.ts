/**
 * GGUF model weights (llama.cpp), parsed with `readGguf` of `@rotor/tokenizer` (one GGUF parser
 * in the project). Tensors of type F32, F16, BF16, Q8_0, Q4_0 and Q4_1 are decoded to f32 at
 * load — except, with `keepQuantized`, Q8_0/Q4_0/F16 weight matrices, which stay as stored in
 * `quantized` (blocks, or half bits copied into a Uint16Array since file offsets may be odd); a
 * tied Q8_0/Q4_0/F16 embedding is also decoded for row lookups, its stored form kept as the
 * classifier. Any other type is an `UnsupportedError` naming the tensor and the type.
 *
 * Architecture `llama` only. llama.cpp's converter permutes Hugging Face q/k rows back to the
 * interleaved RoPE pairs of the original Meta checkpoints, so the model keeps
 * `{"type":"rope","layout":"interleaved"}` and no rows move here. GGUF dims are innermost first
 * (`ne[0]` = input features), so a `[in, out]` GGUF matrix is our row-major `[out, in]`.
 */
import {
  FormatError,
  type HostTensor,
  type ModelConfig,
  type PositionalEncodingSpec,
  ShapeError,
  UnsupportedError,
} from '@rotor/core';
import { type GgufFile, type GgufTensorInfo, type GgufValue, readGguf } from '@rotor/tokenizer';
import { validateModelConfig } from '../config.js';
import { type ModelWeights, weightNames as names, type StoredWeightType } from '../weights.js';
import { decodeBf16, decodeF16, decodeF32, halfToFloat } from './floats.js';

/** GGML type names this loader dequantises. */
export const SUPPORTED_GGML_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1'] as const;

/** GGML types `keepQuantized` keeps as stored, and their dtype. */
const KEPT_TYPES: Readonly<Record<string, StoredWeightType>> = { Q8_0: 'q8_0', Q4_0: 'q4_0', F16: 'f16' };

/** Options of {@link parseGgufWeights}. */
export interface GgufWeightsOptions {
  /** Name used in error messages. */
  source?: string;
  /**
   * Keep Q8_0/Q4_0 weight matrices as GGUF blocks and F16 ones as half bits (`ModelWeights.quantized`)
   * instead of decoding them to f32; a model then stores them so on backends declaring the dtype
   * (f16 halves weight memory and traffic against f32) and decodes them otherwise. Default false.
   */
  keepQuantized?: boolean;
}

/** A GGUF file's weights plus the parsed file (metadata such as the vocabulary and chat template). */
export interface GgufModelWeights extends ModelWeights {
  readonly gguf: GgufFile;
}

/** Reads a GGUF Llama model's tensors and metadata into canonical weights. */
export function parseGgufWeights(
  input: Uint8Array | ArrayBuffer,
  options: GgufWeightsOptions = {},
): GgufModelWeights {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const source = options.source ?? 'model.gguf';
  const gguf = readGguf(bytes, { source });
  const meta = new Metadata(gguf, source);
  const architecture = meta.string('general.architecture');
  if (architecture !== 'llama') {
    throw new UnsupportedError(
      `${source}: general.architecture: expected "llama", found ${JSON.stringify(architecture)}`,
    );
  }
  const directory = new Map(gguf.tensors.map((t) => [t.name, t]));
  const embedding = directory.get('token_embd.weight');
  if (!embedding) throw new FormatError(`${source}: tensor "token_embd.weight" is missing`);
  const key = (name: string) => `${architecture}.${name}`;
  const modelDim = meta.integer(key('embedding_length'));
  const numHeads = meta.integer(key('attention.head_count'));
  const headDim = modelDim / numHeads;
  const config: ModelConfig = validateModelConfig(
    {
      architecture: 'llama',
      modelDim,
      hiddenDim: meta.integer(key('feed_forward_length')),
      numLayers: meta.integer(key('block_count')),
      numHeads,
      numKvHeads: meta.integer(key('attention.head_count_kv'), numHeads),
      headDim,
      vocabSize: meta.integer(key('vocab_size'), embedding.dims[1]),
      maxSequenceLength: meta.integer(key('context_length')),
      norm: 'rms-norm',
      normPlacement: 'pre',
      normEpsilon: meta.number(key('attention.layer_norm_rms_epsilon'), 1e-5),
      mlp: 'swiglu',
      tiedEmbeddings: tiedOutput(bytes, gguf, embedding, directory.get('output.weight')),
      positionalEncoding: ropeSpec(meta, key, headDim),
    },
    source,
  );

  const tensors = new Map<string, HostTensor<'f32'>>();
  const quantized = new Map<string, HostTensor<StoredWeightType>>();
  const keep = (info: GgufTensorInfo, canonical: string, shape: number[]) => {
    const dtype = KEPT_TYPES[info.typeName];
    if (!options.keepQuantized || dtype === undefined) return false;
    const start = gguf.dataOffset + info.offset;
    const raw = bytes.subarray(start, start + info.byteSize);
    quantized.set(
      canonical,
      dtype === 'f16' ? { dtype, shape, data: halves(raw, info.elementCount) } : { dtype, shape, data: raw },
    );
    return true;
  };
  const take = (ggufName: string, canonical: string, shape: number[], optional = false, matrix = false) => {
    const info = directory.get(ggufName);
    if (!info) {
      if (optional) return;
      throw new FormatError(`${source}: tensor "${ggufName}" is missing`);
    }
    const stored = [...info.dims].reverse();
    if (stored.length !== shape.length || stored.some((d, i) => d !== shape[i])) {
      throw new ShapeError(
        `${source}: tensor "${ggufName}": expected shape [${shape.join(', ')}], found [${stored.join(', ')}]`,
      );
    }
    if (matrix && keep(info, canonical, shape)) return;
    tensors.set(canonical, { dtype: 'f32', shape, data: dequantize(bytes, gguf, info, source) });
  };
  const { hiddenDim: F, vocabSize: V } = config;
  const Q = numHeads * headDim;
  const KV = config.numKvHeads * headDim;
  take('token_embd.weight', names.tokenEmbedding, [V, modelDim]);
  if (config.tiedEmbeddings) keep(embedding, names.classifier, [V, modelDim]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `blk.${l}.`;
    take(`${p}attn_norm.weight`, names.attentionNorm(l), [modelDim]);
    take(`${p}attn_q.weight`, names.wq(l), [Q, modelDim], false, true);
    take(`${p}attn_k.weight`, names.wk(l), [KV, modelDim], false, true);
    take(`${p}attn_v.weight`, names.wv(l), [KV, modelDim], false, true);
    take(`${p}attn_q.bias`, names.wqBias(l), [Q], true);
    take(`${p}attn_k.bias`, names.wkBias(l), [KV], true);
    take(`${p}attn_v.bias`, names.wvBias(l), [KV], true);
    take(`${p}attn_output.weight`, names.wo(l), [modelDim, Q], false, true);
    take(`${p}ffn_norm.weight`, names.ffnNorm(l), [modelDim]);
    take(`${p}ffn_gate.weight`, names.w1(l), [F, modelDim], false, true);
    take(`${p}ffn_down.weight`, names.w2(l), [modelDim, F], false, true);
    take(`${p}ffn_up.weight`, names.w3(l), [F, modelDim], false, true);
  }
  take('output_norm.weight', names.finalNorm, [modelDim]);
  if (!config.tiedEmbeddings) take('output.weight', names.classifier, [V, modelDim], false, true);
  return quantized.size > 0 ? { config, tensors, quantized, gguf } : { config, tensors, gguf };
}

/**
 * True when the classifier is the token embedding: no `output.weight`, or one holding the same
 * bytes (converters often store the tied matrix twice; keeping one copy halves its memory).
 */
function tiedOutput(
  bytes: Uint8Array,
  gguf: GgufFile,
  embedding: GgufTensorInfo,
  output?: GgufTensorInfo,
): boolean {
  if (!output) return true;
  if (output.type !== embedding.type || output.byteSize !== embedding.byteSize) return false;
  const a = gguf.dataOffset + embedding.offset;
  const b = gguf.dataOffset + output.offset;
  for (let i = 0; i < embedding.byteSize; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/** `llama.rope.*` metadata as a `rope` spec (interleaved pairs, as llama.cpp stores q/k rows). */
function ropeSpec(meta: Metadata, key: (name: string) => string, headDim: number): PositionalEncodingSpec {
  const spec: Record<string, unknown> = {
    type: 'rope',
    layout: 'interleaved',
    base: meta.number(key('rope.freq_base'), 10000),
  };
  const rotaryDim = meta.integer(key('rope.dimension_count'), headDim);
  if (rotaryDim !== headDim) spec.rotaryDim = rotaryDim;
  const scaling = meta.optionalString(key('rope.scaling.type'));
  if (scaling === undefined || scaling === 'none') return spec as PositionalEncodingSpec;
  const factor = meta.number(key('rope.scaling.factor'));
  if (scaling === 'linear') spec.scaling = { type: 'linear', factor };
  else if (scaling === 'yarn') {
    spec.scaling = {
      type: 'yarn',
      factor,
      originalMaxPositions: meta.integer(key('rope.scaling.original_context_length')),
    };
  } else {
    throw new UnsupportedError(
      `${meta.source}: ${key('rope.scaling.type')}: expected none, linear or yarn, found ${JSON.stringify(scaling)}`,
    );
  }
  return spec as PositionalEncodingSpec;
}

/** Converts one tensor's data to f32. */
function dequantize(bytes: Uint8Array, gguf: GgufFile, info: GgufTensorInfo, source: string): Float32Array {
  const start = gguf.dataOffset + info.offset;
  const raw = bytes.subarray(start, start + info.byteSize);
  const count = info.elementCount;
  switch (info.typeName) {
    case 'F32':
      return decodeF32(raw, count);
    case 'F16':
      return decodeF16(raw, count);
    case 'BF16':
      return decodeBf16(raw, count);
    case 'Q8_0':
      return dequantizeBlocks(raw, count, 34, (block, out, at) => {
        const scale = halfToFloat(block[0] | (block[1] << 8));
        for (let i = 0; i < 32; i++) out[at + i] = scale * ((block[2 + i] << 24) >> 24);
      });
    case 'Q4_0':
      return dequantizeBlocks(raw, count, 18, (block, out, at) => {
        const scale = halfToFloat(block[0] | (block[1] << 8));
        for (let i = 0; i < 16; i++) {
          out[at + i] = scale * ((block[2 + i] & 0x0f) - 8);
          out[at + i + 16] = scale * ((block[2 + i] >> 4) - 8);
        }
      });
    case 'Q4_1':
      return dequantizeBlocks(raw, count, 20, (block, out, at) => {
        const scale = halfToFloat(block[0] | (block[1] << 8));
        const minimum = halfToFloat(block[2] | (block[3] << 8));
        for (let i = 0; i < 16; i++) {
          out[at + i] = scale * (block[4 + i] & 0x0f) + minimum;
          out[at + i + 16] = scale * (block[4 + i] >> 4) + minimum;
        }
      });
    default:
      throw new UnsupportedError(
        `${source}: tensor "${info.name}": type ${info.typeName} is not supported (supported: ${SUPPORTED_GGML_TYPES.join(', ')})`,
        { details: { tensor: info.name, type: info.typeName } },
      );
  }
}

/**
 * An F16 tensor's little-endian half bits as an aligned Uint16Array: a copy, since the data may sit
 * at an odd offset (`readGguf` has checked that its bytes lie inside the file).
 */
function halves(raw: Uint8Array, count: number): Uint16Array {
  const out = new Uint16Array(count);
  new Uint8Array(out.buffer).set(raw.subarray(0, count * 2));
  return out;
}

/** Runs `decode` over each 32-value block (`blockBytes` each) of `raw`. */
function dequantizeBlocks(
  raw: Uint8Array,
  count: number,
  blockBytes: number,
  decode: (block: Uint8Array, out: Float32Array, at: number) => void,
): Float32Array {
  const out = new Float32Array(count);
  for (let b = 0; b * 32 < count; b++)
    decode(raw.subarray(b * blockBytes, (b + 1) * blockBytes), out, b * 32);
  return out;
}

/** Typed access to GGUF metadata with errors naming the key. */
class Metadata {
  constructor(
    private readonly gguf: GgufFile,
    readonly source: string,
  ) {}

  private get(key: string): GgufValue | undefined {
    return this.gguf.metadata.get(key);
  }

  string(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined) throw new FormatError(`${this.source}: metadata key "${key}" is missing`);
    return value;
  }

  optionalString(key: string): string | undefined {
    const entry = this.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== 'string') {
      throw new FormatError(`${this.source}: metadata "${key}": expected a string, found ${entry.type}`);
    }
    return entry.value;
  }

  number(key: string, fallback?: number): number {
    const entry = this.get(key);
    if (entry === undefined) {
      if (fallback === undefined) throw new FormatError(`${this.source}: metadata key "${key}" is missing`);
      return fallback;
    }
    const value = typeof entry.value === 'bigint' ? Number(entry.value) : entry.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new FormatError(`${this.source}: metadata "${key}": expected a number, found ${entry.type}`);
    }
    return value;
  }

  integer(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new FormatError(`${this.source}: metadata "${key}": expected a positive integer, found ${value}`);
    }
    return value;
  }
}
