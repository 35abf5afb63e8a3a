/**
 * matmul — `out = x · wᵀ + bias` (PyTorch `Linear`, llama2.c `matmul`).
 *
 * Legend:
 *   M     rows of x (its leading dimensions flattened); M = 1 is a matvec
 *   K     reduction size (width of x and of w)
 *   N     output features
 *   x     [M, K]
 *   w     [N, K] — output feature n's weights are contiguous
 *   bias  [N], optional
 *   out   [M, N], must not overlap x, w or bias
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
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
}

/** Checks dtypes and shapes of a matmul call; backend-independent. */
export function validateMatmul(inputs: KernelInputs<'matmul'>, out: TensorHandle): MatmulPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'inputs.w', inputs.w);
  requireF32(KERNEL, 'out', out);
  const { rows: M, width: K } = asRows(KERNEL, 'inputs.x', inputs.x);
  const [N, wK] = requireRank(KERNEL, 'inputs.w', inputs.w, 2, '[N, K]');
  if (wK !== K) throw shapeMismatch(KERNEL, 'inputs.w shape', `[N, ${K}] (K = width of x)`, inputs.w.shape);
  if (inputs.bias !== undefined) {
    requireF32(KERNEL, 'inputs.bias', inputs.bias);
    requireVector(KERNEL, 'inputs.bias', inputs.bias, N, 'N = rows of w');
  }
  requireRows(KERNEL, 'out', out, { rows: M, width: N }, 'M = rows of x, N = rows of w');
  return { M, K, N };
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
  computeMatmul(
    x.data as Float32Array,
    w.data as Float32Array,
    bias?.data as Float32Array | undefined,
    out.data as Float32Array,
    plan,
  );
}
