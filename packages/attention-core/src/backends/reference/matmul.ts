/**
 * matmul — `out = x · wᵀ + bias` (PyTorch `Linear`, llama2.c `matmul`).
 *
 * Legend:
 *   M     rows of x (its leading dimensions flattened); M = 1 is a matvec
 *   K     reduction size (width of x and of w)
 *   N     output features
 *   x     [M, K]
 *   w     [N, K] — output feature n's weights are contiguous; f32, f16 (half-precision bits, each
 *         decoded exactly as the sum runs), or q8_0 / q4_0 GGUF blocks (K % 32 = 0), dequantised
 *         block by block as the sum runs (value = q * d, exact in f64)
 *   bias  [N], optional
 *   out   [M, N], must not overlap x, w or bias
 */
import {
  type DType,
  type KernelAttrs,
  type KernelInputs,
  QUANT_BLOCK_BYTES,
  QUANT_BLOCK_SIZE,
  type TensorHandle,
} from '@rotor/core';
import { halfToFloat, isQuantized } from '../shared/quantized.js';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  invalidArgument,
  requireF32,
  requireNoOverlap,
  requireRank,
  requireRows,
  requireVector,
  resolveTensor,
  shapeMismatch,
} from './validate.js';

const KERNEL = 'matmul';

/** Dimensions of a validated matmul. */
export interface MatmulPlan {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** The weight's dtype: f32, f16, or a block-quantized dtype (then K % 32 === 0). */
  readonly weightType: 'f32' | 'f16' | 'q8_0' | 'q4_0';
}

/**
 * Checks dtypes and shapes of a matmul call; backend-independent. `w` may be f16 or q8_0/q4_0 (a
 * backend only holds such a tensor when it declares the dtype; quantized rows are whole blocks).
 */
export function validateMatmul(inputs: KernelInputs<'matmul'>, out: TensorHandle): MatmulPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  const weightType: DType = inputs.w.dtype;
  if (weightType !== 'f32' && weightType !== 'f16' && !isQuantized(weightType)) {
    throw invalidArgument(KERNEL, 'inputs.w dtype', 'f32, f16, q8_0 or q4_0', weightType);
  }
  requireF32(KERNEL, 'out', out);
  const { rows: M, width: K } = asRows(KERNEL, 'inputs.x', inputs.x);
  const [N, wK] = requireRank(KERNEL, 'inputs.w', inputs.w, 2, '[N, K]');
  if (wK !== K) throw shapeMismatch(KERNEL, 'inputs.w shape', `[N, ${K}] (K = width of x)`, inputs.w.shape);
  if (inputs.bias !== undefined) {
    requireF32(KERNEL, 'inputs.bias', inputs.bias);
    requireVector(KERNEL, 'inputs.bias', inputs.bias, N, 'N = rows of w');
  }
  requireRows(KERNEL, 'out', out, { rows: M, width: N }, 'M = rows of x, N = rows of w');
  return { M, K, N, weightType };
}

function computeMatmul(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  out: Float32Array,
  { M, K, N }: MatmulPlan,
): void {
  for (let m = 0; m < M; m++) {
    const xRow = m * K;
    for (let n = 0; n < N; n++) {
      const wRow = n * K;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[xRow + k] * w[wRow + k];
      out[m * N + n] = bias === undefined ? sum : sum + bias[n];
    }
  }
}

/** The f16 form: each weight is decoded exactly (every half is a float32) as the f32 form's sum runs. */
function computeHalfMatmul(
  x: Float32Array,
  w: Uint16Array,
  bias: Float32Array | undefined,
  out: Float32Array,
  { M, K, N }: MatmulPlan,
): void {
  for (let m = 0; m < M; m++) {
    const xRow = m * K;
    for (let n = 0; n < N; n++) {
      const wRow = n * K;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[xRow + k] * halfToFloat(w[wRow + k]);
      out[m * N + n] = bias === undefined ? sum : sum + bias[n];
    }
  }
}

/**
 * The quantized form: each weight `d * q` (`d` its block's f16 scale, `q` the int8 (q8_0) or
 * nibble - 8 (q4_0) value) is formed as the sum runs, in the f32 form's order and float64, so the
 * result is bit-identical to dequantising `w` and running the f32 form.
 */
function computeQuantizedMatmul(
  x: Float32Array,
  w: Uint8Array,
  bias: Float32Array | undefined,
  out: Float32Array,
  { M, K, N, weightType }: MatmulPlan,
): void {
  const blockBytes = QUANT_BLOCK_BYTES[weightType as 'q8_0' | 'q4_0'];
  const blocksPerRow = K / QUANT_BLOCK_SIZE;
  const q8 = weightType === 'q8_0';
  for (let m = 0; m < M; m++) {
    const xRow = m * K;
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let b = 0; b < blocksPerRow; b++) {
        const at = (n * blocksPerRow + b) * blockBytes;
        const k0 = xRow + b * QUANT_BLOCK_SIZE;
        const d = halfToFloat(w[at] | (w[at + 1] << 8));
        if (q8) {
          for (let i = 0; i < QUANT_BLOCK_SIZE; i++) sum += x[k0 + i] * (d * ((w[at + 2 + i] << 24) >> 24));
        } else {
          for (let i = 0; i < 16; i++) sum += x[k0 + i] * (d * ((w[at + 2 + i] & 0x0f) - 8));
          for (let i = 0; i < 16; i++) sum += x[k0 + 16 + i] * (d * ((w[at + 2 + i] >> 4) - 8));
        }
      }
      out[m * N + n] = bias === undefined ? sum : sum + bias[n];
    }
  }
}

/** Reference `matmul` kernel. */
export function matmul(
  context: KernelContext,
  inputs: KernelInputs<'matmul'>,
  _attrs: KernelAttrs<'matmul'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const w = resolveTensor(KERNEL, 'inputs.w', inputs.w, context.owner);
  const bias =
    inputs.bias === undefined ? undefined : resolveTensor(KERNEL, 'inputs.bias', inputs.bias, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateMatmul({ x, w, bias }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, false);
  requireNoOverlap(KERNEL, out, 'inputs.w', w, false);
  if (bias) requireNoOverlap(KERNEL, out, 'inputs.bias', bias, false);
  const compute =
    plan.weightType === 'f32'
      ? computeMatmul
      : plan.weightType === 'f16'
        ? computeHalfMatmul
        : computeQuantizedMatmul;
  compute(
    x.data as Float32Array,
    w.data as Float32Array & Uint16Array & Uint8Array,
    bias?.data as Float32Array | undefined,
    out.data as Float32Array,
    plan,
  );
}
