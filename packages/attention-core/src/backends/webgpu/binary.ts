/**
 * The element-wise binary kernels (add, mul) share one program shape; each file supplies its operator.
 *
 * Legend:
 *   M    rows of a (leading dimensions flattened)
 *   N    row width
 *   a    [M, N]
 *   b    [M, N], or [N] repeated for each row (broadcast)
 *   out  [M, N], may be a itself, or b itself when b is not broadcast
 */
import type { KernelInputs, TensorHandle } from '@rotor/core';
import { validateBinary } from '../reference/validate.js';
import type { GpuKernelContext } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ELEMENT_THREADS, elementGroups } from './wgsl.js';

/** WGSL of `out[e] = a[e] <operator> b[e or e mod N]`. */
function binaryProgram(operator: '+' | '*'): (bindings: string) => string {
  return (bindings) => /* wgsl */ `
struct Params { count: u32, N: u32, broadcast: u32 }
${bindings}
${COMMON}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = group_index(wid, groups) * ${ELEMENT_THREADS}u + lid;
  if (e >= params.count) { return; }
  let be = select(e, e % params.N, params.broadcast != 0u);
  out[e] = a_at(e) ${operator} b_at(be);
}`;
}

const PROGRAMS = { add: binaryProgram('+'), mul: binaryProgram('*') };

/** Validates and dispatches `kernel` (add or mul). */
export function runBinary(
  kernel: 'add' | 'mul',
  context: GpuKernelContext,
  inputs: KernelInputs<'add'>,
  outHandle: TensorHandle,
): void {
  const a = resolveTensor(kernel, 'inputs.a', inputs.a, context.owner);
  const b = resolveTensor(kernel, 'inputs.b', inputs.b, context.owner);
  const out = resolveTensor(kernel, 'out', outHandle, context.owner);
  const { M, N, broadcast } = validateBinary(kernel, a, b, out);
  requireNoOverlap(kernel, out, 'inputs.a', a, true);
  requireNoOverlap(kernel, out, 'inputs.b', b, !broadcast);
  context.engine.dispatch({
    kernel,
    program: kernel,
    code: PROGRAMS[kernel],
    uniforms: { u32: [M * N, N, broadcast ? 1 : 0] },
    inputs: [
      ['a', a],
      ['b', b],
    ],
    out,
    workgroups: elementGroups(M * N),
  });
}
