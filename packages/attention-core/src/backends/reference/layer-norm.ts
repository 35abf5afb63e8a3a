/**
 * layerNorm — per row `out = (x - mean) / sqrt(var + epsilon) * weight + bias` with the
 * population variance (PyTorch `LayerNorm`), both moments computed in two passes.
 *
 * Legend:
 *   M        rows of x (leading dimensions flattened)
 *   D        row width
 *   x        [M, D]
 *   weight   [D]
 *   bias     [D], optional (zero when absent)
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

const KERNEL = 'layerNorm';

/** Dimensions of a validated layerNorm. */
export interface LayerNormPlan {
  readonly M: number;
  readonly D: number;
  readonly epsilon: number;
}

/** Checks dtypes, shapes and epsilon; backend-independent. */
export function validateLayerNorm(
  inputs: KernelInputs<'layerNorm'>,
  attrs: KernelAttrs<'layerNorm'>,
  out: TensorHandle,
): LayerNormPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'inputs.weight', inputs.weight);
  requireF32(KERNEL, 'out', out);
  const { rows: M, width: D } = asRows(KERNEL, 'inputs.x', inputs.x);
  requireVector(KERNEL, 'inputs.weight', inputs.weight, D, 'D = width of x');
  if (inputs.bias !== undefined) {
    requireF32(KERNEL, 'inputs.bias', inputs.bias);
    requireVector(KERNEL, 'inputs.bias', inputs.bias, D, 'D = width of x');
  }
  requireRows(KERNEL, 'out', out, { rows: M, width: D });
  const epsilon = requireFinite(KERNEL, 'attrs.epsilon', attrs.epsilon, 0);
  return { M, D, epsilon };
}

function computeLayerNorm(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | undefined,
  out: Float32Array,
  { M, D, epsilon }: LayerNormPlan,
): void {
  for (let m = 0; m < M; m++) {
    const row = m * D;
    let sum = 0;
    for (let d = 0; d < D; d++) sum += x[row + d];
    const mean = sum / D;
    let sumOfSquares = 0;
    for (let d = 0; d < D; d++) {
      const centered = x[row + d] - mean;
      sumOfSquares += centered * centered;
    }
    const inverseStd = 1 / Math.sqrt(sumOfSquares / D + epsilon);
    for (let d = 0; d < D; d++) {
      const normalized = (x[row + d] - mean) * inverseStd * weight[d];
      out[row + d] = bias === undefined ? normalized : normalized + bias[d];
    }
  }
}

/** Reference `layerNorm` kernel. */
export function layerNorm(
  context: KernelContext,
  inputs: KernelInputs<'layerNorm'>,
  attrs: KernelAttrs<'layerNorm'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const weight = resolveTensor(KERNEL, 'inputs.weight', inputs.weight, context.owner);
  const bias =
    inputs.bias === undefined ? undefined : resolveTensor(KERNEL, 'inputs.bias', inputs.bias, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateLayerNorm({ x, weight, bias }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.weight', weight, false);
  if (bias) requireNoOverlap(KERNEL, out, 'inputs.bias', bias, false);
  computeLayerNorm(
    x.data as Float32Array,
    weight.data as Float32Array,
    bias?.data as Float32Array | undefined,
    out.data as Float32Array,
    plan,
  );
}
