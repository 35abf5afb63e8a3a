/**
 * embedding — row lookup `out[t, :] = table[ids[t], :]`.
 *
 * Legend:
 *   V      rows of the table (vocabulary size)
 *   D      row width
 *   T      number of ids
 *   table  [V, D]
 *   ids    T integers in [0, V) (an attr, not a tensor)
 *   out    [T, D] (leading dimensions flattened), must not overlap table
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  invalidArgument,
  requireArrayLike,
  requireF32,
  requireNoOverlap,
  requireRank,
  requireRows,
  resolveTensor,
} from './validate.js';

const KERNEL = 'embedding';

/** Dimensions of a validated embedding lookup. */
export interface EmbeddingPlan {
  readonly V: number;
  readonly D: number;
  readonly T: number;
}

/** Checks dtypes, shapes and every id; backend-independent. */
export function validateEmbedding(
  inputs: KernelInputs<'embedding'>,
  attrs: KernelAttrs<'embedding'>,
  out: TensorHandle,
): EmbeddingPlan {
  requireF32(KERNEL, 'inputs.table', inputs.table);
  requireF32(KERNEL, 'out', out);
  const [V, D] = requireRank(KERNEL, 'inputs.table', inputs.table, 2, '[V, D]');
  const T = asRows(KERNEL, 'out', out).rows;
  const ids = requireArrayLike(KERNEL, 'attrs.ids', attrs.ids, T, 'one id per row of out');
  requireRows(KERNEL, 'out', out, { rows: T, width: D }, 'one row per id, D = width of table');
  for (let t = 0; t < T; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw invalidArgument(KERNEL, `attrs.ids[${t}]`, `an integer in [0, ${V}) (V = rows of table)`, id);
    }
  }
  return { V, D, T };
}

function computeEmbedding(
  table: Float32Array,
  ids: ArrayLike<number>,
  out: Float32Array,
  { D, T }: EmbeddingPlan,
): void {
  for (let t = 0; t < T; t++) {
    const start = ids[t] * D;
    out.set(table.subarray(start, start + D), t * D);
  }
}

/** Reference `embedding` kernel. */
export function embedding(
  context: KernelContext,
  inputs: KernelInputs<'embedding'>,
  attrs: KernelAttrs<'embedding'>,
  outHandle: TensorHandle,
): void {
  const table = resolveTensor(KERNEL, 'inputs.table', inputs.table, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateEmbedding({ table }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.table', table, false);
  computeEmbedding(table.data as Float32Array, attrs.ids, out.data as Float32Array, plan);
}
