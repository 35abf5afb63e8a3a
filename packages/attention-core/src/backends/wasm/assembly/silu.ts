/**
 * silu — element-wise `out = x / (1 + exp(-x))`.
 *
 * Legend:
 *   x, out   addresses of n elements (out may be x)
 */

/** SiLU of n elements. */
export function silu(x: usize, out: usize, n: i32): void {
  for (let e = 0; e < n; e++) {
    const o = (<usize>e) << 2;
    const value = load<f32>(x + o);
    store<f32>(out + o, value / (1 + Mathf.exp(-value)));
  }
}
