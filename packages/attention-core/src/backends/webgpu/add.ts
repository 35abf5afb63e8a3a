/**
 * add — element-wise `out = a + b`, b either a's shape or one row broadcast over every row.
 * The program and its legend are in `binary.ts`, shared with `mul`.
 */

import { runBinary } from './binary.js';
import type { GpuKernel } from './kernel-context.js';

/** WebGPU `add` kernel. */
export const add: GpuKernel<'add'> = (context, inputs, _attrs, out) => runBinary('add', context, inputs, out);
