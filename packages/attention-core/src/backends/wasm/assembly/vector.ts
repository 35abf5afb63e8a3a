/**
 * SIMD helpers shared by the kernels (AssemblyScript, compiled with `--enable simd`).
 *
 * Legend:
 *   a, b, x, y  byte addresses of f32 rows in linear memory
 *   n           element count; the last n % 4 elements run as scalar tails
 */

/** Sum of the four lanes of an f32x4. */
export function horizontalSum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

/** Lane c of the result: the sum of the lanes of a_c (a transpose-add: 6 shuffles, 3 adds). */
export function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const low = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const high = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(low, high, 0, 1, 4, 5), v128.shuffle<f32>(low, high, 2, 3, 6, 7));
}

/** `a · b` over n elements, two accumulators to hide the add latency. */
export function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const o = (<usize>k) << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  if (k + 4 <= n) {
    const o = (<usize>k) << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    k += 4;
  }
  let sum = horizontalSum(f32x4.add(s0, s1));
  for (; k < n; k++) sum += load<f32>(a + ((<usize>k) << 2)) * load<f32>(b + ((<usize>k) << 2));
  return sum;
}

/** `y = y * factor` over n elements. */
export function scaleInPlace(y: usize, factor: f32, n: i32): void {
  const f = f32x4.splat(factor);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const p = y + ((<usize>k) << 2);
    v128.store(p, f32x4.mul(v128.load(p), f));
  }
  for (; k < n; k++) {
    const p = y + ((<usize>k) << 2);
    store<f32>(p, load<f32>(p) * factor);
  }
}

/** `y = y + alpha * x` over n elements. */
export function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const a = f32x4.splat(alpha);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = (<usize>k) << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(a, v128.load(x + o))));
  }
  for (; k < n; k++) {
    const o = (<usize>k) << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

/**
 * e^x in four lanes (Cephes `expf`: x = n ln2 + r with ln2 split in two for an exact r, a degree-5
 * polynomial for e^r, 2^n built in the exponent bits): within 1 ulp of e^x on [-87, 0] (2 million
 * random arguments against f64 `Math.exp`); below -87 it returns e^-87, a weight no sum that
 * includes the maximum's weight of 1 can notice.
 */
export function exp4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.5));
  // Adding 1.5 * 2^23 rounds to an integer (to nearest even, as `nearest`) and leaves it in the
  // low mantissa bits, where a shift makes it the exponent: no `nearest`, no float-to-int
  // conversion (both several instructions each on x64). Same n, same result.
  const shifted = f32x4.add(f32x4.mul(clamped, f32x4.splat(<f32>Math.LOG2E)), f32x4.splat(ROUNDING_SHIFT));
  const n = f32x4.sub(shifted, f32x4.splat(ROUNDING_SHIFT));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.add(r, f32x4.mul(n, f32x4.splat(2.1219444e-4)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(1.98756915e-4), r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const scale = i32x4.add(i32x4.shl(shifted, 23), i32x4.splat(127 << 23));
  return f32x4.mul(y, scale);
}

/** 1.5 × 2^23: a float of this size has no fraction bits, so adding it rounds to an integer. */
const ROUNDING_SHIFT: f32 = 12582912.0;

/** `row[c] = e^(row[c] - shift)` for c < n (the row is padded to whole vectors); returns their sum. */
export function expShifted(row: usize, n: i32, shift: f32): f32 {
  const s = f32x4.splat(shift);
  let sum = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const at = row + ((<usize>c) << 2);
    const e = exp4(f32x4.sub(v128.load(at), s));
    v128.store(at, e);
    sum = f32x4.add(sum, e);
  }
  let total = horizontalSum(sum);
  if (c < n) {
    const at = row + ((<usize>c) << 2);
    const e = exp4(f32x4.sub(v128.load(at), s));
    v128.store(at, e);
    total += f32x4.extract_lane(e, 0);
    if (c + 1 < n) total += f32x4.extract_lane(e, 1);
    if (c + 2 < n) total += f32x4.extract_lane(e, 2);
  }
  return total;
}

/**
 * s, the row stride of the matmuls' 8-row blocks of weights (matmul.ts v4, matmul-quantized.ts
 * v8): each block reads every s-th row, so its eight streams lie 16 KiB apart instead of in the
 * same few 4 KiB pages; s = ceil(16 KiB / row bytes), at most 8, for K >= 256 and rows of 256
 * bytes to 16 KiB, else 1 (short rows sit in cache, or, q4_0 rows under 256 bytes, read slower
 * strided: 0.86–0.91×; long rows are apart already). The host computes the same (`rowStride` in
 * wasm-kernels.ts), so thread shares hold whole groups of 8·s rows.
 */
export function rowStride(K: i32, rowBytes: i32): i32 {
  return K >= 256 && rowBytes >= 256 && rowBytes < 16384 ? min(8, (16383 + rowBytes) / rowBytes) : 1;
}
