/**
 * writeRows — copies the rows of src into out from row `rowOffset` on (new keys/values into a
 * cache). A plain buffer copy in the pending command encoder: no shader is needed.
 *
 * Legend:
 *   B        sequences: the leading dimension when src and out are both rank 3, else 1
 *   R        rows of src per sequence; N row width; Rout rows of out per sequence
 *   src      [B, R, N]
 *   out      [B, Rout, N], must not overlap src; out[b, rowOffset + r] = src[b, r] (one copy per sequence)
 */
import { validateWriteRows } from '../reference/write-rows.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';

const KERNEL = 'writeRows';

/** WebGPU `writeRows` kernel. */
export const writeRows: GpuKernel<'writeRows'> = (context, inputs, attrs, outHandle) => {
  const src = resolveTensor(KERNEL, 'inputs.src', inputs.src, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { B, R, Rout, N, rowOffset } = validateWriteRows({ src }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.src', src, false);
  for (let b = 0; b < B; b++)
    context.engine.copy(src, out, (b * Rout + rowOffset) * N * 4, R * N * 4, b * R * N * 4);
};
