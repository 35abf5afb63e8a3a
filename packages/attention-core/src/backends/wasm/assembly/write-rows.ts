/**
 * writeRows — copies R rows of src into out from row rowOffset on.
 *
 * Legend:
 *   src     [R, N] address;  out [Rout, N] address (disjoint from src)
 */

/** Copies the rows. */
export function writeRows(src: usize, out: usize, R: i32, N: i32, rowOffset: i32): void {
  const rowBytes = (<usize>N) << 2;
  memory.copy(out + <usize>rowOffset * rowBytes, src, <usize>R * rowBytes);
}
