/**
 * matmul — `out = x · wᵀ + bias` for output features n0..n1 (threads split the features).
 *
 * Legend:
 *   M, K, N  rows of x, reduction size, output features
 *   x        [M, K] address;  w [N, K] address (feature n's weights contiguous)
 *   bias     [N] address, 0 when absent
 *   out      [M, N] address
 *   n0, n1   the feature range this call computes
 * M = 1 is a matvec bound by reading w once: eight weight rows at a time share each load of x,
 * one accumulator per row (eight independent chains). M > 1 is a GEMM: blocks of 4 rows of x by 2
 * rows of w keep 8 accumulators in registers, so each loaded vector feeds 2 or 4 multiply-adds.
 * Threads split the features in multiples of 8, so a split never changes a sum's order.
 *
 * Matvec versions (GB/s of weights read, best of 25 interleaved runs in one process on the shared
 * 2-core machine, single-threaded SIMD module; the bench's 1-thread streaming probe read 8.2 GB/s):
 *   v1  4 rows × 2 accumulators, k step 8: 768×768 29.8, 512×1376 29.1, 2048×768 19.8,
 *       32000×288 7.5, 32000×768 8.9 (in-cache shapes ~30, DRAM-sized ones at the probe).
 *   v2  8 rows × 1 accumulator, k step 4 (kept): 1.05–1.41× v1 in the same run (768×768 34.0,
 *       512×1376 32.1, 2048×768 21.8, 32000×288 10.5, 32000×768 10.2).
 *   The largest decode loss was not the kernel but the split across threads: fixed equal shares
 *   made the caller wait for a descheduled worker, so 2 threads ran a 42M-shape step 2.4× slower than
 *   1. Chunks claimed from a shared counter (thread-pool.ts) made 2 threads 1.5× faster than that
 *   (42M-shape matvec steps) and 4.4× (stories260K) in the same run. Two alternating control blocks,
 *   so the caller never waits for a worker late for a finished kernel: no measurable difference
 *   in paired runs (0.89–1.09×), kept for the stall it rules out. A 65536 multiply-add threshold
 *   for splitting (was 32768): stories260K decode at 2 threads 1.41× (its classifier runs unsplit).
 *   v3  the eight row sums as two transposed vectors (6 shuffles and 3 adds per four rows, one
 *       vector store each) instead of eight horizontal sums and scalar stores, when K is a multiple
 *       of 4: a 64×64 matvec call (stories260K's shapes, the reduction a fifth of the work) 1.0 →
 *       0.55–0.79 µs including the host's validation (200,000 calls, medians of 3 runs).
 *   v4  each 8-row block reads every s-th row (s = ceil(16 KiB / row bytes), at most 8, for rows
 *       of 1–16 KiB) so its eight streams lie 16 KiB apart, not in the same few 4 KiB pages (the
 *       hardware prefetcher follows about one stream per page); each row's sum and its order are
 *       unchanged, so results are bit-identical. Paired interleaved runs in one process, GB/s of
 *       weights, v3 → v4 with s = rows per 4 KiB (the first step): 1 thread 32000×512 10.1 → 12.0,
 *       512×512 9.6 → 11.0, 1376×512 9.8 → 11.3; 2 threads 15.2 → 20.0, 11.7 → 14.7, 13.2 → 16.6.
 *       Then streams ≥ 4 KiB apart: K = 768 1.12–1.20× (1 and 2 threads), K = 288 1.05–1.10×;
 *       ≥ 8 KiB: another 1.02–1.14×; ≥ 16 KiB: another 1.00–1.12×; rows of 5.5–8 KiB (K 1376,
 *       2048) unchanged throughout. The cap of 8 keeps a 768-row matrix in 12 thread shares.
 */
import { dot, horizontalSum, rowStride, sum4 } from './vector';

function finish(out: usize, bias: usize, n: i32, value: f32): void {
  store<f32>(out, bias === 0 ? value : value + load<f32>(bias + ((<usize>n) << 2)));
}

function matvec(x: usize, w: usize, bias: usize, out: usize, K: i32, n0: i32, n1: i32): void {
  const rowBytes = (<usize>K) << 2;
  let n = n0;
  // Groups of 8·s rows read as s blocks of every s-th row, so a block's eight streams lie 16 KiB
  // apart (v4 above).
  const s = rowStride(K, K << 2);
  if (s > 1) {
    const group = s << 3;
    const strideBytes = <usize>s * rowBytes;
    for (; n + group <= n1; n += group) {
      for (let r = 0; r < s; r++)
        rows8(x, w + <usize>(n + r) * rowBytes, strideBytes, bias, out, n + r, s, K);
    }
  }
  for (; n + 8 <= n1; n += 8) rows8(x, w + <usize>n * rowBytes, rowBytes, bias, out, n, 1, K);
  for (; n < n1; n++) finish(out + ((<usize>n) << 2), bias, n, dot(x, w + <usize>n * rowBytes, K));
}

/**
 * Rows n, n + step, ..., n + 7·step of w (`wStride` bytes apart from w0): eight accumulators share
 * each load of x; their sums reduced as two transposed vectors when K is a multiple of 4 (stored
 * whole for consecutive rows), else horizontally with a scalar tail.
 */
function rows8(
  x: usize,
  w0: usize,
  wStride: usize,
  bias: usize,
  out: usize,
  n: i32,
  step: i32,
  K: i32,
): void {
  const vectorEnd = K & ~3;
  const w1 = w0 + wStride;
  const w2 = w1 + wStride;
  const w3 = w2 + wStride;
  const w4 = w3 + wStride;
  const w5 = w4 + wStride;
  const w6 = w5 + wStride;
  const w7 = w6 + wStride;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0);
  let a5 = f32x4.splat(0);
  let a6 = f32x4.splat(0);
  let a7 = f32x4.splat(0);
  for (let k = 0; k < vectorEnd; k += 4) {
    const o = (<usize>k) << 2;
    const xv = v128.load(x + o);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + o), xv));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + o), xv));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + o), xv));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + o), xv));
    a4 = f32x4.add(a4, f32x4.mul(v128.load(w4 + o), xv));
    a5 = f32x4.add(a5, f32x4.mul(v128.load(w5 + o), xv));
    a6 = f32x4.add(a6, f32x4.mul(v128.load(w6 + o), xv));
    a7 = f32x4.add(a7, f32x4.mul(v128.load(w7 + o), xv));
  }
  const o = out + ((<usize>n) << 2);
  const stepBytes = (<usize>step) << 2;
  if (vectorEnd === K) {
    let low = sum4(a0, a1, a2, a3);
    let high = sum4(a4, a5, a6, a7);
    if (step === 1) {
      if (bias !== 0) {
        const b = bias + ((<usize>n) << 2);
        low = f32x4.add(low, v128.load(b));
        high = f32x4.add(high, v128.load(b, 16));
      }
      v128.store(o, low);
      v128.store(o, high, 16);
      return;
    }
    finish(o, bias, n, f32x4.extract_lane(low, 0));
    finish(o + stepBytes, bias, n + step, f32x4.extract_lane(low, 1));
    finish(o + 2 * stepBytes, bias, n + 2 * step, f32x4.extract_lane(low, 2));
    finish(o + 3 * stepBytes, bias, n + 3 * step, f32x4.extract_lane(low, 3));
    finish(o + 4 * stepBytes, bias, n + 4 * step, f32x4.extract_lane(high, 0));
    finish(o + 5 * stepBytes, bias, n + 5 * step, f32x4.extract_lane(high, 1));
    finish(o + 6 * stepBytes, bias, n + 6 * step, f32x4.extract_lane(high, 2));
    finish(o + 7 * stepBytes, bias, n + 7 * step, f32x4.extract_lane(high, 3));
    return;
  }
  let s0 = horizontalSum(a0);
  let s1 = horizontalSum(a1);
  let s2 = horizontalSum(a2);
  let s3 = horizontalSum(a3);
  let s4 = horizontalSum(a4);
  let s5 = horizontalSum(a5);
  let s6 = horizontalSum(a6);
  let s7 = horizontalSum(a7);
  for (let k = vectorEnd; k < K; k++) {
    const ko = (<usize>k) << 2;
    const xk = load<f32>(x + ko);
    s0 += load<f32>(w0 + ko) * xk;
    s1 += load<f32>(w1 + ko) * xk;
    s2 += load<f32>(w2 + ko) * xk;
    s3 += load<f32>(w3 + ko) * xk;
    s4 += load<f32>(w4 + ko) * xk;
    s5 += load<f32>(w5 + ko) * xk;
    s6 += load<f32>(w6 + ko) * xk;
    s7 += load<f32>(w7 + ko) * xk;
  }
  finish(o, bias, n, s0);
  finish(o + stepBytes, bias, n + step, s1);
  finish(o + 2 * stepBytes, bias, n + 2 * step, s2);
  finish(o + 3 * stepBytes, bias, n + 3 * step, s3);
  finish(o + 4 * stepBytes, bias, n + 4 * step, s4);
  finish(o + 5 * stepBytes, bias, n + 5 * step, s5);
  finish(o + 6 * stepBytes, bias, n + 6 * step, s6);
  finish(o + 7 * stepBytes, bias, n + 7 * step, s7);
}

/** One 4×2 block: rows x0..x3 of x against rows w0, w1 of w; returns nothing, stores 8 outputs. */
function block4x2(
  x0: usize,
  xStride: usize,
  w0: usize,
  w1: usize,
  K: i32,
  out: usize,
  outStride: usize,
  bias: usize,
  n: i32,
): void {
  const x1 = x0 + xStride;
  const x2 = x1 + xStride;
  const x3 = x2 + xStride;
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const o = (<usize>k) << 2;
    const u = v128.load(w0 + o);
    const v = v128.load(w1 + o);
    let r = v128.load(x0 + o);
    c00 = f32x4.add(c00, f32x4.mul(r, u));
    c01 = f32x4.add(c01, f32x4.mul(r, v));
    r = v128.load(x1 + o);
    c10 = f32x4.add(c10, f32x4.mul(r, u));
    c11 = f32x4.add(c11, f32x4.mul(r, v));
    r = v128.load(x2 + o);
    c20 = f32x4.add(c20, f32x4.mul(r, u));
    c21 = f32x4.add(c21, f32x4.mul(r, v));
    r = v128.load(x3 + o);
    c30 = f32x4.add(c30, f32x4.mul(r, u));
    c31 = f32x4.add(c31, f32x4.mul(r, v));
  }
  let s00 = horizontalSum(c00);
  let s01 = horizontalSum(c01);
  let s10 = horizontalSum(c10);
  let s11 = horizontalSum(c11);
  let s20 = horizontalSum(c20);
  let s21 = horizontalSum(c21);
  let s30 = horizontalSum(c30);
  let s31 = horizontalSum(c31);
  for (; k < K; k++) {
    const o = (<usize>k) << 2;
    const u = load<f32>(w0 + o);
    const v = load<f32>(w1 + o);
    const r0 = load<f32>(x0 + o);
    const r1 = load<f32>(x1 + o);
    const r2 = load<f32>(x2 + o);
    const r3 = load<f32>(x3 + o);
    s00 += r0 * u;
    s01 += r0 * v;
    s10 += r1 * u;
    s11 += r1 * v;
    s20 += r2 * u;
    s21 += r2 * v;
    s30 += r3 * u;
    s31 += r3 * v;
  }
  finish(out, bias, n, s00);
  finish(out + 4, bias, n + 1, s01);
  finish(out + outStride, bias, n, s10);
  finish(out + outStride + 4, bias, n + 1, s11);
  finish(out + 2 * outStride, bias, n, s20);
  finish(out + 2 * outStride + 4, bias, n + 1, s21);
  finish(out + 3 * outStride, bias, n, s30);
  finish(out + 3 * outStride + 4, bias, n + 1, s31);
}

function gemm(x: usize, w: usize, bias: usize, out: usize, M: i32, K: i32, N: i32, n0: i32, n1: i32): void {
  const rowBytes = (<usize>K) << 2;
  const outStride = (<usize>N) << 2;
  let n = n0;
  for (; n + 2 <= n1; n += 2) {
    const w0 = w + <usize>n * rowBytes;
    const w1 = w0 + rowBytes;
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      block4x2(
        x + <usize>m * rowBytes,
        rowBytes,
        w0,
        w1,
        K,
        out + <usize>m * outStride + ((<usize>n) << 2),
        outStride,
        bias,
        n,
      );
    }
    for (; m < M; m++) {
      const xm = x + <usize>m * rowBytes;
      const o = out + <usize>m * outStride + ((<usize>n) << 2);
      finish(o, bias, n, dot(xm, w0, K));
      finish(o + 4, bias, n + 1, dot(xm, w1, K));
    }
  }
  if (n < n1) {
    const wn = w + <usize>n * rowBytes;
    for (let m = 0; m < M; m++) {
      finish(out + <usize>m * outStride + ((<usize>n) << 2), bias, n, dot(x + <usize>m * rowBytes, wn, K));
    }
  }
}

/** Computes output features n0..n1 of every row. */
export function matmul(
  x: usize,
  w: usize,
  bias: usize,
  out: usize,
  M: i32,
  K: i32,
  N: i32,
  n0: i32,
  n1: i32,
): void {
  if (M === 1) matvec(x, w, bias, out, K, n0, n1);
  else gemm(x, w, bias, out, M, K, N, n0, n1);
}
