/**
 * matmul — `out = x · wᵀ + bias` (PyTorch `Linear`, llama2.c `matmul`), with w in f32, in f16 (two
 * halves per word, decoded to f32 as they are read: half the weight traffic of f32, f32 arithmetic)
 * or in GGUF q8_0 / q4_0 blocks dequantised as they are read. Two programs: GEMV for M = 1 (decode):
 * each 64-thread workgroup computes 64 / R output features with R threads per feature (the backend's
 * `gemvThreadsPerRow`: 16 on GPUs, 1 on software adapters, where a barrier costs more than the
 * arithmetic), reading x and an f32 w as vec4 when K % 4 == 0 (an f16 w then as two words per vec4),
 * a quantized w a block at a time;
 * with the `subgroups` feature and R > 1, a subgroup variant gives each feature a whole workgroup;
 * tiled GEMM for M > 1 (prefill): one workgroup per 16 x 16 output tile, staging 16 x 16 tiles of x
 * and (dequantised) w in workgroup memory.
 *
 * A w larger than one storage binding (`maxBindingBytes`) runs as several dispatches, each binding
 * a range of whole rows of w (output features n0 .. n0 + rows - 1) at an offset the device accepts
 * (planned by `rowChunks`).
 *
 * Legend:
 *   M     rows of x (its leading dimensions flattened)
 *   K     reduction size (width of x and of w)
 *   N     output features
 *   R     threads per output feature in the GEMV
 *   x     [M, K]
 *   w     [N, K] — output feature n's weights are contiguous; f32, f16 (element i = n * K + k is
 *         half i & 1 of word i >> 1, low half first), or q8_0 / q4_0 blocks (K % 32 == 0) read as
 *         raw little-endian words: block (n, b) starts at byte (n * K/32 + b) * BB
 *   BB    bytes per block: 34 (q8_0: f16 scale d, 32 int8 q), 18 (q4_0: d, 16 bytes of nibbles:
 *         byte i holds element i low, element i + 16 high, each q = nibble - 8); value = d * q
 *   bias  [N], optional (a zero buffer is bound when absent)
 *   out   [M, N], must not overlap x, w or bias
 *   n0, rows  the output features of one dispatch (the rows of w it binds); n is local to them
 */
import { QUANT_BLOCK_BYTES, QUANT_BLOCK_SIZE } from '@rotor/core';
import { validateMatmul } from '../reference/matmul.js';
import type { GpuKernel, GpuKernelContext } from './kernel-context.js';
import { type RowChunk, rowChunks } from './row-chunks.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import type { WebGpuTensor } from './webgpu-tensor.js';
import { COMMON, ROW_THREADS } from './wgsl.js';

const KERNEL = 'matmul';

/** Output tile edge of the GEMM program. */
const TILE = 16;

type WeightType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

const PARAMS = 'struct Params { M: u32, K: u32, N: u32, has_bias: u32, n0: u32, rows: u32 }';

/**
 * Reading a quantized w: `scale_at(a)` decodes the f16 scale of the block at byte `a` (always even,
 * as both block sizes are), subnormals included (some GPUs' `unpack2x16float` flushes them);
 * `word_at(a)` is the 4 bytes from an even byte address; `w_value(n, k)` one dequantised weight;
 * `block_dot(a, k0)` the block at byte `a` dotted with x[k0 .. k0 + 31] before scaling.
 */
const QUANTIZED_COMMON = /* wgsl */ `
fn scale_at(a: u32) -> f32 {
  let bits = (w[a >> 2u] >> ((a & 2u) * 8u)) & 0xffffu;
  let magnitude = bits & 0x7fffu;
  var value = bitcast<f32>((magnitude + 0x1c000u) << 13u);
  if (magnitude < 0x400u) { value = f32(magnitude) * 0x1p-24f; }
  return select(value, -value, (bits & 0x8000u) != 0u);
}
fn word_at(a: u32) -> u32 {
  let i = a >> 2u;
  if ((a & 2u) == 0u) { return w[i]; }
  return (w[i] >> 16u) | (w[i + 1u] << 16u);
}
fn block_at(n: u32, b: u32) -> u32 { return (n * (params.K / 32u) + b) * BLOCK_BYTES; }
`;

const WEIGHT_READERS: Record<WeightType, string> = {
  f32: /* wgsl */ `
fn w_value(n: u32, k: u32) -> f32 { return w_at(n * params.K + k); }`,
  // Some GPUs' unpack2x16float flushes subnormal halves: those (|value| = magnitude * 2^-24) are
  // rebuilt exactly, so every backend computes with the same weights.
  f16: /* wgsl */ `
fn halves(word: u32) -> vec2f {
  let magnitude = vec2u(word & 0x7fffu, (word >> 16u) & 0x7fffu);
  let small = vec2f(magnitude) * 0x1p-24f;
  let subnormal = select(small, -small, (vec2u(word, word >> 16u) & vec2u(0x8000u)) != vec2u(0u));
  return select(unpack2x16float(word), subnormal, magnitude < vec2u(0x400u));
}
fn w_value(n: u32, k: u32) -> f32 {
  let i = n * params.K + k;
  let pair = halves(w[i >> 1u]);
  return select(pair.x, pair.y, (i & 1u) != 0u);
}`,
  q8_0: /* wgsl */ `
const BLOCK_BYTES = ${QUANT_BLOCK_BYTES.q8_0}u;
${QUANTIZED_COMMON}
fn w_value(n: u32, k: u32) -> f32 {
  let a = block_at(n, k / 32u);
  let byte = a + 2u + k % 32u;
  return scale_at(a) * f32(extractBits(bitcast<i32>(w[byte >> 2u]), (byte & 3u) * 8u, 8u));
}
fn block_dot(a: u32, k0: u32) -> f32 {
  var sum = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let word = bitcast<i32>(word_at(a + 2u + 4u * j));
    let k = k0 + 4u * j;
    sum += x_at(k) * f32(extractBits(word, 0u, 8u)) + x_at(k + 1u) * f32(extractBits(word, 8u, 8u))
         + x_at(k + 2u) * f32(extractBits(word, 16u, 8u)) + x_at(k + 3u) * f32(extractBits(word, 24u, 8u));
  }
  return sum;
}`,
  q4_0: /* wgsl */ `
const BLOCK_BYTES = ${QUANT_BLOCK_BYTES.q4_0}u;
${QUANTIZED_COMMON}
fn w_value(n: u32, k: u32) -> f32 {
  let a = block_at(n, k / 32u);
  let i = k % 32u;
  let byte = a + 2u + (i & 15u);
  let nibble = (w[byte >> 2u] >> ((byte & 3u) * 8u + (i >> 4u) * 4u)) & 0xfu;
  return scale_at(a) * f32(i32(nibble) - 8);
}
fn block_dot(a: u32, k0: u32) -> f32 {
  var sum = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let word = word_at(a + 2u + 4u * j);
    for (var i = 0u; i < 4u; i++) {
      let byte = (word >> (8u * i)) & 0xffu;
      let k = k0 + 4u * j + i;
      sum += x_at(k) * f32(i32(byte & 0xfu) - 8) + x_at(k + 16u) * f32(i32(byte >> 4u) - 8);
    }
  }
  return sum;
}`,
};

/** How one thread of the GEMV sums its share of feature n's dot product into `sum`. */
function gemvDot(weight: WeightType, vector: boolean): string {
  if (weight === 'f16') {
    // K % 4 == 0: each row starts at a word, and a vec4 of x meets two words of w.
    return vector
      ? /* wgsl */ `
    let row = n * (params.K / 2u);
    var acc = vec4f(0.0);
    for (var k = lane; k < params.K / 4u; k += R) {
      acc += x_at4(k) * vec4f(halves(w[row + 2u * k]), halves(w[row + 2u * k + 1u]));
    }
    sum = (acc.x + acc.y) + (acc.z + acc.w);`
      : /* wgsl */ `
    for (var k = lane; k < params.K; k += R) { sum += x_at(k) * w_value(n, k); }`;
  }
  if (weight !== 'f32') {
    return /* wgsl */ `
    for (var b = lane; b < params.K / 32u; b += R) {
      let a = block_at(n, b);
      sum += scale_at(a) * block_dot(a, b * 32u);
    }`;
  }
  if (vector) {
    return /* wgsl */ `
    let K4 = params.K / 4u;
    let row = n * K4;
    var acc = vec4f(0.0);
    for (var k = lane; k < K4; k += R) { acc += x_at4(k) * w_at4(row + k); }
    sum = (acc.x + acc.y) + (acc.z + acc.w);`;
  }
  return /* wgsl */ `
    let row = n * params.K;
    for (var k = lane; k < params.K; k += R) { sum += x_at(k) * w_at(row + k); }`;
}

/**
 * Subgroup GEMV program (device feature `subgroups`): all 64 threads of a workgroup share one
 * output feature; `subgroupAdd` sums each subgroup's partials, and each subgroup's first thread
 * leaves that sum in its own slot of workgroup memory (others leave 0), so the result does not
 * depend on the subgroup size or on how invocations are grouped.
 */
const subgroupGemv = (weight: WeightType, vector: boolean) => (bindings: string) =>
  /* wgsl */ `enable subgroups;
${PARAMS}
${bindings}
${COMMON}
${weight === 'f32' ? '' : WEIGHT_READERS[weight]}
const R = ${ROW_THREADS}u;
var<workgroup> partial: array<f32, ${ROW_THREADS}>;
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
  let n = group_index(wid, groups);
  if (n >= params.rows) { return; }
  let lane = lid;
  var sum = 0.0;
  {${gemvDot(weight, vector)}
  }
  let subtotal = subgroupAdd(sum);
  partial[lid] = select(0.0, subtotal, subgroup_lane == 0u);
  workgroupBarrier();
  if (lid != 0u) { return; }
  var total = 0.0;
  for (var i = 0u; i < R; i++) { total += partial[i]; }
  if (params.has_bias != 0u) { total += bias_at(params.n0 + n); }
  out[params.n0 + n] = total;
}`;

/**
 * GEMV program: a 64-thread workgroup computes ROW_THREADS / R output features, R threads each;
 * R > 1 sums the R partials in workgroup memory.
 */
const gemv = (threadsPerRow: number, weight: WeightType, vector: boolean) => (bindings: string) =>
  /* wgsl */ `
${PARAMS}
${bindings}
${COMMON}
${weight === 'f32' ? '' : WEIGHT_READERS[weight]}
const R = ${threadsPerRow}u;
const ROWS = ${ROW_THREADS / threadsPerRow}u;
${threadsPerRow > 1 ? `var<workgroup> partial: array<f32, ${ROW_THREADS}>;` : ''}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let group = group_index(wid, groups);
  if (group * ROWS >= params.rows) { return; }
  let n = group * ROWS + lid / R;
  let lane = lid % R;
  var sum = 0.0;
  if (n < params.rows) {${gemvDot(weight, vector)}
  }
${
  threadsPerRow > 1
    ? `  partial[lid] = sum;
  workgroupBarrier();
  if (lane != 0u || n >= params.rows) { return; }
  for (var i = 1u; i < R; i++) { sum += partial[lid + i]; }`
    : '  if (n >= params.rows) { return; }'
}
  if (params.has_bias != 0u) { sum += bias_at(params.n0 + n); }
  out[params.n0 + n] = sum;
}`;

const gemm = (weight: WeightType) => (bindings: string) =>
  /* wgsl */ `
${PARAMS}
${bindings}
${COMMON}
${WEIGHT_READERS[weight]}
const TILE = ${TILE}u;
var<workgroup> x_tile: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> w_tile: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_id) local: vec3u) {
  let tiles_n = (params.rows + TILE - 1u) / TILE;
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
    var weight = 0.0;
    if (w_row < params.rows && k < params.K) { weight = w_value(w_row, k); }
    w_tile[local.y][local.x] = weight;
    workgroupBarrier();
    for (var kk = 0u; kk < TILE; kk++) { sum += x_tile[local.y][kk] * w_tile[local.x][kk]; }
    workgroupBarrier();
  }
  if (m < params.M && n < params.rows) {
    var value = sum;
    if (params.has_bias != 0u) { value += bias_at(params.n0 + n); }
    out[m * params.N + params.n0 + n] = value;
  }
}`;

/** Bytes of one row of w. */
function rowBytes(weight: WeightType, K: number): number {
  if (weight === 'f32') return 4 * K;
  return weight === 'f16' ? 2 * K : (K / QUANT_BLOCK_SIZE) * QUANT_BLOCK_BYTES[weight];
}

function dispatchChunk(
  context: GpuKernelContext,
  tensors: { x: WebGpuTensor; w: WebGpuTensor; bias: WebGpuTensor | undefined; out: WebGpuTensor },
  weight: WeightType,
  { M, K, N }: { M: number; K: number; N: number },
  { first: n0, rows, range }: RowChunk,
): void {
  const { x, w, bias, out } = tensors;
  const uniforms = { u32: [M, K, N, bias === undefined ? 0 : 1, n0, rows] };
  if (M !== 1) {
    context.engine.dispatch({
      kernel: KERNEL,
      program: `matmul-gemm-${weight}`,
      code: gemm(weight),
      uniforms,
      inputs: [
        ['x', x],
        ['w', w, weight === 'f32' ? undefined : 'u32', range],
        ['bias', bias],
      ],
      out,
      workgroups: Math.ceil(M / TILE) * Math.ceil(rows / TILE),
    });
    return;
  }
  const threadsPerRow = context.tuning.gemvThreadsPerRow;
  // vec4 bindings need whole, non-empty vec4 rows.
  const vector = (weight === 'f32' || weight === 'f16') && K > 0 && K % 4 === 0;
  const element = vector ? 'vec4' : undefined;
  const variant = `${weight}-${vector ? 'vec4' : 'scalar'}`;
  // Software tuning's one thread per feature needs no reduction at all.
  if (context.subgroups && threadsPerRow > 1) {
    context.engine.dispatch({
      kernel: KERNEL,
      program: `matmul-gemv-subgroup-${variant}`,
      code: subgroupGemv(weight, vector),
      uniforms,
      inputs: [
        ['x', x, element],
        ['w', w, weight === 'f32' ? element : 'u32', range],
        ['bias', bias],
      ],
      out,
      workgroups: rows,
    });
    return;
  }
  context.engine.dispatch({
    kernel: KERNEL,
    program: `matmul-gemv-${threadsPerRow}-${variant}`,
    code: gemv(threadsPerRow, weight, vector),
    uniforms,
    inputs: [
      ['x', x, element],
      ['w', w, weight === 'f32' ? element : 'u32', range],
      ['bias', bias],
    ],
    out,
    workgroups: Math.ceil(rows / (ROW_THREADS / threadsPerRow)),
  });
}

/** WebGPU `matmul` kernel. */
export const matmul: GpuKernel<'matmul'> = (context, inputs, _attrs, outHandle) => {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const w = resolveTensor(KERNEL, 'inputs.w', inputs.w, context.owner);
  const bias =
    inputs.bias === undefined ? undefined : resolveTensor(KERNEL, 'inputs.bias', inputs.bias, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateMatmul({ x, w, bias }, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, false);
  requireNoOverlap(KERNEL, out, 'inputs.w', w, false);
  if (bias) requireNoOverlap(KERNEL, out, 'inputs.bias', bias, false);
  const chunks = rowChunks(
    { kernel: KERNEL, name: 'inputs.w', rows: plan.N, bytesPerRow: rowBytes(plan.weightType, plan.K) },
    context.engine.maxBindingBytes,
    context.engine.device.limits.minStorageBufferOffsetAlignment,
  );
  for (const chunk of chunks) dispatchChunk(context, { x, w, bias, out }, plan.weightType, plan, chunk);
};
