/**
 * The machine limits every suite compares with: what the probes measured (in Node, see
 * `probe-limits.ts`) and the bandwidth that bounds a given read. Free of Node APIs, so the browser
 * page shares it.
 */

/** One streaming-read measurement. */
export interface BandwidthLimit {
  /** Bytes read per pass: a buffer that stays in the last-level cache, or one that does not. */
  bytes: number;
  threads: number;
  /** GB/s */
  value: number;
}

/** What the probes measured. */
export interface MachineLimits {
  bandwidth: BandwidthLimit[];
  /** f32x4 mul+add chains in registers, GFLOP/s per thread count. */
  arithmetic: { threads: number; value: number }[];
}

/**
 * The bandwidth that bounds streaming `bytes` on `threads` threads: the smallest probe buffer at
 * least that large (so a model that fits the cache is held to the cache's bandwidth), else the
 * largest; undefined when that thread count was not probed.
 */
export function bandwidthFor(
  limits: MachineLimits,
  bytes: number,
  threads: number,
): BandwidthLimit | undefined {
  const candidates = limits.bandwidth.filter((b) => b.threads === threads).sort((a, b) => a.bytes - b.bytes);
  return candidates.find((b) => b.bytes >= bytes) ?? candidates[candidates.length - 1];
}
