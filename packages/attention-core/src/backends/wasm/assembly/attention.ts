/**
 * attention — fused attention of new queries over a key/value cache; the T×S score matrix never
 * exists. Two kernels:
 *   attention         decode (T = 1, or any T): a unit is one (sequence, query, key/value head)
 *                     with its G query heads; each head's one row of scores is kept whole, then
 *                     exponentiated against its exact maximum;
 *   attentionPrefill  prefill (T > 1, flash attention): a unit is a block of QB queries of one
 *                     head; keys come a tile at a time with an online softmax (the running maximum
 *                     rescales what was accumulated), each key and value row loaded feeds QB
 *                     queries, and the units' order pairs short causal blocks with long ones so
 *                     contiguous thread shares carry equal work.
 *
 * Legend:
 *   B, T, S    sequences, queries per sequence, key/value slots per sequence
 *   H, Hkv     query heads, key/value heads; G = H / Hkv query heads share one key/value head
 *   Dh         head width
 *   q, out     [B, T, H*Dh] addresses (out may be q: a unit reads only its own q slice, first)
 *   k, v       [B, S, Hkv*Dh] addresses
 *   i          absolute slot of query t: kvOffset + t; j a key slot
 *   j0         first valid key slot of sequence b: starts[b] (0 when absent; earlier slots are left padding)
 *   L          keys query i reads: j0 <= j < validLengths[b] (kvOffset + T when absent), j <= i when causal
 *   valid      [B] i32 address of validLengths, 0 when absent
 *   starts     [B] i32 address of sequenceStarts, 0 when absent
 *   biasType   0 none, 1 ALiBi (biasTable = slopes [H]), 2 T5 (biasTable = [numBuckets, H])
 *   scratch    this thread's scratch: decode Dh floats (q copy, 16-byte padded), then a score row
 *              of S floats rounded up to whole vectors;
 *              prefill QB query rows and QB output rows of Dh floats (16-byte padded), QB × TILE
 *              floats (scores, then weights), QB (running max, total) pairs
 *   u0, u1     unit range; decode unit u is key/value head u % Hkv of query row u / Hkv (its G
 *              query heads); prefill unit u is head u % H of query block order(u / H)
 *
 * Versions (one call's best time of 15 interleaved runs in one process, 1 thread, causal; v1 → v2):
 *   v1  one unit per (query, head) for decode and prefill, key tiles of 64, scalar `Mathf.exp`, one
 *       `axpy` per key; in stories260K's decode profile attention + exp were ~30% of a step.
 *   v2  decode: one unit per key/value head (its G query heads reuse the rows from cache), whole
 *       score row with four keys per vector (transpose-add), SIMD `exp4`, weighted sum with the
 *       output columns in registers and two keys per step. H12 Dh64 S256: 112.9 → 69.4 µs (1.63×);
 *       S1024: 596 → 463 µs (1.29×); stories260K's H8/4 Dh8 at 200 keys: 27.9 → 10.8 µs (2.59×).
 *   v2  prefill (T > 1): flash attention over blocks of 4 queries per loaded key/value row.
 *       H12 Dh64 T256: 7.74 → 6.73 ms (1.15×, ~15 GFLOP/s, the probed 1-thread f32x4 peak);
 *       H8/4 Dh8 T256: 2.62 → 2.00 ms (1.31×); T16: equal (45 µs).
 *   Greedy tokens of every model tried stayed identical to v1's.
 *   v3  `exp4` rounds with a 1.5 × 2^23 shift instead of `nearest` + `trunc_sat` (bit-identical
 *       output): stories260K's H8/4 Dh8 decode at 200 keys 13.5 → 8.9 µs per call (1.5×; medians of
 *       9 × 5,000 calls), at 287 keys 19.6 → 12.0 µs; exp was ~30% of the call before.
 *   tried, not kept: query heads in pairs, each loaded value row feeding both weighted sums
 *       (two score rows of scratch): H8/4 Dh8 at 200 and 287 keys unchanged (old/new alternating
 *       processes, 3 each: 9.2–12.2 vs 11.9–12.4 µs); the sums are bound by arithmetic, not loads.
 *   tried, not kept: Dh = 8 specialisations, the query's two vectors in registers for the scores
 *       (no zero-started accumulators), and exp + weighted sum fused in one pass with each weight
 *       vector's lanes splatted by shuffles instead of stored and reloaded: same output, tokens
 *       identical; stories260K decode 0.997× for the scores alone and 0.93× with the fusion
 *       (paired medians of 30 alternating rounds of 256 tokens in one process): on x64 a lane
 *       splat is a shuffle-port instruction, where `load32_splat` from memory costs only a load.
 *   host (wasm-backend.ts): the single-thread decode call made with its arguments spelled out
 *       instead of `apply` through the JS-to-wasm wrapper: stories260K decode 1.04–1.08× (per
 *       CPU-second / paired medians of 11 alternating runs of 400 tokens), tokens identical.
 */
import { dot, expShifted, horizontalSum, scaleInPlace, sum4 } from './vector';

/** Keys scored per tile. */
const TILE = 64;

/** Queries per prefill block. */
const QB = 4;

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

function biasOf(
  biasType: i32,
  biasTable: usize,
  slope: f32,
  H: i32,
  h: i32,
  i: i32,
  j: i32,
  numBuckets: i32,
  maxDistance: i32,
  bidirectional: i32,
): f32 {
  if (biasType === 1) return -slope * <f32>abs(i - j);
  if (biasType === 2) {
    const bucket = t5Bucket(j - i, bidirectional !== 0, numBuckets, maxDistance);
    return load<f32>(biasTable + ((<usize>(bucket * H + h)) << 2));
  }
  return 0;
}

/** Four dot products of one query with four key rows, as the lanes of one vector. */
function dot4(qv: usize, k0: usize, kvRowBytes: usize, Dh: i32): v128 {
  const k1 = k0 + kvRowBytes;
  const k2 = k1 + kvRowBytes;
  const k3 = k2 + kvRowBytes;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const vectorEnd = Dh & ~3;
  for (let d = 0; d < vectorEnd; d += 4) {
    const o = (<usize>d) << 2;
    const x = v128.load(qv + o);
    a0 = f32x4.add(a0, f32x4.mul(x, v128.load(k0 + o)));
    a1 = f32x4.add(a1, f32x4.mul(x, v128.load(k1 + o)));
    a2 = f32x4.add(a2, f32x4.mul(x, v128.load(k2 + o)));
    a3 = f32x4.add(a3, f32x4.mul(x, v128.load(k3 + o)));
  }
  let sums = sum4(a0, a1, a2, a3);
  if (vectorEnd < Dh) {
    let t0: f32 = 0;
    let t1: f32 = 0;
    let t2: f32 = 0;
    let t3: f32 = 0;
    for (let d = vectorEnd; d < Dh; d++) {
      const o = (<usize>d) << 2;
      const x = load<f32>(qv + o);
      t0 += x * load<f32>(k0 + o);
      t1 += x * load<f32>(k1 + o);
      t2 += x * load<f32>(k2 + o);
      t3 += x * load<f32>(k3 + o);
    }
    sums = f32x4.add(sums, f32x4(t0, t1, t2, t3));
  }
  return sums;
}

/**
 * Decode units u0..u1: unit u is key/value head u % Hkv of query row u / Hkv, with its G query
 * heads. Each head's scores over its L - j0 keys are kept whole in scratch (one row, not T×S),
 * four keys per vector, then exponentiated once against their exact maximum, then the weighted
 * values are summed with 16 output columns held in registers.
 */
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
  starts: usize,
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
  const stride = (headBytes + 15) & ~(<usize>15);
  const kvRowBytes = (<usize>(Hkv * Dh)) << 2;
  const scores = scratch + stride;
  const scaleV = f32x4.splat(scale);
  for (let u = u0; u < u1; u++) {
    const hk = u % Hkv;
    const row = u / Hkv;
    const t = row % T;
    const b = row / T;
    const i = kvOffset + t;
    const visible = valid === 0 ? kvOffset + T : load<i32>(valid + ((<usize>b) << 2));
    const first = starts === 0 ? 0 : load<i32>(starts + ((<usize>b) << 2));
    const L = causal !== 0 ? min(visible, i + 1) : visible;
    const kBase = k + <usize>b * <usize>S * kvRowBytes + <usize>hk * headBytes + <usize>first * kvRowBytes;
    const vBase = kBase - k + v;
    const count = L - first;
    for (let g = 0; g < G; g++) {
      const h = hk * G + g;
      const qHead = q + <usize>(row * H + h) * headBytes;
      const outHead = out + <usize>(row * H + h) * headBytes;
      if (count <= 0) {
        memory.fill(outHead, 0, headBytes);
        continue;
      }
      memory.copy(scratch, qHead, headBytes);
      let c = 0;
      let maxV = f32x4.splat(-Infinity);
      for (; c + 4 <= count; c += 4) {
        const sv = f32x4.mul(dot4(scratch, kBase + <usize>c * kvRowBytes, kvRowBytes, Dh), scaleV);
        v128.store(scores + ((<usize>c) << 2), sv);
        maxV = f32x4.max(maxV, sv);
      }
      let rowMax = max(
        max(f32x4.extract_lane(maxV, 0), f32x4.extract_lane(maxV, 1)),
        max(f32x4.extract_lane(maxV, 2), f32x4.extract_lane(maxV, 3)),
      );
      for (; c < count; c++) {
        const score = dot(scratch, kBase + <usize>c * kvRowBytes, Dh) * scale;
        store<f32>(scores + ((<usize>c) << 2), score);
        rowMax = max(rowMax, score);
      }
      if (biasType !== 0) {
        const slope: f32 = biasType === 1 ? load<f32>(biasTable + ((<usize>h) << 2)) : 0;
        rowMax = -Infinity;
        for (c = 0; c < count; c++) {
          const at = scores + ((<usize>c) << 2);
          const score =
            load<f32>(at) +
            biasOf(biasType, biasTable, slope, H, h, i, first + c, numBuckets, maxDistance, bidirectional);
          store<f32>(at, score);
          rowMax = max(rowMax, score);
        }
      }
      const total = expShifted(scores, count, rowMax);
      weightedSum(outHead, scores, vBase, kvRowBytes, Dh, count, 1 / total);
    }
  }
}

/** out[0..Dh) = factor * sum_c p[c] * v row c; 16 columns at a time stay in registers. */
function weightedSum(
  o: usize,
  p: usize,
  vRow: usize,
  kvRowBytes: usize,
  Dh: i32,
  count: i32,
  factor: f32,
): void {
  const f = f32x4.splat(factor);
  let d = 0;
  for (; d + 16 <= Dh; d += 16) {
    const off = (<usize>d) << 2;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let vp = vRow + off;
    for (let c = 0; c < count; c++) {
      const w = v128.load32_splat(p + ((<usize>c) << 2));
      a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)));
      a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)));
      a2 = f32x4.add(a2, f32x4.mul(w, v128.load(vp, 32)));
      a3 = f32x4.add(a3, f32x4.mul(w, v128.load(vp, 48)));
      vp += kvRowBytes;
    }
    v128.store(o + off, f32x4.mul(a0, f));
    v128.store(o + off, f32x4.mul(a1, f), 16);
    v128.store(o + off, f32x4.mul(a2, f), 32);
    v128.store(o + off, f32x4.mul(a3, f), 48);
  }
  // narrower remainders: two keys per step, so the sums form independent chains
  const pair = (<usize>kvRowBytes) << 1;
  for (; d + 8 <= Dh; d += 8) {
    const off = (<usize>d) << 2;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let vp = vRow + off;
    let c = 0;
    for (; c + 2 <= count; c += 2) {
      const w = v128.load32_splat(p + ((<usize>c) << 2));
      const x = v128.load32_splat(p + ((<usize>c) << 2), 4);
      a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)));
      a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)));
      b0 = f32x4.add(b0, f32x4.mul(x, v128.load(vp + kvRowBytes)));
      b1 = f32x4.add(b1, f32x4.mul(x, v128.load(vp + kvRowBytes, 16)));
      vp += pair;
    }
    if (c < count) {
      const w = v128.load32_splat(p + ((<usize>c) << 2));
      a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)));
      a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)));
    }
    v128.store(o + off, f32x4.mul(f32x4.add(a0, b0), f));
    v128.store(o + off, f32x4.mul(f32x4.add(a1, b1), f), 16);
  }
  for (; d + 4 <= Dh; d += 4) {
    const off = (<usize>d) << 2;
    let a0 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let vp = vRow + off;
    let c = 0;
    for (; c + 2 <= count; c += 2) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(p + ((<usize>c) << 2)), v128.load(vp)));
      b0 = f32x4.add(b0, f32x4.mul(v128.load32_splat(p + ((<usize>c) << 2), 4), v128.load(vp + kvRowBytes)));
      vp += pair;
    }
    if (c < count) a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(p + ((<usize>c) << 2)), v128.load(vp)));
    v128.store(o + off, f32x4.mul(f32x4.add(a0, b0), f));
  }
  for (; d < Dh; d++) {
    const off = (<usize>d) << 2;
    let a: f32 = 0;
    for (let c = 0; c < count; c++)
      a += load<f32>(p + ((<usize>c) << 2)) * load<f32>(vRow + <usize>c * kvRowBytes + off);
    store<f32>(o + off, a * factor);
  }
}

/** Scores keys jt..jt+count against the block's QB query copies (rows past the block's end are zeros). */
function scoreTile(
  qs: usize,
  qStride: usize,
  kRow: usize,
  kvRowBytes: usize,
  Dh: i32,
  count: i32,
  scores: usize,
): void {
  const vectorEnd = Dh & ~3;
  const q1 = qs + qStride;
  const q2 = q1 + qStride;
  const q3 = q2 + qStride;
  let c = 0;
  for (; c + 2 <= count; c += 2) {
    const ka = kRow + <usize>c * kvRowBytes;
    const kb = ka + kvRowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    for (let d = 0; d < vectorEnd; d += 4) {
      const o = (<usize>d) << 2;
      const x = v128.load(ka + o);
      const y = v128.load(kb + o);
      let r = v128.load(qs + o);
      a0 = f32x4.add(a0, f32x4.mul(r, x));
      b0 = f32x4.add(b0, f32x4.mul(r, y));
      r = v128.load(q1 + o);
      a1 = f32x4.add(a1, f32x4.mul(r, x));
      b1 = f32x4.add(b1, f32x4.mul(r, y));
      r = v128.load(q2 + o);
      a2 = f32x4.add(a2, f32x4.mul(r, x));
      b2 = f32x4.add(b2, f32x4.mul(r, y));
      r = v128.load(q3 + o);
      a3 = f32x4.add(a3, f32x4.mul(r, x));
      b3 = f32x4.add(b3, f32x4.mul(r, y));
    }
    let sa0 = horizontalSum(a0);
    let sa1 = horizontalSum(a1);
    let sa2 = horizontalSum(a2);
    let sa3 = horizontalSum(a3);
    let sb0 = horizontalSum(b0);
    let sb1 = horizontalSum(b1);
    let sb2 = horizontalSum(b2);
    let sb3 = horizontalSum(b3);
    for (let d = vectorEnd; d < Dh; d++) {
      const o = (<usize>d) << 2;
      const x = load<f32>(ka + o);
      const y = load<f32>(kb + o);
      let r = load<f32>(qs + o);
      sa0 += r * x;
      sb0 += r * y;
      r = load<f32>(q1 + o);
      sa1 += r * x;
      sb1 += r * y;
      r = load<f32>(q2 + o);
      sa2 += r * x;
      sb2 += r * y;
      r = load<f32>(q3 + o);
      sa3 += r * x;
      sb3 += r * y;
    }
    const s = scores + ((<usize>c) << 2);
    store<f32>(s, sa0);
    store<f32>(s, sb0, 4);
    store<f32>(s, sa1, TILE * 4);
    store<f32>(s, sb1, TILE * 4 + 4);
    store<f32>(s, sa2, TILE * 8);
    store<f32>(s, sb2, TILE * 8 + 4);
    store<f32>(s, sa3, TILE * 12);
    store<f32>(s, sb3, TILE * 12 + 4);
  }
  if (c < count) {
    const ka = kRow + <usize>c * kvRowBytes;
    const s = scores + ((<usize>c) << 2);
    store<f32>(s, dot(qs, ka, Dh));
    store<f32>(s, dot(q1, ka, Dh), TILE * 4);
    store<f32>(s, dot(q2, ka, Dh), TILE * 8);
    store<f32>(s, dot(q3, ka, Dh), TILE * 12);
  }
}

/** out rows += P (QB × count, row stride TILE) · v rows jt..jt+count; the four out rows stay in registers. */
function accumulateTile(
  o0: usize,
  oStride: usize,
  p: usize,
  vRow: usize,
  kvRowBytes: usize,
  Dh: i32,
  count: i32,
): void {
  const o1 = o0 + oStride;
  const o2 = o1 + oStride;
  const o3 = o2 + oStride;
  const vectorEnd = Dh & ~3;
  for (let d = 0; d < vectorEnd; d += 4) {
    const o = (<usize>d) << 2;
    let a0 = v128.load(o0 + o);
    let a1 = v128.load(o1 + o);
    let a2 = v128.load(o2 + o);
    let a3 = v128.load(o3 + o);
    let vp = vRow + o;
    for (let c = 0; c < count; c++) {
      const x = v128.load(vp);
      const pc = p + ((<usize>c) << 2);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pc), x));
      a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(pc, TILE * 4), x));
      a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(pc, TILE * 8), x));
      a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(pc, TILE * 12), x));
      vp += kvRowBytes;
    }
    v128.store(o0 + o, a0);
    v128.store(o1 + o, a1);
    v128.store(o2 + o, a2);
    v128.store(o3 + o, a3);
  }
  for (let d = vectorEnd; d < Dh; d++) {
    const o = (<usize>d) << 2;
    let a0 = load<f32>(o0 + o);
    let a1 = load<f32>(o1 + o);
    let a2 = load<f32>(o2 + o);
    let a3 = load<f32>(o3 + o);
    for (let c = 0; c < count; c++) {
      const x = load<f32>(vRow + <usize>c * kvRowBytes + o);
      const pc = p + ((<usize>c) << 2);
      a0 += load<f32>(pc) * x;
      a1 += load<f32>(pc, TILE * 4) * x;
      a2 += load<f32>(pc, TILE * 8) * x;
      a3 += load<f32>(pc, TILE * 12) * x;
    }
    store<f32>(o0 + o, a0);
    store<f32>(o1 + o, a1);
    store<f32>(o2 + o, a2);
    store<f32>(o3 + o, a3);
  }
}

/**
 * Prefill (flash attention) units u0..u1. The block's outputs accumulate in scratch (so rows past
 * T need no guard), are normalised, and only then written to out (which may alias q).
 */
export function attentionPrefill(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  B: i32,
  T: i32,
  S: i32,
  H: i32,
  Hkv: i32,
  Dh: i32,
  kvOffset: i32,
  causal: i32,
  valid: usize,
  starts: usize,
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
  const stride = (headBytes + 15) & ~(<usize>15);
  const qRowBytes = <usize>H * headBytes;
  const kvRowBytes = (<usize>(Hkv * Dh)) << 2;
  const qs = scratch;
  const acc = qs + QB * stride;
  const scores = acc + QB * stride;
  const running = scores + QB * TILE * 4;
  const blocksPerSequence = (T + QB - 1) / QB;
  const blocks = B * blocksPerSequence;
  for (let u = u0; u < u1; u++) {
    const h = u % H;
    const pair = u / H;
    // pairs the p-th shortest block with the p-th longest, so each contiguous share is balanced
    const block = (pair & 1) === 0 ? pair >> 1 : blocks - 1 - (pair >> 1);
    const b = block / blocksPerSequence;
    const t0 = (block % blocksPerSequence) * QB;
    const rows = min(QB, T - t0);
    const visible = valid === 0 ? kvOffset + T : load<i32>(valid + ((<usize>b) << 2));
    const first = starts === 0 ? 0 : load<i32>(starts + ((<usize>b) << 2));
    const qHead = q + <usize>(b * T + t0) * qRowBytes + <usize>h * headBytes;
    memory.fill(qs, 0, QB * stride * 2);
    for (let r = 0; r < rows; r++)
      memory.copy(qs + <usize>r * stride, qHead + <usize>r * qRowBytes, headBytes);
    const lastL = causal !== 0 ? min(visible, kvOffset + t0 + rows) : visible;
    const kvBase = <usize>b * <usize>S * kvRowBytes + <usize>(h / G) * headBytes;
    const slope: f32 = biasType === 1 ? load<f32>(biasTable + ((<usize>h) << 2)) : 0;
    for (let r = 0; r < QB; r++) {
      store<f32>(running + ((<usize>r) << 3), -Infinity);
      store<f32>(running + ((<usize>r) << 3), 0, 4);
    }
    for (let jt = first; jt < lastL; jt += TILE) {
      const count = min(TILE, lastL - jt);
      scoreTile(qs, stride, k + kvBase + <usize>jt * kvRowBytes, kvRowBytes, Dh, count, scores);
      for (let r = 0; r < rows; r++) {
        const i = kvOffset + t0 + r;
        const L = causal !== 0 ? min(visible, i + 1) : visible;
        const end = min(count, L - jt);
        const row = scores + <usize>r * (TILE * 4);
        let tileMax = -Infinity as f32;
        for (let c = 0; c < end; c++) {
          const at = row + ((<usize>c) << 2);
          let score = load<f32>(at) * scale;
          if (biasType !== 0)
            score += biasOf(
              biasType,
              biasTable,
              slope,
              H,
              h,
              i,
              jt + c,
              numBuckets,
              maxDistance,
              bidirectional,
            );
          store<f32>(at, score);
          tileMax = max(tileMax, score);
        }
        const state = running + ((<usize>r) << 3);
        let runningMax = load<f32>(state);
        let total = load<f32>(state, 4);
        if (tileMax > runningMax) {
          if (total !== 0) {
            const factor = Mathf.exp(runningMax - tileMax);
            scaleInPlace(acc + <usize>r * stride, factor, Dh);
            total *= factor;
          }
          runningMax = tileMax;
        }
        if (end > 0) total += expShifted(row, end, runningMax);
        // masked keys of this row weigh nothing
        for (let c = max(end, 0); c < count; c++) store<f32>(row + ((<usize>c) << 2), 0);
        store<f32>(state, runningMax);
        store<f32>(state, total, 4);
      }
      accumulateTile(acc, stride, scores, v + kvBase + <usize>jt * kvRowBytes, kvRowBytes, Dh, count);
    }
    for (let r = 0; r < rows; r++) {
      const total = load<f32>(running + ((<usize>r) << 3), 4);
      const row = acc + <usize>r * stride;
      if (total !== 0) scaleInPlace(row, 1 / total, Dh);
      memory.copy(qHead - q + out + <usize>r * qRowBytes, row, headBytes);
    }
  }
}
