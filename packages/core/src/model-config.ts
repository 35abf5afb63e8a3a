/**
 * Model configuration shared by loaders and the decoder model.
 */
import type { PositionalEncodingSpec } from './positional-encoding.js';

/** Normalisation layer type. */
export type NormType = 'rms-norm' | 'layer-norm';

/** Feed-forward type: SwiGLU `W2(silu(W1 x) * W3 x)` (Llama) or a plain GELU MLP (GPT-2). */
export type MlpType = 'swiglu' | 'gelu' | 'gelu-tanh';

/** Where the norms sit: before each sub-layer (GPT-2, Llama) or after the residual add (GPT-1). */
export type NormPlacement = 'pre' | 'post';

/** Architecture hyper-parameters of a decoder-only transformer. */
export interface ModelConfig {
  /** Architecture family, informational (`llama`, `gpt2`, `gpt1`). */
  readonly architecture: string;
  /** Model width `D`. */
  readonly modelDim: number;
  /** Feed-forward hidden width. */
  readonly hiddenDim: number;
  /** Number of decoder blocks. */
  readonly numLayers: number;
  /** Query heads `H`. */
  readonly numHeads: number;
  /** Key/value heads `Hkv` (`H % Hkv === 0`; equal to `H` without GQA). */
  readonly numKvHeads: number;
  /** Head width `Dh`. */
  readonly headDim: number;
  /** Vocabulary size `V`. */
  readonly vocabSize: number;
  /** Longest sequence the model was trained for. */
  readonly maxSequenceLength: number;
  /** Norm type. */
  readonly norm: NormType;
  /** Norm placement. */
  readonly normPlacement: NormPlacement;
  /** Epsilon of every norm. */
  readonly normEpsilon: number;
  /** Feed-forward type. */
  readonly mlp: MlpType;
  /** True when the classifier reuses the token-embedding matrix. */
  readonly tiedEmbeddings: boolean;
  /** The model's own positional encoding. */
  readonly positionalEncoding: PositionalEncodingSpec;
}
