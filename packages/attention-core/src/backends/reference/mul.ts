/**
 * mul — element-wise `out = a * b`, with b either a's shape or one row broadcast over every row.
 *
 * Legend:
 *   M    rows of a (leading dimensions flattened)
 *   N    row width
 *   a    [M, N]
 *   b    [M, N], or [N] repeated for each row
 *   out  [M, N], may be a itself, or b itself when b is not broadcast
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import { type BinaryPlan, requireNoOverlap, resolveTensor, validateBinary } from './validate.js';

const KERNEL = 'mul';

/** Checks dtypes and shapes, and whether b is broadcast; backend-independent. */
export function validateMul(inputs: KernelInputs<'mul'>, out: TensorHandle): BinaryPlan {
  return validateBinary(KERNEL, inputs.a, inputs.b, out);
}

function computeMul(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  { M, N, broadcast }: BinaryPlan,
): void {
  if (!broadcast) {
    for (let e = 0; e < M * N; e++) out[e] = a[e] * b[e];
    return;
  }
  for (let m = 0; m < M; m++) {
    const row = m * N;
    for (let n = 0; n < N; n++) out[row + n] = a[row + n] * b[n];
  }
}

/** Reference `mul` kernel. */
export function mul(
  context: KernelContext,
  inputs: KernelInputs<'mul'>,
  _attrs: KernelAttrs<'mul'>,
  outHandle: TensorHandle,
): void {
  const a = resolveTensor(KERNEL, 'inputs.a', inputs.a, context.owner);
  const b = resolveTensor(KERNEL, 'inputs.b', inputs.b, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateMul({ a, b }, out);
  requireNoOverlap(KERNEL, out, 'inputs.a', a, true);
  requireNoOverlap(KERNEL, out, 'inputs.b', b, !plan.broadcast);
  computeMul(a.data as Float32Array, b.data as Float32Array, out.data as Float32Array, plan);
}
