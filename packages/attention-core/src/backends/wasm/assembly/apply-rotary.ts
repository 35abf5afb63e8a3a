/**
 * applyRotary — rotates pairs of each head's first R dimensions by position-dependent angles from
 * cos/sin tables; dimensions R..Dh are copied.
 *
 * Legend:
 *   rows, T      flattened rows of x; row r sits at position positionOffset + r % T - starts[r / T]
 *   starts       [B] i32 address of sequenceStarts (left padding per sequence), 0 when absent; rows
 *                at negative positions are padding, copied unchanged
 *   H, Dh, R     heads, head width, rotary width (even)
 *   x, out       [rows, H*Dh] addresses (out may be x);  cos, sin [P, R/2] addresses
 *   interleaved  1: pairs (x[2i], x[2i+1]); 0 (half-split): pairs (x[i], x[i + R/2])
 */

/** Rotates every row. */
export function applyRotary(
  x: usize,
  cos: usize,
  sin: usize,
  out: usize,
  rows: i32,
  T: i32,
  H: i32,
  Dh: i32,
  R: i32,
  interleaved: i32,
  positionOffset: i32,
  starts: usize,
): void {
  const half = R / 2;
  const headBytes = (<usize>Dh) << 2;
  for (let r = 0; r < rows; r++) {
    const position =
      positionOffset + (r % T) - (starts === 0 ? 0 : load<i32>(starts + ((<usize>(r / T)) << 2)));
    if (position < 0) {
      const rowBytes = <usize>H * headBytes;
      if (out !== x) memory.copy(out + <usize>r * rowBytes, x + <usize>r * rowBytes, rowBytes);
      continue;
    }
    const table = (<usize>(position * half)) << 2;
    for (let h = 0; h < H; h++) {
      const base = <usize>(r * H + h) * headBytes;
      for (let i = 0; i < half; i++) {
        const c = load<f32>(cos + table + ((<usize>i) << 2));
        const s = load<f32>(sin + table + ((<usize>i) << 2));
        const first = base + ((<usize>(interleaved !== 0 ? 2 * i : i)) << 2);
        const second = first + (interleaved !== 0 ? 4 : (<usize>half) << 2);
        const a = load<f32>(x + first);
        const b = load<f32>(x + second);
        store<f32>(out + first, a * c - b * s);
        store<f32>(out + second, a * s + b * c);
      }
      if (R < Dh && out !== x)
        memory.copy(out + base + ((<usize>R) << 2), x + base + ((<usize>R) << 2), (<usize>(Dh - R)) << 2);
    }
  }
}
