/**
 * layerNorm — per row `out = (x - mean) / sqrt(var + epsilon) * weight + bias`, population
 * variance from a second pass over the centred row.
 *
 * Legend:
 *   M, D          rows, row width
 *   x, out        [M, D] addresses (out may be x);  weight [D], bias [D] (0 when absent) addresses
 */
import { horizontalSum } from './vector';

/** Normalises M rows. */
export function layerNorm(
  x: usize,
  weight: usize,
  bias: usize,
  out: usize,
  M: i32,
  D: i32,
  epsilon: f32,
): void {
  const rowBytes = (<usize>D) << 2;
  for (let m = 0; m < M; m++) {
    const xr = x + <usize>m * rowBytes;
    const or = out + <usize>m * rowBytes;
    let acc = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) acc = f32x4.add(acc, v128.load(xr + ((<usize>d) << 2)));
    let sum = horizontalSum(acc);
    for (; d < D; d++) sum += load<f32>(xr + ((<usize>d) << 2));
    const mean = sum / <f32>D;
    const meanV = f32x4.splat(mean);
    acc = f32x4.splat(0);
    d = 0;
    for (; d + 4 <= D; d += 4) {
      const c = f32x4.sub(v128.load(xr + ((<usize>d) << 2)), meanV);
      acc = f32x4.add(acc, f32x4.mul(c, c));
    }
    let squares = horizontalSum(acc);
    for (; d < D; d++) {
      const c = load<f32>(xr + ((<usize>d) << 2)) - mean;
      squares += c * c;
    }
    const inverse = <f32>(1 / Math.sqrt(<f64>squares / <f64>D + <f64>epsilon));
    const inverseV = f32x4.splat(inverse);
    d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = (<usize>d) << 2;
      let y = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xr + o), meanV), inverseV), v128.load(weight + o));
      if (bias !== 0) y = f32x4.add(y, v128.load(bias + o));
      v128.store(or + o, y);
    }
    for (; d < D; d++) {
      const o = (<usize>d) << 2;
      let y = (load<f32>(xr + o) - mean) * inverse * load<f32>(weight + o);
      if (bias !== 0) y += load<f32>(bias + o);
      store<f32>(or + o, y);
    }
  }
}
