/**
 * mul — element-wise `out = a * b`, b either a's shape or one row broadcast over every row.
 *
 * Legend:
 *   M, N       rows, row width
 *   a, out     [M, N] addresses (out may be a, or b when b is not broadcast)
 *   b          [M, N] address, or [N] when broadcast = 1
 */

/** Computes M rows. */
export function mul(a: usize, b: usize, out: usize, M: i32, N: i32, broadcast: i32): void {
  const count = broadcast !== 0 ? N : M * N;
  const rows = broadcast !== 0 ? M : 1;
  const rowBytes = (<usize>count) << 2;
  for (let m = 0; m < rows; m++) {
    const ar = a + <usize>m * rowBytes;
    const br = broadcast !== 0 ? b : b + <usize>m * rowBytes;
    const or = out + <usize>m * rowBytes;
    let e = 0;
    for (; e + 4 <= count; e += 4) {
      const o = (<usize>e) << 2;
      v128.store(or + o, f32x4.mul(v128.load(ar + o), v128.load(br + o)));
    }
    for (; e < count; e++) {
      const o = (<usize>e) << 2;
      store<f32>(or + o, load<f32>(ar + o) * load<f32>(br + o));
    }
  }
}
