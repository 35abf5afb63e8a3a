/**
 * applyRotary — rotary position embedding (RoPE): rotates pairs of each head's first R dimensions
 * by angles read from cos/sin tables indexed by absolute position. One thread per (row, head, k):
 * k < R/2 rotates pair k, k >= R/2 copies dimension R + k - R/2 unchanged.
 *
 * Legend:
 *   T       rows per sequence: the second-to-last dimension of x (1 when x is 1-D); row r sits at
 *           position p = positionOffset + (r mod T) - s0
 *   s0      sequenceStarts[floor(r / T)] (0 when absent): the sequence's left padding; rows with p < 0
 *           are padding and are copied unchanged
 *   aux     s0 of each sequence (B = rows / T words)
 *   W       row width = H * Dh
 *   H, Dh   numHeads, headDim
 *   R       rotaryDim: even, 2 <= R <= Dh
 *   cos, sin  [P, R/2], P >= positionOffset + T
 *   pairs   interleaved: (x[2i], x[2i+1]); half-split: (x[i], x[i + R/2])
 *   rotation  (a, b) -> (a cos - b sin, a sin + b cos)
 *   out     like x, may be x itself (each thread rewrites only the elements it read)
 */
import { validateApplyRotary } from '../reference/apply-rotary.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ELEMENT_THREADS, elementGroups } from './wgsl.js';

const KERNEL = 'applyRotary';

const program = (bindings: string) => /* wgsl */ `
struct Params { count: u32, T: u32, H: u32, Dh: u32, R: u32, interleaved: u32, position_offset: u32 }
${bindings}
${COMMON}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = group_index(wid, groups) * ${ELEMENT_THREADS}u + lid;
  if (e >= params.count) { return; }
  let pairs = params.R / 2u;
  let per_head = params.Dh - pairs;
  let k = e % per_head;
  let head = e / per_head;
  let h = head % params.H;
  let r = head / params.H;
  let base = r * params.H * params.Dh + h * params.Dh;
  let start = aux[r / params.T];
  let unshifted = params.position_offset + r % params.T;
  if (k < pairs && unshifted >= start) {
    let table = (unshifted - start) * pairs + k;
    let c = cos_table_at(table);
    let s = sin_table_at(table);
    var first = base + k;
    var second = first + pairs;
    if (params.interleaved != 0u) {
      first = base + 2u * k;
      second = first + 1u;
    }
    let a = x_at(first);
    let b = x_at(second);
    out[first] = a * c - b * s;
    out[second] = a * s + b * c;
  } else if (k < pairs) {
    var first = base + k;
    var second = first + pairs;
    if (params.interleaved != 0u) {
      first = base + 2u * k;
      second = first + 1u;
    }
    out[first] = x_at(first);
    out[second] = x_at(second);
  } else {
    let d = base + params.R + k - pairs;
    out[d] = x_at(d);
  }
}`;

/** WebGPU `applyRotary` kernel. */
export const applyRotary: GpuKernel<'applyRotary'> = (context, inputs, attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const cos = resolveTensor(KERNEL, 'inputs.cos', inputs.cos, context.owner);
  const sin = resolveTensor(KERNEL, 'inputs.sin', inputs.sin, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { rows, T, H, Dh, R, layout, positionOffset, sequenceStarts } = validateApplyRotary(
    { x, cos, sin },
    attrs,
    out,
  );
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.cos', cos, false);
  requireNoOverlap(KERNEL, out, 'inputs.sin', sin, false);
  const count = rows * H * (Dh - R / 2);
  const sequences = T === 0 ? 0 : rows / T;
  context.engine.dispatch({
    kernel: KERNEL,
    program: KERNEL,
    code: program,
    uniforms: { u32: [count, T, H, Dh, R, layout === 'interleaved' ? 1 : 0, positionOffset] },
    aux: {
      words: sequences,
      fill: (u32) => {
        for (let b = 0; b < sequences; b++) u32[b] = sequenceStarts === undefined ? 0 : sequenceStarts[b];
      },
    },
    inputs: [
      ['x', x],
      ['cos_table', cos],
      ['sin_table', sin],
    ],
    out,
    workgroups: elementGroups(count),
  });
};
