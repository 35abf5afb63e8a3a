/**
 * silu — element-wise `out = x * sigmoid(x) = x / (1 + exp(-x))`, one thread per element.
 *
 * Legend:
 *   x    any shape of rank >= 1, seen as [M, N] (leading dimensions flattened)
 *   out  [M, N], may be x itself
 */
import { validateSilu } from '../reference/silu.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ELEMENT_THREADS, elementGroups } from './wgsl.js';

const KERNEL = 'silu';

const program = (bindings: string) => /* wgsl */ `
struct Params { count: u32 }
${bindings}
${COMMON}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = group_index(wid, groups) * ${ELEMENT_THREADS}u + lid;
  if (e >= params.count) { return; }
  let value = x_at(e);
  out[e] = value / (1.0 + exp(-value));
}`;

/** WebGPU `silu` kernel. */
export const silu: GpuKernel<'silu'> = (context, inputs, _attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const count = validateSilu({ x }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  context.engine.dispatch({
    kernel: KERNEL,
    program: KERNEL,
    code: program,
    uniforms: { u32: [count] },
    inputs: [['x', x]],
    out,
    workgroups: elementGroups(count),
  });
};
