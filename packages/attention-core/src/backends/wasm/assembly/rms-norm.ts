/**
 * rmsNorm — per row `out = weight * (x / sqrt(mean(x²) + epsilon))`, as llama2.c computes it.
 *
 * Legend:
 *   M, D        rows, row width
 *   x, out      [M, D] addresses (out may be x);  weight [D] address
 */
import { dot } from './vector';

/** Normalises M rows. */
export function rmsNorm(x: usize, weight: usize, out: usize, M: i32, D: i32, epsilon: f32): void {
  const rowBytes = (<usize>D) << 2;
  for (let m = 0; m < M; m++) {
    const xr = x + <usize>m * rowBytes;
    const or = out + <usize>m * rowBytes;
    const ss = <f32>(1 / Math.sqrt(<f64>dot(xr, xr, D) / <f64>D + <f64>epsilon));
    const s = f32x4.splat(ss);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = (<usize>d) << 2;
      v128.store(or + o, f32x4.mul(v128.load(weight + o), f32x4.mul(s, v128.load(xr + o))));
    }
    for (; d < D; d++) {
      const o = (<usize>d) << 2;
      store<f32>(or + o, load<f32>(weight + o) * (ss * load<f32>(xr + o)));
    }
  }
}
