/**
 * embedding — row lookup `out[t, :] = table[ids[t], :]` (ids validated by the host).
 *
 * Legend:
 *   table   [V, D] address;  ids [T] i32 address;  out [T, D] address
 */

/** Copies T rows. */
export function embedding(table: usize, ids: usize, out: usize, T: i32, D: i32): void {
  const rowBytes = (<usize>D) << 2;
  for (let t = 0; t < T; t++) {
    memory.copy(
      out + <usize>t * rowBytes,
      table + <usize>load<i32>(ids + ((<usize>t) << 2)) * rowBytes,
      rowBytes,
    );
  }
}
