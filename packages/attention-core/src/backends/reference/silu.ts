/**
 * silu — element-wise `out = x * sigmoid(x) = x / (1 + exp(-x))` (SwiGLU's gate).
 *
 * Legend:
 *   x    any shape of rank >= 1, seen as [M, N] (leading dimensions flattened)
 *   out  [M, N], may be x itself
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import { asRows, requireF32, requireNoOverlap, requireRows, resolveTensor } from './validate.js';

const KERNEL = 'silu';

/** Checks dtypes and shapes; returns the element count. Backend-independent. */
export function validateSilu(inputs: KernelInputs<'silu'>, out: TensorHandle): number {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'out', out);
  requireRows(KERNEL, 'out', out, asRows(KERNEL, 'inputs.x', inputs.x));
  return inputs.x.size;
}

function computeSilu(x: Float32Array, out: Float32Array, size: number): void {
  for (let e = 0; e < size; e++) out[e] = x[e] / (1 + Math.exp(-x[e]));
}

/** Reference `silu` kernel. */
export function silu(
  context: KernelContext,
  inputs: KernelInputs<'silu'>,
  _attrs: KernelAttrs<'silu'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const size = validateSilu({ x }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  computeSilu(x.data as Float32Array, out.data as Float32Array, size);
}
