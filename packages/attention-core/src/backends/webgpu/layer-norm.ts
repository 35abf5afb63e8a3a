/**
 * layerNorm — per row `out = (x - mean) / sqrt(var + epsilon) * weight + bias` with the population
 * variance, both moments in two passes as the reference computes them; one workgroup per row.
 *
 * Legend:
 *   M        rows of x (leading dimensions flattened)
 *   D        row width
 *   x        [M, D]
 *   weight   [D]
 *   bias     [D], optional (a zero buffer is bound when absent)
 *   out      [M, D], may be x itself (each thread rewrites only the elements it read)
 *   epsilon  finite, >= 0
 */
import { validateLayerNorm } from '../reference/layer-norm.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { rowProgram } from './wgsl.js';

const KERNEL = 'layerNorm';

const program = rowProgram(
  'M: u32, D: u32, has_bias: u32, epsilon: f32',
  /* wgsl */ `
  let base = row * params.D;
  var sum = 0.0;
  for (var d = lid; d < params.D; d += ROW_THREADS) { sum += x_at(base + d); }
  let mean = reduce_sum(lid, sum) / f32(params.D);
  var squares = 0.0;
  for (var d = lid; d < params.D; d += ROW_THREADS) {
    let centered = x_at(base + d) - mean;
    squares += centered * centered;
  }
  let inverse_std = 1.0 / sqrt(reduce_sum(lid, squares) / f32(params.D) + params.epsilon);
  for (var d = lid; d < params.D; d += ROW_THREADS) {
    var value = (x_at(base + d) - mean) * inverse_std * weight_at(d);
    if (params.has_bias != 0u) { value += bias_at(d); }
    out[base + d] = value;
  }`,
);

/** WebGPU `layerNorm` kernel. */
export const layerNorm: GpuKernel<'layerNorm'> = (context, inputs, attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const weight = resolveTensor(KERNEL, 'inputs.weight', inputs.weight, context.owner);
  const bias =
    inputs.bias === undefined ? undefined : resolveTensor(KERNEL, 'inputs.bias', inputs.bias, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { M, D, epsilon } = validateLayerNorm({ x, weight, bias }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.weight', weight, false);
  if (bias) requireNoOverlap(KERNEL, out, 'inputs.bias', bias, false);
  context.engine.dispatch({
    kernel: KERNEL,
    program: `${KERNEL}-${context.tuning.rowThreads}`,
    code: program(context.tuning.rowThreads),
    uniforms: { u32: [M, D, bias === undefined ? 0 : 1], f32: [epsilon] },
    inputs: [
      ['x', x],
      ['weight', weight],
      ['bias', bias],
    ],
    out,
    workgroups: D === 0 ? 0 : M,
  });
};
