/**
 * attention — fused attention of new queries over a key/value cache with an online softmax: keys
 * are scored a tile at a time, the running maximum rescales what was accumulated, and the T×S score
 * matrix never exists. Work units are (sequence, query, head) triples; threads split the units.
 *
 * Legend:
 *   B, T, S    sequences, queries per sequence, key/value slots per sequence
 *   H, Hkv     query heads, key/value heads; G = H / Hkv query heads share one key/value head
 *   Dh         head width
 *   q, out     [B, T, H*Dh] addresses (out may be q: a unit reads only its own q slice, first)
 *   k, v       [B, S, Hkv*Dh] addresses
 *   i          absolute position of query t: kvOffset + t; j a key slot (= its position)
 *   L          keys query i reads: j < validLengths[b] (kvOffset + T when absent), j <= i when causal
 *   valid      [B] i32 address of validLengths, 0 when absent
 *   biasType   0 none, 1 ALiBi (biasTable = slopes [H]), 2 T5 (biasTable = [numBuckets, H])
 *   scratch    this thread's scratch: Dh floats (q copy), then TILE floats (scores of a tile)
 *   u0, u1     unit range; unit u is head u % H of query row u / H
 */
import { axpy, dot, scaleInPlace } from './vector';

/** Keys scored per tile. */
const TILE = 64;

/**
 * Hugging Face `_relative_position_bucket` for `relative = j - i`, ported from `t5RelativeBucket`
 * in @rotor/core with the same float32 roundings (f32 operands divided or multiplied in f64 and
 * rounded once equal the f32 operation, so only the log is computed in f64 as there).
 */
export function t5Bucket(relative: i32, bidirectional: bool, numBuckets: i32, maxDistance: i32): i32 {
  let buckets = numBuckets;
  let bucket = 0;
  let distance: i32;
  if (bidirectional) {
    buckets = buckets / 2;
    if (relative > 0) bucket += buckets;
    distance = relative < 0 ? -relative : relative;
  } else {
    distance = relative < 0 ? -relative : 0;
  }
  const maxExact = buckets / 2;
  if (distance < maxExact) return bucket + distance;
  const ratio = <f32>(<f64>distance / <f64>maxExact);
  const logRatio = <f32>(<f32>Math.log(<f64>ratio) / <f32>Math.log(<f64>maxDistance / <f64>maxExact));
  const large = maxExact + <i32>Mathf.trunc(logRatio * <f32>(buckets - maxExact));
  return bucket + min(large, buckets - 1);
}

/** Computes units u0..u1. */
export function attention(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  _B: i32,
  T: i32,
  S: i32,
  H: i32,
  Hkv: i32,
  Dh: i32,
  kvOffset: i32,
  causal: i32,
  valid: usize,
  scale: f32,
  biasType: i32,
  biasTable: usize,
  numBuckets: i32,
  maxDistance: i32,
  bidirectional: i32,
  scratch: usize,
  u0: i32,
  u1: i32,
): void {
  const G = H / Hkv;
  const headBytes = (<usize>Dh) << 2;
  const kvRowBytes = (<usize>(Hkv * Dh)) << 2;
  const qBuffer = scratch;
  const scores = scratch + ((headBytes + 15) & ~(<usize>15));
  for (let u = u0; u < u1; u++) {
    const h = u % H;
    const row = u / H;
    const t = row % T;
    const b = row / T;
    const i = kvOffset + t;
    const visible = valid === 0 ? kvOffset + T : load<i32>(valid + ((<usize>b) << 2));
    const L = causal !== 0 ? min(visible, i + 1) : visible;
    const outHead = out + <usize>u * headBytes;
    memory.copy(qBuffer, q + <usize>u * headBytes, headBytes);
    memory.fill(outHead, 0, headBytes);
    if (L <= 0) continue;
    const kvBase = <usize>b * <usize>S * kvRowBytes + <usize>(h / G) * headBytes;
    const slope: f32 = biasType === 1 ? load<f32>(biasTable + ((<usize>h) << 2)) : 0;
    let runningMax = -Infinity as f32;
    let total: f32 = 0;
    for (let j0 = 0; j0 < L; j0 += TILE) {
      const count = min(TILE, L - j0);
      let tileMax = -Infinity as f32;
      for (let c = 0; c < count; c++) {
        const j = j0 + c;
        let score = dot(qBuffer, k + kvBase + <usize>j * kvRowBytes, Dh) * scale;
        if (biasType === 1) score -= slope * <f32>abs(i - j);
        else if (biasType === 2) {
          const bucket = t5Bucket(j - i, bidirectional !== 0, numBuckets, maxDistance);
          score += load<f32>(biasTable + ((<usize>(bucket * H + h)) << 2));
        }
        store<f32>(scores + ((<usize>c) << 2), score);
        tileMax = max(tileMax, score);
      }
      if (tileMax > runningMax) {
        if (total !== 0) {
          const factor = Mathf.exp(runningMax - tileMax);
          scaleInPlace(outHead, factor, Dh);
          total *= factor;
        }
        runningMax = tileMax;
      }
      for (let c = 0; c < count; c++) {
        const p = Mathf.exp(load<f32>(scores + ((<usize>c) << 2)) - runningMax);
        total += p;
        axpy(outHead, p, v + kvBase + <usize>(j0 + c) * kvRowBytes, Dh);
      }
    }
    scaleInPlace(outHead, 1 / total, Dh);
  }
}
