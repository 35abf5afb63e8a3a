/**
 * gelu — element-wise Gaussian error linear unit, evaluated in f64 and stored as f32.
 *
 * Legend:
 *   x, out       addresses of n elements (out may be x)
 *   approximate  0 exact: 0.5 x erfc(-x / √2); 1 tanh: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
 */

const SQRT_PI: f64 = 1.7724538509055159;
const SQRT_2_OVER_PI: f64 = 0.7978845608028654;

/**
 * Complementary error function, ported from the reference backend's `erfc`: a positive-term series
 * below 2, the continued fraction of Abramowitz & Stegun 7.1.14 from 2 on.
 */
function erfc(z: f64): f64 {
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) {
    const twoZSquared = 2 * z * z;
    let term = z;
    let sum = z;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= twoZSquared / <f64>(2 * n + 1);
      sum += term;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-z * z) * sum;
  }
  let fraction = z;
  for (let n = 60; n >= 1; n--) fraction = z + <f64>n / 2 / fraction;
  return Math.exp(-z * z) / SQRT_PI / fraction;
}

/** GELU of n elements. */
export function gelu(x: usize, out: usize, n: i32, approximate: i32): void {
  for (let e = 0; e < n; e++) {
    const o = (<usize>e) << 2;
    const value = <f64>load<f32>(x + o);
    const y =
      approximate !== 0
        ? 0.5 * value * (1 + Math.tanh(SQRT_2_OVER_PI * (value + 0.044715 * value * value * value)))
        : 0.5 * value * erfc(-value / Math.SQRT2);
    store<f32>(out + o, <f32>y);
  }
}
