/**
 * embedding — row lookup `out[t, :] = table[ids[t], :]`, one thread per output element. A table
 * larger than one storage binding (`maxBindingBytes`) is bound in ranges of whole rows (planned by
 * `rowChunks`, as matmul's weights): each range that some id falls in gets one dispatch, which
 * copies the rows of those ids only. The (t, id - first) pairs of a dispatch travel in the aux words.
 *
 * Legend:
 *   V      rows of the table (vocabulary size)
 *   D      row width
 *   T      number of ids
 *   table  [V, D]
 *   ids    T integers in [0, V) (an attr, not a tensor)
 *   out    [T, D] (leading dimensions flattened), must not overlap table
 *   first, rows  the table rows one dispatch binds
 *   P      (t, id - first) pairs of one dispatch, for the ids in its rows
 *   aux    2P words: t, then id - first, per pair
 */
import { validateEmbedding } from '../reference/embedding.js';
import type { GpuKernel } from './kernel-context.js';
import { rowChunks } from './row-chunks.js';
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
  let pair = 2u * (e / params.D);
  let d = e % params.D;
  out[aux[pair] * params.D + d] = table_at(aux[pair + 1u] * params.D + d);
}`;

/** WebGPU `embedding` kernel. */
export const embedding: GpuKernel<'embedding'> = (context, inputs, attrs, outHandle) => {
  const table = resolveTensor(KERNEL, 'inputs.table', inputs.table, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { V, D, T } = validateEmbedding({ table }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.table', table, false);
  const chunks = rowChunks(
    { kernel: KERNEL, name: 'inputs.table', rows: V, bytesPerRow: 4 * D },
    context.engine.maxBindingBytes,
    context.engine.device.limits.minStorageBufferOffsetAlignment,
  );
  // Every chunk but the last holds the same number of rows, so an id's chunk is a division away.
  const rowsPerChunk = chunks[0].rows;
  const positions: number[][] = chunks.map(() => []);
  for (let t = 0; t < T; t++) positions[Math.floor(attrs.ids[t] / rowsPerChunk)].push(t);
  chunks.forEach(({ first, range }, index) => {
    const outRows = positions[index];
    if (outRows.length === 0) return;
    context.engine.dispatch({
      kernel: KERNEL,
      program: KERNEL,
      code: program,
      uniforms: { u32: [outRows.length * D, D] },
      aux: {
        words: 2 * outRows.length,
        fill: (u32) => {
          outRows.forEach((t, p) => {
            u32[2 * p] = t;
            u32[2 * p + 1] = attrs.ids[t] - first;
          });
        },
      },
      inputs: [['table', table, undefined, range]],
      out,
      workgroups: elementGroups(outRows.length * D),
    });
  });
};
