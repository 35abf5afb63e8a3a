/**
 * WGSL shared by several kernels: workgroup sizes, the workgroup index of a grid spread over two
 * dimensions, and workgroup reductions.
 */

/** Threads of a row kernel's workgroup (one workgroup per row) on a GPU; the most any kernel uses. */
export const ROW_THREADS = 64;

/** Threads of an element-wise kernel's workgroup (one thread per element). */
export const ELEMENT_THREADS = 256;

/** Workgroups that give every one of `count` elements a thread. */
export function elementGroups(count: number): number {
  return Math.ceil(count / ELEMENT_THREADS);
}

/**
 * `group_index(wid, groups)`: the 1-D index of this workgroup; the engine spreads a 1-D count over
 * x and y when it exceeds `maxComputeWorkgroupsPerDimension`, so every kernel guards the index.
 * `FLOAT_MAX` is the largest finite f32 (WGSL has no infinity literal). `is_negative_infinity` tests
 * the bits, because WGSL lets compilers assume floating-point values are finite.
 */
export const COMMON = /* wgsl */ `
const FLOAT_MAX = 0x1.fffffep+127f;
fn group_index(wid: vec3u, groups: vec3u) -> u32 { return wid.x + wid.y * groups.x; }
fn is_negative_infinity(value: f32) -> bool { return bitcast<u32>(value) == 0xff800000u; }
`;

/**
 * Sum and max over the `threads` threads of a workgroup (a power of two, the WGSL constant
 * `ROW_THREADS`). Every thread must call them (they contain barriers) and gets the result; the
 * trailing barrier lets the scratch be reused at once.
 */
export function reductions(threads: number): string {
  return /* wgsl */ `
const ROW_THREADS = ${threads}u;
var<workgroup> partial: array<f32, ${threads}>;
fn reduce_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
fn reduce_max(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = ROW_THREADS / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
`;
}

/**
 * A row kernel's program for a workgroup of `threads`: the `Params` struct with `fields` (its
 * first must be `M`, the row count), the bindings, {@link COMMON}, the reductions, and `main`
 * running `body` for row `row` with the thread index `lid` (workgroups past the last row return).
 */
export function rowProgram(fields: string, body: string): (threads: number) => (bindings: string) => string {
  return (threads) => (bindings) =>
    /* wgsl */ `
struct Params { ${fields} }
${bindings}
${COMMON}
${reductions(threads)}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = group_index(wid, groups);
  if (row >= params.M) { return; }
${body}
}`;
}
