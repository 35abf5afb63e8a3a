/**
 * writeRows — copies the rows of src into out from row `rowOffset` on (new keys/values into a
 * cache). A plain buffer copy in the pending command encoder: no shader is needed.
 *
 * Legend:
 *   R        rows of src (leading dimensions flattened)
 *   N        row width
 *   Rout     rows of out (leading dimensions flattened); rowOffset + R <= Rout
 *   src      [R, N]
 *   out      [Rout, N], must not overlap src
 */
import { validateWriteRows } from '../reference/write-rows.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';

const KERNEL = 'writeRows';

/** WebGPU `writeRows` kernel. */
export const writeRows: GpuKernel<'writeRows'> = (context, inputs, attrs, outHandle) => {
  const src = resolveTensor(KERNEL, 'inputs.src', inputs.src, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { R, N, rowOffset } = validateWriteRows({ src }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.src', src, false);
  context.engine.copy(src, out, rowOffset * N * 4, R * N * 4);
};
