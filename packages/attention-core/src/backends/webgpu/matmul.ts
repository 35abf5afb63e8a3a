/**
 * matmul — `out = x · wᵀ + bias` (PyTorch `Linear`, llama2.c `matmul`). Two programs:
 * GEMV for M = 1 (decode): each 64-thread workgroup computes 64 / R output features with R threads
 * per feature (the backend's `gemvThreadsPerRow`: 16 on GPUs, 1 on software adapters, where a
 * barrier costs more than the arithmetic), reading x and w as vec4 when K % 4 == 0; tiled GEMM for
 * M > 1 (prefill): one workgroup per 16 x 16 output tile, staging 16 x 16 tiles of x and w in
 * workgroup memory.
 *
 * Legend:
 *   M     rows of x (its leading dimensions flattened)
 *   K     reduction size (width of x and of w)
 *   N     output features
 *   R     threads per output feature in the GEMV
 *   x     [M, K]
 *   w     [N, K] — output feature n's weights are contiguous
 *   bias  [N], optional (a zero buffer is bound when absent)
 *   out   [M, N], must not overlap x, w or bias
 */
import { validateMatmul } from '../reference/matmul.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, ROW_THREADS } from './wgsl.js';

const KERNEL = 'matmul';

/** Output tile edge of the GEMM program. */
const TILE = 16;

/**
 * GEMV program: a 64-thread workgroup computes ROW_THREADS / R output features, R threads each,
 * striding over K (by vec4 when K % 4 == 0); R > 1 sums the R partials in workgroup memory.
 */
const gemv = (threadsPerRow: number, vector: boolean) => (bindings: string) =>
  /* wgsl */ `
struct Params { M: u32, K: u32, N: u32, has_bias: u32 }
${bindings}
${COMMON}
const R = ${threadsPerRow}u;
const ROWS = ${ROW_THREADS / threadsPerRow}u;
${threadsPerRow > 1 ? `var<workgroup> partial: array<f32, ${ROW_THREADS}>;` : ''}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = group_index(wid, groups);
  if (group * ROWS >= params.N) { return; }
  let n = group * ROWS + lid / R;
  let lane = lid % R;
  var sum = 0.0;
  if (n < params.N) {
${
  vector
    ? `    let K4 = params.K / 4u;
    let row = n * K4;
    var acc = vec4f(0.0);
    for (var k = lane; k < K4; k += R) { acc += x_at4(k) * w_at4(row + k); }
    sum = (acc.x + acc.y) + (acc.z + acc.w);`
    : `    let row = n * params.K;
    for (var k = lane; k < params.K; k += R) { sum += x_at(k) * w_at(row + k); }`
}
  }
${
  threadsPerRow > 1
    ? `  partial[lid] = sum;
  workgroupBarrier();
  if (lane != 0u || n >= params.N) { return; }
  for (var i = 1u; i < R; i++) { sum += partial[lid + i]; }`
    : '  if (n >= params.N) { return; }'
}
  if (params.has_bias != 0u) { sum += bias_at(n); }
  out[n] = sum;
}`;

const gemm = (bindings: string) => /* wgsl */ `
struct Params { M: u32, K: u32, N: u32, has_bias: u32 }
${bindings}
${COMMON}
const TILE = ${TILE}u;
var<workgroup> x_tile: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> w_tile: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_id) local: vec3u) {
  let tiles_n = (params.N + TILE - 1u) / TILE;
  let tile = group_index(wid, groups);
  if (tile >= tiles_n * ((params.M + TILE - 1u) / TILE)) { return; }
  let m0 = (tile / tiles_n) * TILE;
  let n0 = (tile % tiles_n) * TILE;
  let m = m0 + local.y;
  let n = n0 + local.x;
  let w_row = n0 + local.y;
  var sum = 0.0;
  for (var k0 = 0u; k0 < params.K; k0 += TILE) {
    let k = k0 + local.x;
    var x_value = 0.0;
    if (m < params.M && k < params.K) { x_value = x_at(m * params.K + k); }
    x_tile[local.y][local.x] = x_value;
    var w_value = 0.0;
    if (w_row < params.N && k < params.K) { w_value = w_at(w_row * params.K + k); }
    w_tile[local.y][local.x] = w_value;
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) { sum += x_tile[local.y][kk] * w_tile[local.x][kk]; }
    workgroupBarrier();
  }
  if (m < params.M && n < params.N) {
    var value = sum;
    if (params.has_bias != 0u) { value += bias_at(n); }
    out[m * params.N + n] = value;
  }
}`;

/** WebGPU `matmul` kernel. */
export const matmul: GpuKernel<'matmul'> = (context, inputs, _attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const w = resolveTensor(KERNEL, 'inputs.w', inputs.w, context.owner);
  const bias =
    inputs.bias === undefined ? undefined : resolveTensor(KERNEL, 'inputs.bias', inputs.bias, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const { M, K, N } = validateMatmul({ x, w, bias }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, false);
  requireNoOverlap(KERNEL, out, 'inputs.w', w, false);
  if (bias) requireNoOverlap(KERNEL, out, 'inputs.bias', bias, false);
  const uniforms = { u32: [M, K, N, bias === undefined ? 0 : 1] };
  if (M !== 1) {
    context.engine.dispatch({
      kernel: KERNEL,
      program: 'matmul-gemm',
      code: gemm,
      uniforms,
      inputs: [
        ['x', x],
        ['w', w],
        ['bias', bias],
      ],
      out,
      workgroups: Math.ceil(M / TILE) * Math.ceil(N / TILE),
    });
    return;
  }
  const threadsPerRow = context.tuning.gemvThreadsPerRow;
  // vec4 bindings need whole, non-empty vec4 rows.
  const vector = K > 0 && K % 4 === 0;
  const element = vector ? 'vec4' : undefined;
  context.engine.dispatch({
    kernel: KERNEL,
    program: `matmul-gemv-${threadsPerRow}-${vector ? 'vec4' : 'f32'}`,
    code: gemv(threadsPerRow, vector),
    uniforms,
    inputs: [
      ['x', x, element],
      ['w', w, element],
      ['bias', bias],
    ],
    out,
    workgroups: Math.ceil(N / (ROW_THREADS / threadsPerRow)),
  });
};
