/**
 * softmax — per row `out[j] = exp(x[j] - max) / sum exp(x[. ] - max)`; a row of only -Infinity
 * (fully masked) gives zeros. The sum accumulates in f64 (vocabulary-wide rows are long).
 *
 * Legend:
 *   M, N     rows, row width
 *   x, out   [M, N] addresses (out may be x)
 */
import { scaleInPlace } from './vector';

/** Softmax of M rows. */
export function softmax(x: usize, out: usize, M: i32, N: i32): void {
  const rowBytes = (<usize>N) << 2;
  for (let m = 0; m < M; m++) {
    const xr = x + <usize>m * rowBytes;
    const or = out + <usize>m * rowBytes;
    let maxV = f32x4.splat(-Infinity);
    let n = 0;
    for (; n + 4 <= N; n += 4) maxV = f32x4.max(maxV, v128.load(xr + ((<usize>n) << 2)));
    let rowMax = max(
      max(f32x4.extract_lane(maxV, 0), f32x4.extract_lane(maxV, 1)),
      max(f32x4.extract_lane(maxV, 2), f32x4.extract_lane(maxV, 3)),
    );
    for (; n < N; n++) rowMax = max(rowMax, load<f32>(xr + ((<usize>n) << 2)));
    if (rowMax === -Infinity) {
      memory.fill(or, 0, rowBytes);
      continue;
    }
    let sum: f64 = 0;
    for (n = 0; n < N; n++) {
      const o = (<usize>n) << 2;
      const e = Mathf.exp(load<f32>(xr + o) - rowMax);
      store<f32>(or + o, e);
      sum += e;
    }
    scaleInPlace(or, <f32>(1 / sum), N);
  }
}
