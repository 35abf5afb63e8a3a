/**
 * Kernel signatures, typed once for every backend (the tfjs pattern).
 *
 * A kernel reads `inputs` (backend tensors), takes `attrs` (plain values) and writes into
 * caller-allocated `out`, so a decode step can run without allocating. Unless a kernel says
 * otherwise, `out` may alias an input of the same shape (in-place use).
 *
 * Shapes use these names: `M` rows, `K` reduction size, `N` output features, `B` sequences in a
 * batch, `T` query tokens per sequence, `S` key/value slots per sequence (cache capacity),
 * `H` query heads, `Hkv` key/value heads, `Dh` head width, `V` vocabulary, `D` model width.
 * Row-wise kernels (matmul, norms, softmax, add, mul, writeRows, applyRotary, embedding) treat a
 * tensor as 2-D `[rows, lastDim]` with its leading dimensions flattened.
 */
import type { TensorHandle } from './tensor.js';

/** Additive attention-score bias computed inside the attention kernel, never as a T×T matrix. */
export type ScoreBiasDescriptor = AlibiBias | T5RelativeBias;

/**
 * ALiBi: `bias(h, i, j) = -slopes[h] * (i - j)` for query position `i` and key position `j`
 * (`j <= i` in a causal decoder; for `j > i` the distance is `|i - j|`).
 */
export interface AlibiBias {
  readonly type: 'alibi';
  /** One slope per query head, length `H`. */
  readonly slopes: Float32Array;
}

/**
 * T5 relative-position bias: `bias(h, i, j) = table[bucket(j - i) * H + h]` with the bucket function
 * of Raffel et al. (exact buckets below `numBuckets / 2` (halved when bidirectional), log-spaced up to `maxDistance`).
 */
export interface T5RelativeBias {
  readonly type: 't5';
  /** Number of buckets. */
  readonly numBuckets: number;
  /** Distance at which buckets stop growing. */
  readonly maxDistance: number;
  /** True for encoder-style buckets that distinguish past and future; false for a causal decoder. */
  readonly bidirectional: boolean;
  /** Learned biases, `[numBuckets, H]` row-major. */
  readonly table: Float32Array;
}

/** Rotary pair layouts. */
export type RotaryLayout = 'interleaved' | 'half-split';

/** Every kernel's inputs and attributes. `out` is always the output tensor. */
export interface KernelSignatures {
  /**
   * `out[m, n] = sum_k x[m, k] * w[n, k] + bias[n]`. The weight is `[N, K]` (each output
   * feature's weights contiguous, the PyTorch `Linear` and llama2.c layout); M = 1 is a matvec.
   * x: `[M, K]`, w: `[N, K]`, bias: `[N]`, out: `[M, N]`. `out` must not alias `x`.
   * `w` may be block-quantized (`q8_0`, `q4_0`; then `K % 32 === 0`, each row whole blocks) or
   * `f16` on a backend whose `capabilities.dtypes` declares that dtype; x, bias and out stay f32.
   */
  matmul: {
    inputs: { x: TensorHandle; w: TensorHandle; bias?: TensorHandle };
    attrs: Record<string, never>;
  };
  /**
   * Row lookup: `out[t, :] = table[ids[t], :]`. table: `[V, D]`, out: `[T, D]`, `ids.length === T`,
   * each id in `[0, V)`.
   */
  embedding: {
    inputs: { table: TensorHandle };
    attrs: { ids: ArrayLike<number> };
  };
  /**
   * Root-mean-square norm per row: `out = x / sqrt(mean(x^2) + epsilon) * weight`.
   * x: `[M, D]`, weight: `[D]`, out: `[M, D]`.
   */
  rmsNorm: {
    inputs: { x: TensorHandle; weight: TensorHandle };
    attrs: { epsilon: number };
  };
  /**
   * Layer norm per row: `out = (x - mean) / sqrt(var + epsilon) * weight + bias`.
   * x: `[M, D]`, weight: `[D]`, bias: `[D]`, out: `[M, D]`.
   */
  layerNorm: {
    inputs: { x: TensorHandle; weight: TensorHandle; bias?: TensorHandle };
    attrs: { epsilon: number };
  };
  /** Row-wise softmax, max-subtracted. x: `[M, N]`, out: `[M, N]`. Rows of all `-Infinity` give zeros. */
  softmax: {
    inputs: { x: TensorHandle };
    attrs: Record<string, never>;
  };
  /**
   * Rotates pairs of each head's first `rotaryDim` dimensions by position-dependent angles.
   * x: `[T, numHeads * headDim]` or `[B, T, numHeads * headDim]` (row t of sequence b is at position
   * `positionOffset + t - sequenceStarts[b]`, `positionOffset + t` without `sequenceStarts`; rows at
   * negative positions are left padding and are copied unchanged); cos, sin:
   * `[P, rotaryDim / 2]` tables indexed by absolute position (P > positionOffset + T - 1);
   * out: like x. `interleaved` pairs are `(x[2i], x[2i+1])`; `half-split` pairs are
   * `(x[i], x[i + rotaryDim/2])`. Dimensions past `rotaryDim` are copied unchanged.
   */
  applyRotary: {
    inputs: { x: TensorHandle; cos: TensorHandle; sin: TensorHandle };
    attrs: {
      numHeads: number;
      headDim: number;
      rotaryDim: number;
      layout: RotaryLayout;
      positionOffset: number;
      /**
       * First slot of each sequence's tokens (length `B`): a left-padded batch shifts each
       * sequence's positions down by its amount of padding.
       */
      sequenceStarts?: ArrayLike<number>;
    };
  };
  /**
   * Copies `src` rows into `out` starting at row `rowOffset` (writing new keys/values into a cache).
   * src: `[R, N]`, out: `[Rout, N]` with `rowOffset + R <= Rout`. `out` must not alias `src`.
   * When both are rank 3 they are a batch: src `[B, R, N]`, out `[B, Rout, N]`, and each sequence's
   * rows go to its own rows `rowOffset..rowOffset+R-1` (new tokens of every sequence into a batched cache).
   */
  writeRows: {
    inputs: { src: TensorHandle };
    attrs: { rowOffset: number };
  };
  /**
   * Scaled dot-product attention of new queries over a key/value cache, for a batch of sequences.
   *
   * q: `[B, T, H * Dh]`; k, v: `[B, S, Hkv * Dh]` (already holding the new tokens' keys and
   * values); out: `[B, T, H * Dh]`. Query head `h` reads key/value head `floor(h / (H / Hkv))`
   * (grouped-query attention; `H % Hkv === 0`).
   *
   * Query `t` of sequence `b` sits at slot `kvOffset + t`. It attends to key slots
   * `sequenceStarts[b] <= j < validLengths[b]` (from 0, and to all `kvOffset + T` slots, when
   * absent) and, when `causal`, only to `j <= kvOffset + t`. Slots before `sequenceStarts[b]` are
   * left padding, slots from `validLengths[b]` on right padding. Scores are
   * `q·k * scale + bias(h, kvOffset + t, j)` (biases depend only on slot distances, which padding
   * does not change); a query row whose every key is masked yields zeros.
   */
  attention: {
    inputs: { q: TensorHandle; k: TensorHandle; v: TensorHandle };
    attrs: {
      numHeads: number;
      numKvHeads: number;
      headDim: number;
      /** Position of the first query row; also the number of cached tokens before this call. */
      kvOffset: number;
      /** Mask keys after each query's own position. */
      causal: boolean;
      /** Number of valid key slots per sequence (length `B`); masks padding past each sequence's end. */
      validLengths?: ArrayLike<number>;
      /** First valid key slot per sequence (length `B`); masks left padding before each sequence. */
      sequenceStarts?: ArrayLike<number>;
      /** Score scale, default `1 / sqrt(headDim)`. */
      scale?: number;
      /** Optional additive score bias. */
      scoreBias?: ScoreBiasDescriptor;
    };
  };
  /** `out = x * sigmoid(x)`, element-wise. */
  silu: {
    inputs: { x: TensorHandle };
    attrs: Record<string, never>;
  };
  /** GELU, element-wise: exact (`erf`) or the `tanh` approximation GPT-2 uses. */
  gelu: {
    inputs: { x: TensorHandle };
    attrs: { approximate: 'none' | 'tanh' };
  };
  /**
   * `out = a + b`. a: `[M, N]`; b: same shape, or `[N]` broadcast over rows.
   */
  add: {
    inputs: { a: TensorHandle; b: TensorHandle };
    attrs: Record<string, never>;
  };
  /**
   * `out = a * b`. a: `[M, N]`; b: same shape, or `[N]` broadcast over rows.
   */
  mul: {
    inputs: { a: TensorHandle; b: TensorHandle };
    attrs: Record<string, never>;
  };
}

/** Name of a kernel. */
export type KernelName = keyof KernelSignatures;

/** Inputs of kernel `K`. */
export type KernelInputs<K extends KernelName> = KernelSignatures[K]['inputs'];

/** Attributes of kernel `K`. */
export type KernelAttrs<K extends KernelName> = KernelSignatures[K]['attrs'];

/** Every kernel name, in a stable order. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'matmul',
  'embedding',
  'rmsNorm',
  'layerNorm',
  'softmax',
  'applyRotary',
  'writeRows',
  'attention',
  'silu',
  'gelu',
  'add',
  'mul',
];
