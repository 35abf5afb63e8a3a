import { type HostTensor, InvalidArgumentError, type ModelConfig, ShapeError, shapeSize } from '@rotor/core';

/** A model's weights in host memory, by canonical name, with the configuration they belong to. */
export interface ModelWeights {
  readonly config: ModelConfig;
  /** Tensors by canonical name (see {@link llamaWeightNames}). */
  readonly tensors: ReadonlyMap<string, HostTensor<'f32'>>;
}

/**
 * Canonical tensor names of a Llama-family model, shared by every loader.
 * Weight matrices are `[out, in]` (each output feature's weights contiguous).
 */
export const llamaWeightNames = {
  /** `[V, D]` */
  tokenEmbedding: 'token_embedding',
  /** `[D]` */
  attentionNorm: (layer: number) => `layers.${layer}.attention_norm`,
  /** `[H * Dh, D]` */
  wq: (layer: number) => `layers.${layer}.wq`,
  /** `[Hkv * Dh, D]` */
  wk: (layer: number) => `layers.${layer}.wk`,
  /** `[Hkv * Dh, D]` */
  wv: (layer: number) => `layers.${layer}.wv`,
  /** `[D, H * Dh]` */
  wo: (layer: number) => `layers.${layer}.wo`,
  /** `[D]` */
  ffnNorm: (layer: number) => `layers.${layer}.ffn_norm`,
  /** `[hidden, D]` gate */
  w1: (layer: number) => `layers.${layer}.w1`,
  /** `[D, hidden]` down */
  w2: (layer: number) => `layers.${layer}.w2`,
  /** `[hidden, D]` up */
  w3: (layer: number) => `layers.${layer}.w3`,
  /** `[D]` */
  finalNorm: 'final_norm',
  /** `[V, D]`; absent when the classifier is tied to the token embedding */
  classifier: 'classifier',
} as const;

/** Returns the named tensor after checking its shape, or throws a typed error naming it. */
export function requireTensor(
  weights: ModelWeights,
  name: string,
  shape: readonly number[],
): HostTensor<'f32'> {
  const tensor = weights.tensors.get(name);
  if (!tensor) throw new InvalidArgumentError(`model weights: tensor "${name}" is missing`);
  const same = tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i]);
  if (!same || tensor.data.length !== shapeSize(shape)) {
    throw new ShapeError(
      `model weights: tensor "${name}": expected shape [${shape.join(', ')}], found [${tensor.shape.join(', ')}]`,
    );
  }
  return tensor;
}
