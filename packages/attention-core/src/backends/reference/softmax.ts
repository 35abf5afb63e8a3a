/**
 * softmax — per row `out[j] = exp(x[j] - max) / sum_j exp(x[j] - max)`. A row whose every entry
 * is `-Infinity` (fully masked) gives zeros instead of 0/0.
 *
 * Legend:
 *   M    rows of x (leading dimensions flattened)
 *   N    row width
 *   x    [M, N]
 *   out  [M, N], may be x itself
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import { asRows, requireF32, requireNoOverlap, requireRows, resolveTensor } from './validate.js';

const KERNEL = 'softmax';

/** Dimensions of a validated softmax. */
export interface SoftmaxPlan {
  readonly M: number;
  readonly N: number;
}

/** Checks dtypes and shapes; backend-independent. */
export function validateSoftmax(inputs: KernelInputs<'softmax'>, out: TensorHandle): SoftmaxPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'out', out);
  const { rows: M, width: N } = asRows(KERNEL, 'inputs.x', inputs.x);
  requireRows(KERNEL, 'out', out, { rows: M, width: N });
  return { M, N };
}

function computeSoftmax(x: Float32Array, out: Float32Array, exps: Float64Array, { M, N }: SoftmaxPlan): void {
  for (let m = 0; m < M; m++) {
    const row = m * N;
    let max = Number.NEGATIVE_INFINITY;
    for (let n = 0; n < N; n++) if (x[row + n] > max) max = x[row + n];
    if (max === Number.NEGATIVE_INFINITY) {
      out.fill(0, row, row + N);
      continue;
    }
    let sum = 0;
    for (let n = 0; n < N; n++) {
      exps[n] = Math.exp(x[row + n] - max);
      sum += exps[n];
    }
    for (let n = 0; n < N; n++) out[row + n] = exps[n] / sum;
  }
}

/** Reference `softmax` kernel. */
export function softmax(
  context: KernelContext,
  inputs: KernelInputs<'softmax'>,
  _attrs: KernelAttrs<'softmax'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateSoftmax({ x }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  computeSoftmax(x.data as Float32Array, out.data as Float32Array, context.scratch.scores(plan.N), plan);
}
