/**
 * gelu — element-wise Gaussian error linear unit, one thread per element.
 *
 * Legend:
 *   x     any shape of rank >= 1, seen as [M, N] (leading dimensions flattened)
 *   out   [M, N], may be x itself
 *   none  exact: x * Φ(x) = 0.5 * x * erfc(-x / √2), erfc from Numerical Recipes' `erfcc`
 *         (Chebyshev fit, relative error below 1.2e-7 everywhere; WGSL has no erf)
 *   tanh  GPT-2's approximation: 0.5 * x * (1 + tanh(√(2/π) * (x + 0.044715 x³))), tanh evaluated as
 *         sign(y) (1 - e^-2|y|) / (1 + e^-2|y|), finite for every y (a driver's tanh may overflow)
 */
import { validateGelu } from '../reference/gelu.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ELEMENT_THREADS, elementGroups } from './wgsl.js';

const KERNEL = 'gelu';

const program = (bindings: string) => /* wgsl */ `
struct Params { count: u32, approximate_tanh: u32 }
${bindings}
${COMMON}
fn erfc(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, z >= 0.0);
}
fn finite_tanh(y: f32) -> f32 {
  let e = exp(-2.0 * abs(y));
  return sign(y) * (1.0 - e) / (1.0 + e);
}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = group_index(wid, groups) * ${ELEMENT_THREADS}u + lid;
  if (e >= params.count) { return; }
  let value = x_at(e);
  if (params.approximate_tanh != 0u) {
    let inner = ${Math.sqrt(2 / Math.PI)} * (value + 0.044715 * value * value * value);
    out[e] = 0.5 * value * (1.0 + finite_tanh(inner));
  } else {
    out[e] = 0.5 * value * erfc(-value * ${Math.SQRT1_2});
  }
}`;

/** WebGPU `gelu` kernel. */
export const gelu: GpuKernel<'gelu'> = (context, inputs, attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const count = validateGelu({ x }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  context.engine.dispatch({
    kernel: KERNEL,
    program: KERNEL,
    code: program,
    uniforms: { u32: [count, attrs.approximate === 'tanh' ? 1 : 0] },
    inputs: [['x', x]],
    out,
    workgroups: elementGroups(count),
  });
};
