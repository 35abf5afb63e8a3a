/**
 * writeRows — copies the rows of src into out from row `rowOffset` on (new keys/values into a
 * cache); rows of out outside that range keep their contents.
 *
 * Legend:
 *   B        sequences: the leading dimension when src and out are both rank 3, else 1
 *   R        rows of src per sequence (other leading dimensions flattened)
 *   N        row width
 *   Rout     rows of out per sequence; rowOffset + R <= Rout
 *   src      [B, R, N]
 *   out      [B, Rout, N], same dtype as src, must not overlap src; out[b, rowOffset + r] = src[b, r]
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
  readonly B: number;
  readonly R: number;
  readonly Rout: number;
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
  const { rows, width: N } = asRows(KERNEL, 'inputs.src', inputs.src);
  const { rows: outRows, width: outWidth } = asRows(KERNEL, 'out', out);
  if (outWidth !== N) throw shapeMismatch(KERNEL, 'out width', `${N} (the width of src)`, outWidth);
  const batched = inputs.src.shape.length === 3 && out.shape.length === 3;
  const B = batched ? inputs.src.shape[0] : 1;
  if (batched && out.shape[0] !== B) {
    throw shapeMismatch(KERNEL, 'out batch', `${B} (the batch of src, both rank 3)`, out.shape[0]);
  }
  const R = batched ? inputs.src.shape[1] : rows;
  const Rout = batched ? out.shape[1] : outRows;
  const rowOffset = requireInteger(KERNEL, 'attrs.rowOffset', attrs.rowOffset, 0);
  if (rowOffset + R > Rout) {
    throw invalidArgument(
      KERNEL,
      'attrs.rowOffset',
      `at most rows of out - rows of src = ${Rout} - ${R} = ${Rout - R}`,
      rowOffset,
    );
  }
  return { B, R, Rout, N, rowOffset };
}

function computeWriteRows(
  src: Float32Array,
  out: Float32Array,
  { B, R, Rout, N, rowOffset }: WriteRowsPlan,
): void {
  for (let b = 0; b < B; b++) out.set(src.subarray(b * R * N, (b + 1) * R * N), (b * Rout + rowOffset) * N);
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
