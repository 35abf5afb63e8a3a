/**
 * mul — element-wise `out = a * b`, b either a's shape or one row broadcast over every row.
 * The program and its legend are in `binary.ts`, shared with `add`.
 */

import { runBinary } from './binary.js';
import type { GpuKernel } from './kernel-context.js';

/** WebGPU `mul` kernel. */
export const mul: GpuKernel<'mul'> = (context, inputs, _attrs, out) => runBinary('mul', context, inputs, out);
