/**
 * matmul with a block-quantized weight: `out = x · wᵀ + bias`, w in q8_0 or q4_0 (32 values per
 * block), computed as llama.cpp's Q8_0 × Q8_0 dot: x is first quantised per 32-value block to int8
 * (`quantizeRows`, once per call on one thread, scale `max|x_b| / 127`, round to nearest), then
 * every block product is an exact integer dot scaled once by `d_w * d_x` in f32. This does about
 * half the SIMD work per weight of converting weights to f32, so decode stays bound by reading the
 * (3.8× or 7× smaller) weights. Error bound: see conformance cases/quantized-matmul.ts (the
 * activation rounding, at most `d_x / 2` per element).
 *
 * Legend:
 *   M, K, N  rows of x, reduction size (K % 32 = 0), output features
 *   xq       [M, K] int16: quantised x (int8 values, stored widened so the weight rows share each load)
 *   xs       [M, K/32] f32: x block scales
 *   w        weight values: q8_0 [N, K] int8, q4_0 [N, K/2] bytes (GGUF nibble order per block)
 *   ws       [N, K/32] f32 weight block scales (the host converts the GGUF f16 scales at upload)
 *   bias     [N] address, 0 when absent;  out [M, N]
 *   n0, n1   the feature range this call computes (threads split the features in multiples of 8)
 *
 * Every row's arithmetic is the same in the 8-row, 4-row and single-row loops (per block: exact
 * integer dot, then `+= f32(dot) * (d_w * d_x)` in its own f32x4 accumulator, one horizontal sum
 * at the end), so results do not depend on the grouping or on the split across threads.
 *
 * Versions (A/B in one process on the loaded shared 2-core machine, 1 thread, alternating runs;
 * kernel: paired-median time ratios of 80 runs of quantizeRows + matmulQ8 at M = 1 on the 110M
 * shape's matrices; 768×768 and 2048×768 sit in cache, 32000×768 (the classifier) streams from
 * DRAM like every matrix of a real decode step):
 *   v1  4 rows per block, x as int16 (4 weight rows share each load), per row and block: widen w
 *       (2 loads, 4 extends), 4 `i32x4.dot_i16x8_s`, convert, scale, add; ~1.85× onnxruntime-web's
 *       f32 decode on the 110M shape.
 *   v2  x as int8, block dot by `i16x8.extmul` + int16 adds + `extadd_pairwise`, the 4 rows' block
 *       sums transposed into one vector (one convert and scale per 4 rows, one vector store):
 *       0.77–0.85× v1 (extmul of the high halves costs more than extend + dot). Dropped.
 *   v3  v1's int16 x with weights loaded by `v128.load8x8_s` (sign-extending load) + v2's 4-row
 *       transpose: 1.06–1.15× in cache but 0.83–0.87× on 32000×768. Dropped.
 *   v4  v1's block dot + the 4-row transpose: same split (1.01–1.06× in cache, 0.83× 32000×768);
 *       the transpose is what loses on streamed weights. Dropped.
 *   v5  v1 with 8 rows per block (8 accumulators, each x load feeds 8 rows): 1.02–1.08× in cache,
 *       1.16× on 32000×768 (paired medians; best-of noisy, 0.89–1.13), bit-identical to v1.
 *   v6  v5 with `load8x8_s` weight loads: 1.02–1.04× v5 in cache, 1.01× on 32000×768,
 *       bit-identical to v1. Greedy decode, 110M shape Q8_0, 24 tokens × 8 alternating runs
 *       (with the decode-step allocation cuts in both): paired 1.25× (per CPU-second 1.18×),
 *       tokens identical. But on the 15M shape (K = 288) decode fell to 0.85× v1: 32000×288
 *       ran at 0.86× (8 interleaved streams of 288-byte rows prefetch worse than 4).
 *   v7  v6 with 8-row blocks only when K >= 512, 4-row blocks otherwise (kept): 110M matrices
 *       1.04–1.09× v1 in cache, 1.20× on 32000×768; 15M matrices 0.96–1.02× v1 (parity within
 *       the noise, both orders). Bit-identical to v1. Next step, not tried: weights repacked at
 *       upload so the 8 rows of a block are read as one sequential stream (llama.cpp's q8_0x8).
 *   v8  (kept) rows of 256 bytes to 16 KiB in groups of 8·s, each 8-row block reading every s-th
 *       row (s = ceil(16 KiB / row bytes), at most 8), so its streams lie 16 KiB apart instead of
 *       in the same few 4 KiB pages (as the f32 matvec's v4): GB/s of weights, paired interleaved
 *       runs in one process, v7 → v8: q8_0 1 thread 32000×768 6.0 → 8.7, 768×768 5.9 → 8.3,
 *       32000×512 5.7 → 8.1, 768×2048 6.1 → 8.4, 32000×288 6.2 → 6.4; 2 threads 32000×768
 *       9.9 → 14.0, 768×768 8.5 → 11.4, 512×512 7.8 → 9.8; q4_0 (bound by unpacking) 1.00–1.19×.
 *       Bit-identical to v7.
 */
import { horizontalSum, rowStride } from './vector';

/** Quantises the `M * K` values of x into `xq` (int16 holding int8) and per-block scales `xs`. */
export function quantizeRows(x: usize, xq: usize, xs: usize, M: i32, K: i32): void {
  const blocks = (M * K) >> 5;
  for (let b = 0; b < blocks; b++) {
    const p = x + ((<usize>b) << 7);
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const v2 = v128.load(p, 32);
    const v3 = v128.load(p, 48);
    const v4 = v128.load(p, 64);
    const v5 = v128.load(p, 80);
    const v6 = v128.load(p, 96);
    const v7 = v128.load(p, 112);
    const m = f32x4.max(
      f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3))),
      f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))),
    );
    const amax = max(
      max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)),
    );
    const inverse = f32x4.splat(amax > 0 ? <f32>127 / amax : 0);
    store<f32>(xs + ((<usize>b) << 2), amax / 127);
    const q = xq + ((<usize>b) << 6);
    v128.store(q, i16x8.narrow_i32x4_s(round(v0, inverse), round(v1, inverse)));
    v128.store(q, i16x8.narrow_i32x4_s(round(v2, inverse), round(v3, inverse)), 16);
    v128.store(q, i16x8.narrow_i32x4_s(round(v4, inverse), round(v5, inverse)), 32);
    v128.store(q, i16x8.narrow_i32x4_s(round(v6, inverse), round(v7, inverse)), 48);
  }
}

function round(v: v128, inverse: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v, inverse)));
}

/**
 * Integer dot of one q8_0 block's 32 int8 at `p` with quantised x lanes x0..x3 (8 int16 each):
 * each 8 weights are loaded sign-extended to int16 by one `load8x8_s`.
 */
function blockQ8(p: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  let s = i32x4.dot_i16x8_s(v128.load8x8_s(p), x0);
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 8), x1));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 16), x2));
  return i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 24), x3));
}

/** Integer dot of one q4_0 block's 16 bytes at `p` (low nibbles: values 0..15, high: 16..31). */
function blockQ4(p: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const v = v128.load(p);
  const eight = i8x16.splat(8);
  const low = i8x16.sub(v128.and(v, i8x16.splat(0x0f)), eight);
  const high = i8x16.sub(i8x16.shr_u(v, 4), eight);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(low), x0);
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(low), x1));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(high), x2));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(high), x3));
}

/** The block dot of the weight format `T` marks: `i8` q8_0, `u8` q4_0 (resolved at compile time). */
function blockDot<T>(p: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return isSigned<T>() ? blockQ8(p, x0, x1, x2, x3) : blockQ4(p, x0, x1, x2, x3);
}

/** Shortest reduction size that gets 8-row blocks. */
const EIGHT_ROWS_MIN_K = 512;

function scaled(acc: v128, integers: v128, scale: f32): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(integers), f32x4.splat(scale)));
}

function finish(out: usize, bias: usize, n: i32, value: f32): void {
  store<f32>(out, bias === 0 ? value : value + load<f32>(bias + ((<usize>n) << 2)));
}

/**
 * Rows n, n + step, ..., n + 7·step of w against every row of x: each x load feeds the eight
 * rows, each row's sum in its own accumulator.
 */
function eightRows<T>(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  bias: usize,
  out: usize,
  M: i32,
  K: i32,
  N: i32,
  n: i32,
  step: i32,
): void {
  const blocks = K >> 5;
  const blockBytes: usize = isSigned<T>() ? 32 : 16;
  const rowBytes = <usize>blocks * blockBytes;
  const scaleRow = (<usize>blocks) << 2;
  const wStep = <usize>step * rowBytes;
  const sStep = <usize>step * scaleRow;
  const w0 = w + <usize>n * rowBytes;
  const s0 = ws + <usize>n * scaleRow;
  const outStep = (<usize>step) << 2;
  for (let m = 0; m < M; m++) {
    const xRow = xq + <usize>m * ((<usize>K) << 1);
    const xScales = xs + <usize>m * scaleRow;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0);
    let a5 = f32x4.splat(0);
    let a6 = f32x4.splat(0);
    let a7 = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const xo = xRow + ((<usize>b) << 6);
      const x0 = v128.load(xo);
      const x1 = v128.load(xo, 16);
      const x2 = v128.load(xo, 32);
      const x3 = v128.load(xo, 48);
      const dx = load<f32>(xScales + ((<usize>b) << 2));
      const wo = w0 + <usize>b * blockBytes;
      const so = s0 + ((<usize>b) << 2);
      a0 = scaled(a0, blockDot<T>(wo, x0, x1, x2, x3), dx * load<f32>(so));
      a1 = scaled(a1, blockDot<T>(wo + wStep, x0, x1, x2, x3), dx * load<f32>(so + sStep));
      a2 = scaled(a2, blockDot<T>(wo + 2 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 2 * sStep));
      a3 = scaled(a3, blockDot<T>(wo + 3 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 3 * sStep));
      a4 = scaled(a4, blockDot<T>(wo + 4 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 4 * sStep));
      a5 = scaled(a5, blockDot<T>(wo + 5 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 5 * sStep));
      a6 = scaled(a6, blockDot<T>(wo + 6 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 6 * sStep));
      a7 = scaled(a7, blockDot<T>(wo + 7 * wStep, x0, x1, x2, x3), dx * load<f32>(so + 7 * sStep));
    }
    const o = out + ((<usize>m * <usize>N + <usize>n) << 2);
    finish(o, bias, n, horizontalSum(a0));
    finish(o + outStep, bias, n + step, horizontalSum(a1));
    finish(o + 2 * outStep, bias, n + 2 * step, horizontalSum(a2));
    finish(o + 3 * outStep, bias, n + 3 * step, horizontalSum(a3));
    finish(o + 4 * outStep, bias, n + 4 * step, horizontalSum(a4));
    finish(o + 5 * outStep, bias, n + 5 * step, horizontalSum(a5));
    finish(o + 6 * outStep, bias, n + 6 * step, horizontalSum(a6));
    finish(o + 7 * outStep, bias, n + 7 * step, horizontalSum(a7));
  }
}

/**
 * Features n0..n1 of every row: eight (then four) weight rows at a time share each load of x, and
 * each row of x reuses those weight rows while they sit in cache (M > 1).
 */
function quantizedMatmul<T>(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  bias: usize,
  out: usize,
  M: i32,
  K: i32,
  N: i32,
  n0: i32,
  n1: i32,
): void {
  const blocks = K >> 5;
  const blockBytes: usize = isSigned<T>() ? 32 : 16;
  const rowBytes = <usize>blocks * blockBytes;
  const scaleRow = (<usize>blocks) << 2;
  let n = n0;
  // Groups of 8·s rows read as s blocks of every s-th row, so a block's eight streams lie 16 KiB
  // apart (v8 above).
  const s = rowStride(K, <i32>rowBytes);
  if (s > 1) {
    const group = s << 3;
    for (; n + group <= n1; n += group) {
      for (let r = 0; r < s; r++) eightRows<T>(xq, xs, w, ws, bias, out, M, K, N, n + r, s);
    }
  }
  // 8 rows per block only for long rows: on short ones (15M's K = 288) 8 interleaved row
  // streams read slower than 4 (v6, v7)
  const rows8 = K >= EIGHT_ROWS_MIN_K ? n1 - 7 : n0;
  for (; n < rows8; n += 8) eightRows<T>(xq, xs, w, ws, bias, out, M, K, N, n, 1);
  for (; n + 4 <= n1; n += 4) {
    const w0 = w + <usize>n * rowBytes;
    const s0 = ws + <usize>n * scaleRow;
    for (let m = 0; m < M; m++) {
      const xRow = xq + <usize>m * ((<usize>K) << 1);
      const xScales = xs + <usize>m * scaleRow;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      for (let b = 0; b < blocks; b++) {
        const xo = xRow + ((<usize>b) << 6);
        const x0 = v128.load(xo);
        const x1 = v128.load(xo, 16);
        const x2 = v128.load(xo, 32);
        const x3 = v128.load(xo, 48);
        const dx = load<f32>(xScales + ((<usize>b) << 2));
        const wo = w0 + <usize>b * blockBytes;
        const so = s0 + ((<usize>b) << 2);
        a0 = scaled(a0, blockDot<T>(wo, x0, x1, x2, x3), dx * load<f32>(so));
        a1 = scaled(a1, blockDot<T>(wo + rowBytes, x0, x1, x2, x3), dx * load<f32>(so + scaleRow));
        a2 = scaled(a2, blockDot<T>(wo + 2 * rowBytes, x0, x1, x2, x3), dx * load<f32>(so + 2 * scaleRow));
        a3 = scaled(a3, blockDot<T>(wo + 3 * rowBytes, x0, x1, x2, x3), dx * load<f32>(so + 3 * scaleRow));
      }
      const o = out + ((<usize>m * <usize>N + <usize>n) << 2);
      finish(o, bias, n, horizontalSum(a0));
      finish(o + 4, bias, n + 1, horizontalSum(a1));
      finish(o + 8, bias, n + 2, horizontalSum(a2));
      finish(o + 12, bias, n + 3, horizontalSum(a3));
    }
  }
  for (; n < n1; n++) {
    const wn = w + <usize>n * rowBytes;
    const sn = ws + <usize>n * scaleRow;
    for (let m = 0; m < M; m++) {
      const xRow = xq + <usize>m * ((<usize>K) << 1);
      const xScales = xs + <usize>m * scaleRow;
      let a = f32x4.splat(0);
      for (let b = 0; b < blocks; b++) {
        const xo = xRow + ((<usize>b) << 6);
        const integers = blockDot<T>(
          wn + <usize>b * blockBytes,
          v128.load(xo),
          v128.load(xo, 16),
          v128.load(xo, 32),
          v128.load(xo, 48),
        );
        a = scaled(a, integers, load<f32>(xScales + ((<usize>b) << 2)) * load<f32>(sn + ((<usize>b) << 2)));
      }
      finish(out + ((<usize>m * <usize>N + <usize>n) << 2), bias, n, horizontalSum(a));
    }
  }
}

/** q8_0 weight: features n0..n1 of every row (x already quantised by {@link quantizeRows}). */
export function matmulQ8(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  bias: usize,
  out: usize,
  M: i32,
  K: i32,
  N: i32,
  n0: i32,
  n1: i32,
): void {
  quantizedMatmul<i8>(xq, xs, w, ws, bias, out, M, K, N, n0, n1);
}

/** q4_0 weight: features n0..n1 of every row (x already quantised by {@link quantizeRows}). */
export function matmulQ4(
  xq: usize,
  xs: usize,
  w: usize,
  ws: usize,
  bias: usize,
  out: usize,
  M: i32,
  K: i32,
  N: i32,
  n0: i32,
  n1: i32,
): void {
  quantizedMatmul<u8>(xq, xs, w, ws, bias, out, M, K, N, n0, n1);
}
