/**
 * embedding — row lookup `out[t, :] = table[ids[t], :]`, one thread per output element; the ids
 * travel in the aux words.
 *
 * Legend:
 *   V      rows of the table (vocabulary size)
 *   D      row width
 *   T      number of ids
 *   table  [V, D]
 *   ids    T integers in [0, V) (an attr, not a tensor)
 *   out    [T, D] (leading dimensions flattened), must not overlap table
 */
import { validateEmbedding } from '../reference/embedding.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ELEMENT_THREADS, elementGroups } from './wgsl.js';

const KERNEL = 'embedding';

const program = (bindings: string) => /* wgsl */ `
struct Params { count: u32, D: u32 }
${bindings}
${COMMON}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = group_index(wid, groups) * ${ELEMENT_THREADS}u + lid;
  if (e >= params.count) { return; }
  out[e] = table_at(aux[e / params.D] * params.D + e % params.D);
}`;

/** WebGPU `embedding` kernel. */
export const embedding: GpuKernel<'embedding'> = (context, inputs, attrs, outHandle) => {
  const table = resolveTensor(KERNEL, 'inputs.table', inputs.table, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { D, T } = validateEmbedding({ table }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.table', table, false);
  context.engine.dispatch({
    kernel: KERNEL,
    program: KERNEL,
    code: program,
    uniforms: { u32: [T * D, D] },
    aux: {
      words: T,
      fill: (u32) => {
        for (let t = 0; t < T; t++) u32[t] = attrs.ids[t];
      },
    },
    inputs: [['table', table]],
    out,
    workgroups: elementGroups(T * D),
  });
};
