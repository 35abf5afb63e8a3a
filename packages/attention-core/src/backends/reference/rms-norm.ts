/**
 * rmsNorm — root-mean-square norm per row, computed as llama2.c `rmsnorm` does:
 * `ss = 1 / sqrt(sum(x²) / D + epsilon)`, `out = weight * (ss * x)`.
 *
 * Legend:
 *   M        rows of x (leading dimensions flattened)
 *   D        row width
 *   x        [M, D]
 *   weight   [D]
 *   out      [M, D], may be x itself
 *   epsilon  finite, >= 0
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  requireF32,
  requireFinite,
  requireNoOverlap,
  requireRows,
  requireVector,
  resolveTensor,
} from './validate.js';

const KERNEL = 'rmsNorm';

/** Dimensions of a validated rmsNorm. */
export interface RmsNormPlan {
  readonly M: number;
  readonly D: number;
  readonly epsilon: number;
}

/** Checks dtypes, shapes and epsilon; backend-independent. */
export function validateRmsNorm(
  inputs: KernelInputs<'rmsNorm'>,
  attrs: KernelAttrs<'rmsNorm'>,
  out: TensorHandle,
): RmsNormPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'inputs.weight', inputs.weight);
  requireF32(KERNEL, 'out', out);
  const { rows: M, width: D } = asRows(KERNEL, 'inputs.x', inputs.x);
  requireVector(KERNEL, 'inputs.weight', inputs.weight, D, 'D = width of x');
  requireRows(KERNEL, 'out', out, { rows: M, width: D });
  const epsilon = requireFinite(KERNEL, 'attrs.epsilon', attrs.epsilon, 0);
  return { M, D, epsilon };
}

function computeRmsNorm(
  x: Float32Array,
  weight: Float32Array,
  out: Float32Array,
  { M, D, epsilon }: RmsNormPlan,
): void {
  for (let m = 0; m < M; m++) {
    const row = m * D;
    let sumOfSquares = 0;
    for (let d = 0; d < D; d++) sumOfSquares += x[row + d] * x[row + d];
    const ss = 1 / Math.sqrt(sumOfSquares / D + epsilon);
    for (let d = 0; d < D; d++) out[row + d] = weight[d] * (ss * x[row + d]);
  }
}

/** Reference `rmsNorm` kernel. */
export function rmsNorm(
  context: KernelContext,
  inputs: KernelInputs<'rmsNorm'>,
  attrs: KernelAttrs<'rmsNorm'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const weight = resolveTensor(KERNEL, 'inputs.weight', inputs.weight, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateRmsNorm({ x, weight }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.weight', weight, false);
  computeRmsNorm(x.data as Float32Array, weight.data as Float32Array, out.data as Float32Array, plan);
}
