/**
 * attention — scaled dot-product attention of new queries over a key/value cache, for a batch of
 * sequences, with grouped-query heads, causal and padding masks and the score bias computed
 * in-kernel. One workgroup per (b, t, h) walks the keys in blocks of its thread count (64 on GPUs) with an online softmax
 * (running max and sum, rescaling the accumulated values), so scores never leave workgroup memory.
 *
 * Legend:
 *   B     sequences in the batch
 *   T     new query tokens per sequence
 *   S     key/value slots per sequence (cache capacity); kvOffset + T <= S
 *   H     query heads; Hkv key/value heads; G = H / Hkv query heads share one key/value head
 *   Dh    head width, at most MAX_HEAD_DIM (the accumulator lives in workgroup memory)
 *   q     [B, T, H*Dh]   (a 2-D [T, H*Dh] means B = 1; likewise for k, v)
 *   k, v  [B, S, Hkv*Dh], already holding the new tokens' keys and values
 *   out   [B, T, H*Dh], may be q itself (q is read only before the last barrier), must not overlap k or v
 *   i     absolute position of query t: kvOffset + t
 *   j     key slot, which is also the key's position
 *   L     key slots query i reads: j < validLengths[b] (kvOffset + T when absent), and j <= i when causal
 *   score[j] = (q_h · k_{h/G}[j]) * scale + bias(h, i, j), for j < L; out_h = softmax(score) · v; zeros when L = 0
 *   ALiBi    bias = -slopes[h] * |i - j|
 *   T5       bias = table[bucket(j - i) * H + h]; bucket(j - i) is looked up by distance in two tables
 *            (past, future) of C = min(S, maxDistance + 1) entries that core's `t5RelativeBucket`
 *            fills on the host, bit-exact (a shader `log` may differ from it by a few ulps and move a
 *            boundary); distances >= C read entry C - 1, where buckets have saturated
 *   aux words  [validLengths (B, when given)] [slopes (H) | table (numBuckets * H), then past (C), future (C)]
 */
import { mismatch, type T5RelativeBias, t5RelativeBucket, UnsupportedError } from '@rotor/core';
import { validateAttention } from '../reference/attention.js';
import type { GpuKernel } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { COMMON, reductions } from './wgsl.js';

const KERNEL = 'attention';

/** Largest head width the attention program accumulates in workgroup memory. */
export const MAX_HEAD_DIM = 512;

const BIAS_NONE = 0;
const BIAS_ALIBI = 1;
const BIAS_T5 = 2;

const program = (threads: number) => (bindings: string) =>
  /* wgsl */ `
struct Params {
  B: u32, T: u32, S: u32, H: u32, Hkv: u32, Dh: u32, kv_offset: u32, causal: u32, has_valid: u32,
  bias_type: u32, bias_offset: u32, bucket_offset: u32, bucket_count: u32, scale: f32,
}
${bindings}
${COMMON}
${reductions(threads)}
var<workgroup> acc: array<f32, ${MAX_HEAD_DIM}>;
var<workgroup> probs: array<f32, ${threads}>;
fn score_bias(h: u32, i: u32, j: u32) -> f32 {
  if (params.bias_type == ${BIAS_ALIBI}u) {
    return -bitcast<f32>(aux[params.bias_offset + h]) * f32(max(i, j) - min(i, j));
  }
  if (params.bias_type == ${BIAS_T5}u) {
    let last = params.bucket_count - 1u;
    var bucket = aux[params.bucket_offset + min(i - min(i, j), last)];
    if (j > i) { bucket = aux[params.bucket_offset + params.bucket_count + min(j - i, last)]; }
    return bitcast<f32>(aux[params.bias_offset + bucket * params.H + h]);
  }
  return 0.0;
}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, groups);
  if (g >= params.B * params.T * params.H) { return; }
  let h = g % params.H;
  let bt = g / params.H;
  let b = bt / params.T;
  let i = params.kv_offset + bt % params.T;
  var visible = params.kv_offset + params.T;
  if (params.has_valid != 0u) { visible = aux[b]; }
  var L = visible;
  if (params.causal != 0u) { L = min(visible, i + 1u); }
  let Dh = params.Dh;
  let kv_width = params.Hkv * Dh;
  let kv_column = (h / (params.H / params.Hkv)) * Dh;
  let q_base = bt * params.H * Dh + h * Dh;
  for (var d = lid; d < Dh; d += ROW_THREADS) { acc[d] = 0.0; }
  var running_max = -FLOAT_MAX;
  var running_sum = 0.0;
  for (var j0 = 0u; j0 < L; j0 += ROW_THREADS) {
    let j = j0 + lid;
    var score = -FLOAT_MAX;
    if (j < L) {
      let k_base = (b * params.S + j) * kv_width + kv_column;
      var dot = 0.0;
      for (var d = 0u; d < Dh; d++) { dot += q_at(q_base + d) * k_at(k_base + d); }
      score = dot * params.scale + score_bias(h, i, j);
    }
    let block_max = max(running_max, reduce_max(lid, score));
    let rescale = exp(running_max - block_max);
    var p = 0.0;
    if (j < L) { p = exp(score - block_max); }
    probs[lid] = p;
    running_sum = running_sum * rescale + reduce_sum(lid, p);
    let count = min(ROW_THREADS, L - j0);
    for (var d = lid; d < Dh; d += ROW_THREADS) {
      var value = acc[d] * rescale;
      for (var jj = 0u; jj < count; jj++) {
        value += probs[jj] * v_at((b * params.S + j0 + jj) * kv_width + kv_column + d);
      }
      acc[d] = value;
    }
    running_max = block_max;
    workgroupBarrier();
  }
  for (var d = lid; d < Dh; d += ROW_THREADS) {
    var value = 0.0;
    if (running_sum > 0.0) { value = acc[d] / running_sum; }
    out[q_base + d] = value;
  }
}`;

/** Bucket tables by distance (past then future), cached per T5 configuration and length. */
const bucketTables = new Map<string, Uint32Array>();
const BUCKET_TABLE_CACHE = 32;

/** `bucket(-d)` then `bucket(+d)` for d in [0, count), from core's normative `t5RelativeBucket`. */
export function t5BucketTables(bias: T5RelativeBias, count: number): Uint32Array {
  const key = `${bias.bidirectional}/${bias.numBuckets}/${bias.maxDistance}/${count}`;
  let tables = bucketTables.get(key);
  if (tables === undefined) {
    tables = new Uint32Array(2 * count);
    for (let d = 0; d < count; d++) {
      tables[d] = t5RelativeBucket(-d, bias.bidirectional, bias.numBuckets, bias.maxDistance);
      tables[count + d] = t5RelativeBucket(d, bias.bidirectional, bias.numBuckets, bias.maxDistance);
    }
    if (bucketTables.size >= BUCKET_TABLE_CACHE) bucketTables.clear();
    bucketTables.set(key, tables);
  }
  return tables;
}

/** Entries of each T5 bucket table: every distance below S, and no more than saturation needs. */
export function t5BucketCount(bias: T5RelativeBias, S: number): number {
  return Math.max(1, Math.min(S, bias.maxDistance + 1));
}

/** WebGPU `attention` kernel. */
export const attention: GpuKernel<'attention'> = (context, inputs, attrs, outHandle) => {
  const q = resolveTensor(KERNEL, 'inputs.q', inputs.q, context.owner);
  const k = resolveTensor(KERNEL, 'inputs.k', inputs.k, context.owner);
  const v = resolveTensor(KERNEL, 'inputs.v', inputs.v, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateAttention({ q, k, v }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.q', q, true);
  requireNoOverlap(KERNEL, out, 'inputs.k', k, false);
  requireNoOverlap(KERNEL, out, 'inputs.v', v, false);
  const { B, T, S, H, Hkv, Dh, kvOffset, causal, validLengths, scale, scoreBias } = plan;
  if (Dh > MAX_HEAD_DIM) {
    throw new UnsupportedError(
      mismatch('attrs.headDim', KERNEL, `at most ${MAX_HEAD_DIM} on the webgpu backend`, Dh),
    );
  }

  const biasOffset = validLengths === undefined ? 0 : B;
  let biasType = BIAS_NONE;
  let biasWords = 0;
  let bucketCount = 0;
  let buckets: Uint32Array | undefined;
  if (scoreBias?.type === 'alibi') {
    biasType = BIAS_ALIBI;
    biasWords = H;
  } else if (scoreBias?.type === 't5') {
    biasType = BIAS_T5;
    biasWords = scoreBias.numBuckets * H;
    bucketCount = t5BucketCount(scoreBias, S);
    buckets = t5BucketTables(scoreBias, bucketCount);
  }
  const bucketOffset = biasOffset + biasWords;
  context.engine.dispatch({
    kernel: KERNEL,
    program: `${KERNEL}-${context.tuning.rowThreads}`,
    code: program(context.tuning.rowThreads),
    uniforms: {
      u32: [
        B,
        T,
        S,
        H,
        Hkv,
        Dh,
        kvOffset,
        causal ? 1 : 0,
        validLengths === undefined ? 0 : 1,
        biasType,
        biasOffset,
        bucketOffset,
        bucketCount,
      ],
      f32: [scale],
    },
    aux: {
      words: bucketOffset + 2 * bucketCount,
      fill: (u32, f32) => {
        if (validLengths !== undefined) for (let b = 0; b < B; b++) u32[b] = validLengths[b];
        if (scoreBias?.type === 'alibi') f32.set(scoreBias.slopes, biasOffset);
        else if (scoreBias?.type === 't5') f32.set(scoreBias.table, biasOffset);
        if (buckets !== undefined) u32.set(buckets, bucketOffset);
      },
    },
    inputs: [
      ['q', q],
      ['k', k],
      ['v', v],
    ],
    out,
    workgroups: Dh === 0 ? 0 : B * T * H,
  });
};
