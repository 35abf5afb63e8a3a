/**
 * rmsNorm — root-mean-square norm per row as llama2.c computes it:
 * `ss = 1 / sqrt(sum(x²) / D + epsilon)`, `out = weight * (ss * x)`; one workgroup per row.
 *
 * Legend:
 *   M        rows of x (leading dimensions flattened)
 *   D        row width
 *   x        [M, D]
 *   weight   [D]
 *   out      [M, D], may be x itself (each thread rewrites only the elements it read)
 *   epsilon  finite, >= 0
 */
import { validateRmsNorm } from '../reference/rms-norm.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { rowProgram } from './wgsl.js';

const KERNEL = 'rmsNorm';

const program = rowProgram(
  'M: u32, D: u32, epsilon: f32',
  /* wgsl */ `
  let base = row * params.D;
  var sum = 0.0;
  for (var d = lid; d < params.D; d += ROW_THREADS) {
    let value = x_at(base + d);
    sum += value * value;
  }
  let ss = 1.0 / sqrt(reduce_sum(lid, sum) / f32(params.D) + params.epsilon);
  for (var d = lid; d < params.D; d += ROW_THREADS) {
    out[base + d] = weight_at(d) * (ss * x_at(base + d));
  }`,
);

/** WebGPU `rmsNorm` kernel. */
export const rmsNorm: GpuKernel<'rmsNorm'> = (context, inputs, attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const weight = resolveTensor(KERNEL, 'inputs.weight', inputs.weight, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { M, D, epsilon } = validateRmsNorm({ x, weight }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.weight', weight, false);
  context.engine.dispatch({
    kernel: KERNEL,
    program: `${KERNEL}-${context.tuning.rowThreads}`,
    code: program(context.tuning.rowThreads),
    uniforms: { u32: [M, D], f32: [epsilon] },
    inputs: [
      ['x', x],
      ['weight', weight],
    ],
    out,
    workgroups: D === 0 ? 0 : M,
  });
};
