/**
 * writeRows — copies the rows of src into out from row `rowOffset` on (new keys/values into a
 * cache); rows of out outside that range keep their contents.
 *
 * Legend:
 *   R        rows of src (leading dimensions flattened)
 *   N        row width
 *   Rout     rows of out (leading dimensions flattened); rowOffset + R <= Rout
 *   src      [R, N]
 *   out      [Rout, N], same dtype as src, must not overlap src
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  invalidArgument,
  requireF32,
  requireInteger,
  requireNoOverlap,
  resolveTensor,
  shapeMismatch,
} from './validate.js';

const KERNEL = 'writeRows';

/** Dimensions of a validated writeRows. */
export interface WriteRowsPlan {
  readonly R: number;
  readonly N: number;
  readonly rowOffset: number;
}

/** Checks dtypes, widths and the row range; backend-independent. */
export function validateWriteRows(
  inputs: KernelInputs<'writeRows'>,
  attrs: KernelAttrs<'writeRows'>,
  out: TensorHandle,
): WriteRowsPlan {
  requireF32(KERNEL, 'inputs.src', inputs.src);
  requireF32(KERNEL, 'out', out);
  const { rows: R, width: N } = asRows(KERNEL, 'inputs.src', inputs.src);
  const { rows: Rout, width: outWidth } = asRows(KERNEL, 'out', out);
  if (outWidth !== N) throw shapeMismatch(KERNEL, 'out width', `${N} (the width of src)`, outWidth);
  const rowOffset = requireInteger(KERNEL, 'attrs.rowOffset', attrs.rowOffset, 0);
  if (rowOffset + R > Rout) {
    throw invalidArgument(
      KERNEL,
      'attrs.rowOffset',
      `at most rows of out - rows of src = ${Rout} - ${R} = ${Rout - R}`,
      rowOffset,
    );
  }
  return { R, N, rowOffset };
}

function computeWriteRows(src: Float32Array, out: Float32Array, { R, N, rowOffset }: WriteRowsPlan): void {
  out.set(src.subarray(0, R * N), rowOffset * N);
}

/** Reference `writeRows` kernel. */
export function writeRows(
  context: KernelContext,
  inputs: KernelInputs<'writeRows'>,
  attrs: KernelAttrs<'writeRows'>,
  outHandle: TensorHandle,
): void {
  const src = resolveTensor(KERNEL, 'inputs.src', inputs.src, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateWriteRows({ src }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.src', src, false);
  computeWriteRows(src.data as Float32Array, out.data as Float32Array, plan);
}
