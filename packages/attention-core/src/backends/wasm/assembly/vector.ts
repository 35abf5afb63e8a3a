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
