/**
 * attention — scaled dot-product attention of new queries over a key/value cache, for a batch of
 * sequences, with grouped-query heads, causal and padding masks and the score bias computed
 * in-kernel. Three programs, each a workgroup-local online softmax (running max and sum, rescaling
 * the accumulated values), so scores never leave workgroup memory and no T x S matrix exists:
 *
 * - general: one workgroup per (b, t, h) walks the keys in blocks of its thread count (64 on GPUs).
 * - flash prefill (T >= `flashMinQueries`, Dh <= FLASH_MAX_HEAD_DIM): one workgroup per (b, h) and
 *   tile of QT queries stages tiles of KT keys and values in workgroup memory, shared by the QT
 *   queries; each query row has `flashThreadsPerQuery` threads, each holding Dh / that many
 *   accumulators in registers.
 * - split-KV decode (T = 1, at least `splitKvMinKeys` visible slots): P workgroups per (b, h), each
 *   over `splitKvChunk` key slots, write (max, sum, unnormalised values) to a scratch buffer; a
 *   combine pass rescales the P partials to the common max and normalises.
 *
 * Legend:
 *   B     sequences in the batch
 *   T     new query tokens per sequence
 *   S     key/value slots per sequence (cache capacity); kvOffset + T <= S
 *   H     query heads; Hkv key/value heads; G = H / Hkv query heads share one key/value head
 *   Dh    head width, at most MAX_HEAD_DIM (the general program's accumulator lives in workgroup memory)
 *   q     [B, T, H*Dh]   (a 2-D [T, H*Dh] means B = 1; likewise for k, v)
 *   k, v  [B, S, Hkv*Dh], already holding the new tokens' keys and values
 *   out   [B, T, H*Dh], may be q itself (each workgroup reads only the q rows it writes, and only
 *         before it writes them), must not overlap k or v
 *   i     absolute position of query t: kvOffset + t
 *   j     key slot, which is also the key's position
 *   first key slot sequence b starts at: sequenceStarts[b] (0 when absent); keys j < first are left padding
 *   L     key slots query i reads: j < validLengths[b] (kvOffset + T when absent), and j <= i when causal
 *   score[j] = (q_h · k_{h/G}[j]) * scale + bias(h, i, j), for first <= j < L;
 *   out_h = softmax(score) · v; zeros when L <= first
 *   ALiBi    bias = -slopes[h] * |i - j|
 *   T5       bias = table[bucket(j - i) * H + h]; bucket(j - i) is looked up by distance in two tables
 *            (past, future) of C = min(S, maxDistance + 1) entries that core's `t5RelativeBucket`
 *            fills on the host, bit-exact (a shader `log` may differ from it by a few ulps and move a
 *            boundary); distances >= C read entry C - 1, where buckets have saturated
 *   aux words  [visible (B): validLengths, or kvOffset + T] [first (B)]
 *              [slopes (H) | table (numBuckets * H), then past (C), future (C)]
 *   P, chunk   split-KV: key slots [p * chunk, (p + 1) * chunk) of each (b, h) go to workgroup p
 *   partial    split-KV scratch record of (b, t, h, p): [max, sum, Dh unnormalised values]
 */
import { mismatch, type T5RelativeBias, t5RelativeBucket, UnsupportedError } from '@rotor/core';
import { type AttentionPlan, validateAttention } from '../reference/attention.js';
import type { GpuKernel, GpuKernelContext } from './kernel-context.js';
import { requireNoOverlap, resolveTensor } from './validate.js';
import { WebGpuTensor } from './webgpu-tensor.js';
import { COMMON, ROW_THREADS, reductions } from './wgsl.js';

const KERNEL = 'attention';

/** Largest head width the attention program accumulates in workgroup memory. */
export const MAX_HEAD_DIM = 512;

const BIAS_NONE = 0;
const BIAS_ALIBI = 1;
const BIAS_T5 = 2;

/** Largest head width of the flash program (its threads hold Dh / flashThreadsPerQuery accumulators). */
export const FLASH_MAX_HEAD_DIM = 256;
/** Queries per flash workgroup. */
const FLASH_QUERIES = 16;
/** Floats of each of the flash program's key and value tiles: KT = min(16, this / Dh) keys. */
const FLASH_TILE_FLOATS = 1024;
const FLASH_MAX_KEYS = 16;

/** Bytes of workgroup memory the largest attention program (flash) declares. */
export const ATTENTION_WORKGROUP_BYTES = Math.max(
  (MAX_HEAD_DIM + 2 * ROW_THREADS) * 4,
  (2 * FLASH_TILE_FLOATS + FLASH_QUERIES * FLASH_MAX_KEYS) * 4,
);

/** Params and bindings every attention program shares. */
const declarations = (bindings: string) => /* wgsl */ `
struct Params {
  B: u32, T: u32, S: u32, H: u32, Hkv: u32, Dh: u32, kv_offset: u32, causal: u32,
  bias_type: u32, bias_offset: u32, bucket_offset: u32, bucket_count: u32, chunk: u32, chunks: u32,
  key_tile: u32, scale: f32,
}
${bindings}
${COMMON}`;

/** Declarations and the mask and bias helpers (reading the aux words) of the programs that score keys. */
const prelude = (bindings: string) => /* wgsl */ `
${declarations(bindings)}
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
fn first_key(b: u32) -> u32 { return aux[params.B + b]; }
fn key_end(b: u32, i: u32) -> u32 {
  if (params.causal != 0u) { return min(aux[b], i + 1u); }
  return aux[b];
}`;

/**
 * The general program, one workgroup per (b, t, h); with `split`, one per (b, t, h, p) over its
 * chunk of key slots, writing a partial record instead of the normalised output.
 */
const general = (threads: number, split: boolean) => (bindings: string) =>
  /* wgsl */ `
${prelude(bindings)}
${reductions(threads)}
var<workgroup> acc: array<f32, ${MAX_HEAD_DIM}>;
var<workgroup> probs: array<f32, ${threads}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, groups);
  if (g >= params.B * params.T * params.H * params.chunks) { return; }
  let part = g % params.chunks;
  let h = (g / params.chunks) % params.H;
  let bt = g / params.chunks / params.H;
  let b = bt / params.T;
  let i = params.kv_offset + bt % params.T;
  var first = first_key(b);
  var L = key_end(b, i);
${
  split
    ? `  first = max(first, part * params.chunk);
  L = min(L, (part + 1u) * params.chunk);`
    : ''
}
  let Dh = params.Dh;
  let kv_width = params.Hkv * Dh;
  let kv_column = (h / (params.H / params.Hkv)) * Dh;
  let q_base = bt * params.H * Dh + h * Dh;
  for (var d = lid; d < Dh; d += ROW_THREADS) { acc[d] = 0.0; }
  var running_max = -FLOAT_MAX;
  var running_sum = 0.0;
  for (var j0 = first; j0 < L; j0 += ROW_THREADS) {
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
${
  split
    ? `  let record = g * (Dh + 2u);
  if (lid == 0u) {
    out[record] = running_max;
    out[record + 1u] = running_sum;
  }
  for (var d = lid; d < Dh; d += ROW_THREADS) { out[record + 2u + d] = acc[d]; }`
    : `  for (var d = lid; d < Dh; d += ROW_THREADS) {
    var value = 0.0;
    if (running_sum > 0.0) { value = acc[d] / running_sum; }
    out[q_base + d] = value;
  }`
}
}`;

/** The split-KV combine pass: one workgroup per (b, t, h) merges its P partial records. */
const combine = (threads: number) => (bindings: string) =>
  /* wgsl */ `
${declarations(bindings)}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, groups);
  if (g >= params.B * params.T * params.H) { return; }
  let Dh = params.Dh;
  let records = g * params.chunks;
  var common_max = -FLOAT_MAX;
  for (var p = 0u; p < params.chunks; p++) {
    let record = (records + p) * (Dh + 2u);
    if (partials_at(record + 1u) > 0.0) { common_max = max(common_max, partials_at(record)); }
  }
  var total = 0.0;
  for (var p = 0u; p < params.chunks; p++) {
    let record = (records + p) * (Dh + 2u);
    let sum = partials_at(record + 1u);
    if (sum > 0.0) { total += sum * exp(partials_at(record) - common_max); }
  }
  for (var d = lid; d < Dh; d += ${threads}u) {
    var value = 0.0;
    for (var p = 0u; p < params.chunks; p++) {
      let record = (records + p) * (Dh + 2u);
      if (partials_at(record + 1u) > 0.0) {
        value += partials_at(record + 2u + d) * exp(partials_at(record) - common_max);
      }
    }
    if (total > 0.0) { value /= total; }
    out[g * Dh + d] = value;
  }
}`;

/**
 * The flash prefill program for heads up to `headDim` wide (a power of two <= FLASH_MAX_HEAD_DIM)
 * with `lanes` threads per query: thread (r, lane) scores keys lane, lane + lanes, ... of each key
 * tile for query row r, then accumulates dimensions lane, lane + lanes, ... of its row.
 */
const flash = (lanes: number, headDim: number) => (bindings: string) =>
  /* wgsl */ `
${prelude(bindings)}
const QT = ${FLASH_QUERIES}u;
const LANES = ${lanes}u;
const MAX_KT = ${FLASH_MAX_KEYS}u;
var<workgroup> k_tile: array<f32, ${FLASH_TILE_FLOATS}>;
var<workgroup> v_tile: array<f32, ${FLASH_TILE_FLOATS}>;
var<workgroup> scores: array<f32, ${FLASH_QUERIES * FLASH_MAX_KEYS}>;
@compute @workgroup_size(${FLASH_QUERIES * lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tiles = (params.T + QT - 1u) / QT;
  let g = group_index(wid, groups);
  if (g >= params.B * params.H * tiles) { return; }
  let t0 = (g % tiles) * QT;
  let h = (g / tiles) % params.H;
  let b = g / tiles / params.H;
  let r = lid / LANES;
  let lane = lid % LANES;
  let t = t0 + r;
  let i = params.kv_offset + t;
  let Dh = params.Dh;
  let KT = params.key_tile;
  let kv_width = params.Hkv * Dh;
  let kv_column = (h / (params.H / params.Hkv)) * Dh;
  let q_base = (b * params.T + t) * params.H * Dh + h * Dh;
  let first = first_key(b);
  // Every query of the tile reads keys below the last one's end (uniform across the workgroup).
  let tile_end = key_end(b, params.kv_offset + min(t0 + QT, params.T) - 1u);
  var L = 0u;
  if (t < params.T) { L = key_end(b, i); }
  var acc: array<f32, ${headDim / lanes}>;
  var running_max = -FLOAT_MAX;
  var running_sum = 0.0;
  for (var j0 = first; j0 < tile_end; j0 += KT) {
    for (var e = lid; e < KT * Dh; e += QT * LANES) {
      let j = j0 + e / Dh;
      var key = 0.0;
      var value = 0.0;
      if (j < tile_end) {
        let at = (b * params.S + j) * kv_width + kv_column + e % Dh;
        key = k_at(at);
        value = v_at(at);
      }
      k_tile[e] = key;
      v_tile[e] = value;
    }
    workgroupBarrier();
    for (var c = lane; c < KT; c += LANES) {
      let j = j0 + c;
      var score = -FLOAT_MAX;
      if (j < L) {
        var dot = 0.0;
        for (var d = 0u; d < Dh; d++) { dot += q_at(q_base + d) * k_tile[c * Dh + d]; }
        score = dot * params.scale + score_bias(h, i, j);
      }
      scores[r * MAX_KT + c] = score;
    }
    workgroupBarrier();
    var tile_max = running_max;
    for (var c = 0u; c < KT; c++) {
      if (j0 + c < L) { tile_max = max(tile_max, scores[r * MAX_KT + c]); }
    }
    let rescale = exp(running_max - tile_max);
    running_sum *= rescale;
    for (var a = 0u; a * LANES + lane < Dh; a++) { acc[a] *= rescale; }
    for (var c = 0u; c < KT; c++) {
      if (j0 + c < L) {
        let p = exp(scores[r * MAX_KT + c] - tile_max);
        running_sum += p;
        for (var a = 0u; a * LANES + lane < Dh; a++) { acc[a] += p * v_tile[c * Dh + a * LANES + lane]; }
      }
    }
    running_max = tile_max;
    workgroupBarrier();
  }
  if (t >= params.T) { return; }
  for (var a = 0u; a * LANES + lane < Dh; a++) {
    var value = 0.0;
    if (running_sum > 0.0) { value = acc[a] / running_sum; }
    out[q_base + a * LANES + lane] = value;
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

/** Which program runs a validated call (the fast ones only when their preconditions hold). */
function chooseProgram(
  context: GpuKernelContext,
  { T, Dh }: AttentionPlan,
  keySpan: number,
): 'flash' | 'split' | 'general' {
  const { limits } = context;
  if (T >= limits.flashMinQueries && Dh <= FLASH_MAX_HEAD_DIM) return 'flash';
  if (T === 1 && keySpan >= limits.splitKvMinKeys && keySpan > limits.splitKvChunk) return 'split';
  return 'general';
}

/** Smallest power of two at least `value` (and at least 8). */
function headDimClass(value: number): number {
  return Math.max(8, 2 ** Math.ceil(Math.log2(value)));
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
  const { B, T, S, H, Hkv, Dh, kvOffset, causal, validLengths, sequenceStarts, scale, scoreBias } = plan;
  if (Dh > MAX_HEAD_DIM) {
    throw new UnsupportedError(
      mismatch('attrs.headDim', KERNEL, `at most ${MAX_HEAD_DIM} on the webgpu backend`, Dh),
    );
  }
  if (Dh === 0 || B * T * H === 0) return;

  const visible = Array.from({ length: B }, (_, b) =>
    validLengths === undefined ? kvOffset + T : validLengths[b],
  );
  const biasOffset = 2 * B;
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
  const aux = {
    words: bucketOffset + 2 * bucketCount,
    fill: (u32: Uint32Array, f32: Float32Array) => {
      u32.set(visible);
      for (let b = 0; b < B; b++) u32[B + b] = sequenceStarts === undefined ? 0 : sequenceStarts[b];
      if (scoreBias?.type === 'alibi') f32.set(scoreBias.slopes, biasOffset);
      else if (scoreBias?.type === 't5') f32.set(scoreBias.table, biasOffset);
      if (buckets !== undefined) u32.set(buckets, bucketOffset);
    },
  };
  // The most key slots any query reads (slots past it are masked for every query).
  const widest = visible.reduce((most, length) => Math.max(most, length), 0);
  const keySpan = causal ? Math.min(widest, kvOffset + T) : widest;
  const path = chooseProgram(context, plan, keySpan);
  const chunk = context.limits.splitKvChunk;
  const chunks = path === 'split' ? Math.ceil(keySpan / chunk) : 1;
  const keyTile = Math.min(FLASH_MAX_KEYS, Math.floor(FLASH_TILE_FLOATS / Dh));
  const uniforms = {
    u32: [
      B,
      T,
      S,
      H,
      Hkv,
      Dh,
      kvOffset,
      causal ? 1 : 0,
      biasType,
      biasOffset,
      bucketOffset,
      bucketCount,
      chunk,
      chunks,
      keyTile,
    ],
    f32: [scale],
  };
  const qkv = [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const;
  const threads = context.tuning.rowThreads;

  if (path === 'flash') {
    const lanes = context.tuning.flashThreadsPerQuery;
    const headDim = headDimClass(Dh);
    context.engine.dispatch({
      kernel: KERNEL,
      program: `${KERNEL}-flash-${lanes}-${headDim}`,
      code: flash(lanes, headDim),
      uniforms,
      aux,
      inputs: qkv,
      out,
      workgroups: B * H * Math.ceil(T / FLASH_QUERIES),
    });
    return;
  }
  if (path === 'split') {
    const records = B * T * H * chunks;
    const partials = new WebGpuTensor(
      context.owner,
      'f32',
      [records * (Dh + 2)],
      context.engine.scratch(records * (Dh + 2) * 4),
    );
    context.engine.dispatch({
      kernel: KERNEL,
      program: `${KERNEL}-split-${threads}`,
      code: general(threads, true),
      uniforms,
      aux,
      inputs: qkv,
      out: partials,
      workgroups: records,
    });
    context.engine.dispatch({
      kernel: KERNEL,
      program: `${KERNEL}-combine-${threads}`,
      code: combine(threads),
      uniforms,
      inputs: [['partials', partials]],
      out,
      workgroups: B * T * H,
    });
    return;
  }
  context.engine.dispatch({
    kernel: KERNEL,
    program: `${KERNEL}-${threads}`,
    code: general(threads, false),
    uniforms,
    aux,
    inputs: qkv,
    out,
    workgroups: B * T * H,
  });
};
