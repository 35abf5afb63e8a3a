import { dequantizeBlocks, halfToFloat } from '@rotor/attention-core';
import {
  type HostTensor,
  InvalidArgumentError,
  type ModelConfig,
  ShapeError,
  shapeSize,
  storageLength,
} from '@rotor/core';

/** The block-quantized weight types (GGUF Q8_0 and Q4_0 layouts, 32 values per block). */
export type QuantizedWeightType = 'q8_0' | 'q4_0';

/**
 * How {@link ModelWeights.quantized} may hold a matrix: GGUF blocks, or `f16` (IEEE half-precision
 * bits in a Uint16Array, e.g. a GGUF F16 matrix kept as stored).
 */
export type StoredWeightType = QuantizedWeightType | 'f16';

/** A model's weights in host memory, by canonical name, with the configuration they belong to. */
export interface ModelWeights {
  readonly config: ModelConfig;
  /** Tensors by canonical name (see {@link weightNames}). */
  readonly tensors: ReadonlyMap<string, HostTensor<'f32'>>;
  /**
   * Matrices kept in a compact form (GGUF q8_0/q4_0 blocks or f16 half bits), by canonical name; a
   * name here is absent from `tensors` except `classifier` of a tied model, which is then the
   * compact form of the token embedding (the embedding itself stays f32 for row lookups).
   * {@link requireTensor} decodes to f32 on demand, so code reading f32 weights (exporters,
   * serializers) works unchanged.
   */
  readonly quantized?: ReadonlyMap<string, HostTensor<StoredWeightType>>;
}

/**
 * Canonical tensor names of every supported architecture, shared by all loaders.
 *
 * Weight matrices are `[out, in]` (each output feature's weights contiguous, PyTorch `Linear`
 * order); loaders transpose `[in, out]` sources (ONNX `MatMul`/`Gemm`, GPT-2 `Conv1D`) and split
 * fused QKV matrices into `wq`, `wk`, `wv`. Every `*Bias` tensor and `finalNorm` are optional:
 * the model uses one exactly when the weights hold it (GPT-2 has biases, Llama none, a post-norm
 * GPT-1 block has no final norm). Norm biases exist only for layer norms.
 *
 * Legend: V vocabulary, D model width, H / Hkv query / key-value heads, Dh head width, F
 * feed-forward width, P learned positions.
 */
export const weightNames = {
  /** `[V, D]` */
  tokenEmbedding: 'token_embedding',
  /** `[P, D]` learned absolute positions (GPT-1, GPT-2), read by the `learned` positional encoding. */
  positionEmbedding: 'position_embedding',
  /** `[D]` norm before (pre-norm) or after (post-norm) the attention sub-layer */
  attentionNorm: (layer: number) => `layers.${layer}.attention_norm`,
  /** `[D]` */
  attentionNormBias: (layer: number) => `layers.${layer}.attention_norm_bias`,
  /** `[H * Dh, D]` */
  wq: (layer: number) => `layers.${layer}.wq`,
  /** `[H * Dh]` */
  wqBias: (layer: number) => `layers.${layer}.wq_bias`,
  /** `[Hkv * Dh, D]` */
  wk: (layer: number) => `layers.${layer}.wk`,
  /** `[Hkv * Dh]` */
  wkBias: (layer: number) => `layers.${layer}.wk_bias`,
  /** `[Hkv * Dh, D]` */
  wv: (layer: number) => `layers.${layer}.wv`,
  /** `[Hkv * Dh]` */
  wvBias: (layer: number) => `layers.${layer}.wv_bias`,
  /** `[D, H * Dh]` */
  wo: (layer: number) => `layers.${layer}.wo`,
  /** `[D]` */
  woBias: (layer: number) => `layers.${layer}.wo_bias`,
  /** `[D]` norm before (pre-norm) or after (post-norm) the feed-forward sub-layer */
  ffnNorm: (layer: number) => `layers.${layer}.ffn_norm`,
  /** `[D]` */
  ffnNormBias: (layer: number) => `layers.${layer}.ffn_norm_bias`,
  /** `[F, D]`: SwiGLU gate, or the GELU MLP's up projection (GPT-2 `c_fc`) */
  w1: (layer: number) => `layers.${layer}.w1`,
  /** `[F]` */
  w1Bias: (layer: number) => `layers.${layer}.w1_bias`,
  /** `[D, F]` down projection */
  w2: (layer: number) => `layers.${layer}.w2`,
  /** `[D]` */
  w2Bias: (layer: number) => `layers.${layer}.w2_bias`,
  /** `[F, D]` SwiGLU up projection; absent for GELU MLPs */
  w3: (layer: number) => `layers.${layer}.w3`,
  /** `[D]` */
  finalNorm: 'final_norm',
  /** `[D]` */
  finalNormBias: 'final_norm_bias',
  /** `[V, D]`; absent when the classifier is tied to the token embedding */
  classifier: 'classifier',
} as const;

/** Returns the named tensor after checking its shape, or throws a typed error naming it. */
export function requireTensor(
  weights: ModelWeights,
  name: string,
  shape: readonly number[],
): HostTensor<'f32'> {
  const tensor = weights.tensors.get(name) ?? dequantized(weights, name);
  if (!tensor) throw new InvalidArgumentError(`model weights: tensor "${name}" is missing`);
  return checkShape(name, tensor, shape);
}

/**
 * The named matrix as stored: compact (q8_0/q4_0 blocks or f16) when `weights.quantized` holds it
 * (shape and storage length checked), else the f32 tensor. For tied models `classifier` resolves to
 * the compact embedding when present.
 */
export function requireMatrix(
  weights: ModelWeights,
  name: string,
  shape: readonly number[],
): HostTensor<'f32' | StoredWeightType> {
  return storedMatrix(weights, name, shape) ?? requireTensor(weights, name, shape);
}

/** The compact form of `name` after checking its shape and storage, or undefined when absent. */
function storedMatrix(
  weights: ModelWeights,
  name: string,
  shape: readonly number[],
): HostTensor<StoredWeightType> | undefined {
  const stored = weights.quantized?.get(name);
  if (!stored) return undefined;
  const where = `model weights: tensor "${name}" (${stored.dtype})`;
  const same = stored.shape.length === shape.length && stored.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new ShapeError(
      `${where}: expected shape [${shape.join(', ')}], found [${stored.shape.join(', ')}]`,
    );
  }
  const storage = stored.dtype === 'f16' ? Uint16Array : Uint8Array;
  if (!(stored.data instanceof storage)) {
    throw new InvalidArgumentError(
      `${where}: data: expected a ${storage.name}, found ${(stored.data as object)?.constructor?.name}`,
    );
  }
  const length = storageLength(stored.dtype, shapeSize(shape));
  if (stored.data.length !== length) {
    throw new ShapeError(`${where}: expected ${length} storage elements, found ${stored.data.length}`);
  }
  return stored;
}

/** The named compact matrix decoded to f32 (exactly for f16), or undefined when absent. */
function dequantized(weights: ModelWeights, name: string): HostTensor<'f32'> | undefined {
  const stored = weights.quantized?.get(name);
  if (!stored) return undefined;
  const checked = storedMatrix(weights, name, stored.shape) as HostTensor<StoredWeightType>;
  return { dtype: 'f32', shape: checked.shape, data: decodeStored(checked) };
}

/** A compact matrix's values as f32: halves decoded exactly, blocks dequantised. */
export function decodeStored(tensor: HostTensor<StoredWeightType>): Float32Array {
  const count = shapeSize(tensor.shape);
  if (tensor.dtype !== 'f16') return dequantizeBlocks(tensor.data as Uint8Array, tensor.dtype, count);
  const bits = tensor.data as Uint16Array;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(bits[i]);
  return out;
}

/** Returns the named tensor after checking its shape, or undefined when the weights lack it. */
export function optionalTensor(
  weights: ModelWeights,
  name: string,
  shape: readonly number[],
): HostTensor<'f32'> | undefined {
  const tensor = weights.tensors.get(name) ?? dequantized(weights, name);
  return tensor && checkShape(name, tensor, shape);
}

function checkShape(name: string, tensor: HostTensor<'f32'>, shape: readonly number[]): HostTensor<'f32'> {
  const same = tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i]);
  if (!same || tensor.data.length !== shapeSize(shape)) {
    throw new ShapeError(
      `model weights: tensor "${name}": expected shape [${shape.join(', ')}], found [${tensor.shape.join(', ')}]`,
    );
  }
  return tensor;
}
