/**
 * softmax — per row `out[j] = exp(x[j] - max) / sum_j exp(x[j] - max)`; one workgroup per row.
 * `-Infinity` entries (masked) give 0 and a row of only `-Infinity` gives zeros; they are found by
 * their bits, since WGSL compilers may assume values are finite.
 *
 * Legend:
 *   M    rows of x (leading dimensions flattened)
 *   N    row width
 *   x    [M, N]
 *   out  [M, N], may be x itself (each thread rewrites only the elements it read)
 */
import { validateSoftmax } from '../reference/softmax.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { rowProgram } from './wgsl.js';

const KERNEL = 'softmax';

const program = rowProgram(
  'M: u32, N: u32',
  /* wgsl */ `
  let base = row * params.N;
  var largest = -FLOAT_MAX;
  for (var n = lid; n < params.N; n += ROW_THREADS) {
    let value = x_at(base + n);
    if (!is_negative_infinity(value)) { largest = max(largest, value); }
  }
  let row_max = reduce_max(lid, largest);
  var sum = 0.0;
  for (var n = lid; n < params.N; n += ROW_THREADS) {
    let value = x_at(base + n);
    if (!is_negative_infinity(value)) { sum += exp(value - row_max); }
  }
  let total = reduce_sum(lid, sum);
  for (var n = lid; n < params.N; n += ROW_THREADS) {
    let value = x_at(base + n);
    var result = 0.0;
    if (!is_negative_infinity(value)) { result = exp(value - row_max) / total; }
    out[base + n] = result;
  }`,
);

/** WebGPU `softmax` kernel. */
export const softmax: GpuKernel<'softmax'> = (context, inputs, _attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { M, N } = validateSoftmax({ x }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  context.engine.dispatch({
    kernel: KERNEL,
    program: `${KERNEL}-${context.tuning.rowThreads}`,
    code: program(context.tuning.rowThreads),
    uniforms: { u32: [M, N] },
    inputs: [['x', x]],
    out,
    workgroups: N === 0 ? 0 : M,
  });
};
