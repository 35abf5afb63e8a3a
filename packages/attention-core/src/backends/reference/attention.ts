/**
 * attention — scaled dot-product attention of new queries over a key/value cache, for a batch of
 * sequences, with grouped-query heads, causal and padding masks and an optional in-kernel score bias.
 *
 * Legend:
 *   B     sequences in the batch
 *   T     new query tokens per sequence
 *   S     key/value slots per sequence (cache capacity); kvOffset + T <= S
 *   H     query heads; Hkv key/value heads; G = H / Hkv query heads share one key/value head
 *   Dh    head width
 *   q     [B, T, H*Dh]   (a 2-D [T, H*Dh] means B = 1; likewise for k, v)
 *   k, v  [B, S, Hkv*Dh], already holding the new tokens' keys and values
 *   out   [B, T, H*Dh], may be q itself, must not overlap k or v
 *   i     absolute position of query t: kvOffset + t
 *   j     key slot, which is also the key's position
 *   j0    first key slot sequence b reads: sequenceStarts[b] (0 when absent); slots before it are left padding
 *   L     key slots query i reads: j < validLengths[b] (kvOffset + T when absent), and j <= i when causal
 *   score[j] = (q_h · k_{h/G}[j]) * scale + bias(h, i, j), for j0 <= j < L
 *   out_h    = sum_j softmax(score)[j] * v_{h/G}[j]; zeros when L <= j0
 *   ALiBi    bias = -slopes[h] * |i - j|
 *   T5       bias = table[bucket(j - i) * H + h] (Raffel et al.; Hugging Face `_relative_position_bucket`)
 *
 * Scores of one query row live in a scratch row of S float64s, never a T x S matrix.
 */
import {
  type KernelAttrs,
  type KernelInputs,
  mismatch,
  type ScoreBiasDescriptor,
  type Shape,
  type TensorHandle,
  t5RelativeBucket,
  UnsupportedError,
} from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  formatShape,
  invalidArgument,
  requireArrayLike,
  requireF32,
  requireFinite,
  requireFinites,
  requireInteger,
  requireIntegers,
  requireNoOverlap,
  requireRows,
  resolveTensor,
  shapeMismatch,
  validateSequenceStarts,
} from './validate.js';

const KERNEL = 'attention';

/** Every score-bias type the attention kernel contract defines. */
export const SCORE_BIAS_TYPES: readonly ScoreBiasDescriptor['type'][] = ['alibi', 't5'];

/** Dimensions and attrs of a validated attention call. */
export interface AttentionPlan {
  readonly B: number;
  readonly T: number;
  readonly S: number;
  readonly H: number;
  readonly Hkv: number;
  readonly Dh: number;
  readonly kvOffset: number;
  readonly causal: boolean;
  readonly validLengths: ArrayLike<number> | undefined;
  readonly sequenceStarts: ArrayLike<number> | undefined;
  readonly scale: number;
  readonly scoreBias: ScoreBiasDescriptor | undefined;
}

/** `[B, rows, width]` of a rank-3 tensor, or `[1, rows, width]` of a rank-2 one. */
function batchShape(what: string, tensor: TensorHandle, layout: string): Shape {
  const shape = tensor.shape;
  if (shape.length === 3) return shape;
  if (shape.length === 2) return [1, shape[0], shape[1]];
  throw shapeMismatch(KERNEL, `${what} shape`, `rank 3 ${layout} (or rank 2 when B = 1)`, shape);
}

function validateScoreBias(
  bias: unknown,
  H: number,
  supported: readonly ScoreBiasDescriptor['type'][],
): ScoreBiasDescriptor | undefined {
  if (bias === undefined) return undefined;
  const type = (bias as { type?: unknown } | null)?.type;
  if (type !== 'alibi' && type !== 't5') {
    throw invalidArgument(KERNEL, 'attrs.scoreBias.type', 'one of "alibi", "t5"', type);
  }
  if (!supported.includes(type)) {
    throw new UnsupportedError(
      mismatch(
        'attrs.scoreBias.type',
        KERNEL,
        `one of this backend's score-bias types (${supported.join(', ')})`,
        type,
      ),
    );
  }
  if (type === 'alibi') {
    const slopes = requireArrayLike(
      KERNEL,
      'attrs.scoreBias.slopes',
      (bias as { slopes?: unknown }).slopes,
      H,
      'one per query head',
    );
    requireFinites(KERNEL, 'attrs.scoreBias.slopes', slopes, H);
    return bias as ScoreBiasDescriptor;
  }
  const t5 = bias as {
    numBuckets?: unknown;
    maxDistance?: unknown;
    bidirectional?: unknown;
    table?: unknown;
  };
  if (typeof t5.bidirectional !== 'boolean') {
    throw invalidArgument(KERNEL, 'attrs.scoreBias.bidirectional', 'a boolean', t5.bidirectional);
  }
  const numBuckets = requireInteger(
    KERNEL,
    'attrs.scoreBias.numBuckets',
    t5.numBuckets,
    t5.bidirectional ? 4 : 2,
  );
  const maxExact = Math.floor((t5.bidirectional ? Math.floor(numBuckets / 2) : numBuckets) / 2);
  requireInteger(KERNEL, 'attrs.scoreBias.maxDistance', t5.maxDistance, maxExact + 1);
  const table = t5.table as { length?: unknown } | null | undefined;
  // the label is formatted only when the check fails
  if (table === null || typeof table !== 'object' || table.length !== numBuckets * H) {
    requireArrayLike(
      KERNEL,
      'attrs.scoreBias.table',
      table,
      numBuckets * H,
      `[numBuckets, H] = [${numBuckets}, ${H}]`,
    );
  }
  return bias as ScoreBiasDescriptor;
}

/**
 * Checks dtypes, shapes, head counts, cache range, masks and the score bias; backend-independent.
 * `supportedBias` lists the score-bias types the calling backend computes; others are unsupported.
 */
export function validateAttention(
  inputs: KernelInputs<'attention'>,
  attrs: KernelAttrs<'attention'>,
  out: TensorHandle,
  supportedBias: readonly ScoreBiasDescriptor['type'][] = SCORE_BIAS_TYPES,
): AttentionPlan {
  requireF32(KERNEL, 'inputs.q', inputs.q);
  requireF32(KERNEL, 'inputs.k', inputs.k);
  requireF32(KERNEL, 'inputs.v', inputs.v);
  requireF32(KERNEL, 'out', out);
  const H = requireInteger(KERNEL, 'attrs.numHeads', attrs.numHeads, 1);
  const Hkv = requireInteger(KERNEL, 'attrs.numKvHeads', attrs.numKvHeads, 1);
  const Dh = requireInteger(KERNEL, 'attrs.headDim', attrs.headDim, 1);
  if (H % Hkv !== 0) {
    throw invalidArgument(
      KERNEL,
      'attrs.numHeads',
      `a multiple of numKvHeads = ${Hkv} (grouped-query attention)`,
      H,
    );
  }

  const [B, T, qWidth] = batchShape('inputs.q', inputs.q, '[B, T, numHeads * headDim]');
  if (qWidth !== H * Dh) {
    throw shapeMismatch(KERNEL, 'inputs.q width', `numHeads * headDim = ${H} * ${Dh} = ${H * Dh}`, qWidth);
  }
  const [kB, S, kWidth] = batchShape('inputs.k', inputs.k, '[B, S, numKvHeads * headDim]');
  if (kB !== B) throw shapeMismatch(KERNEL, 'inputs.k batch', `${B} (the batch of q)`, kB);
  if (kWidth !== Hkv * Dh) {
    throw shapeMismatch(
      KERNEL,
      'inputs.k width',
      `numKvHeads * headDim = ${Hkv} * ${Dh} = ${Hkv * Dh}`,
      kWidth,
    );
  }
  const [vB, vS, vWidth] = batchShape('inputs.v', inputs.v, '[B, S, numKvHeads * headDim]');
  if (vB !== B || vS !== S || vWidth !== kWidth) {
    throw shapeMismatch(
      KERNEL,
      'inputs.v shape',
      `${formatShape([B, S, kWidth])} (the shape of k)`,
      inputs.v.shape,
    );
  }
  requireRows(KERNEL, 'out', out, { rows: B * T, width: qWidth }, 'the shape of q');

  const kvOffset = requireInteger(KERNEL, 'attrs.kvOffset', attrs.kvOffset, 0);
  if (kvOffset + T > S) {
    throw invalidArgument(
      KERNEL,
      'attrs.kvOffset',
      `at most S - T = ${S} - ${T} = ${S - T} (queries sit at slots kvOffset..kvOffset+T-1 of ${S} cache slots)`,
      kvOffset,
    );
  }
  if (typeof attrs.causal !== 'boolean')
    throw invalidArgument(KERNEL, 'attrs.causal', 'a boolean', attrs.causal);

  let validLengths: ArrayLike<number> | undefined;
  if (attrs.validLengths !== undefined) {
    validLengths = requireArrayLike(
      KERNEL,
      'attrs.validLengths',
      attrs.validLengths,
      B,
      'one per sequence (B)',
    );
    requireIntegers(KERNEL, 'attrs.validLengths', validLengths, B, 0, S);
  }
  const sequenceStarts = validateSequenceStarts(KERNEL, attrs.sequenceStarts, B, S);
  const scale =
    attrs.scale === undefined ? 1 / Math.sqrt(Dh) : requireFinite(KERNEL, 'attrs.scale', attrs.scale);
  const scoreBias = validateScoreBias(attrs.scoreBias, H, supportedBias);
  return {
    B,
    T,
    S,
    H,
    Hkv,
    Dh,
    kvOffset,
    causal: attrs.causal,
    validLengths,
    sequenceStarts,
    scale,
    scoreBias,
  };
}

function computeAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  scores: Float64Array,
  sum: Float64Array,
  buckets: Int32Array,
  plan: AttentionPlan,
): void {
  const { B, T, S, H, Hkv, Dh, kvOffset, causal, validLengths, sequenceStarts, scale, scoreBias } = plan;
  const G = H / Hkv;
  const qWidth = H * Dh;
  const kvWidth = Hkv * Dh;
  const slopes = scoreBias?.type === 'alibi' ? scoreBias.slopes : undefined;
  const t5 = scoreBias?.type === 't5' ? scoreBias : undefined;
  for (let b = 0; b < B; b++) {
    const visible = validLengths === undefined ? kvOffset + T : validLengths[b];
    const j0 = sequenceStarts === undefined ? 0 : sequenceStarts[b];
    for (let t = 0; t < T; t++) {
      const i = kvOffset + t;
      const L = causal ? Math.min(visible, i + 1) : visible;
      if (t5) {
        for (let j = j0; j < L; j++) {
          buckets[j] = t5RelativeBucket(j - i, t5.bidirectional, t5.numBuckets, t5.maxDistance);
        }
      }
      const qRow = (b * T + t) * qWidth;
      for (let h = 0; h < H; h++) {
        const qBase = qRow + h * Dh;
        const kvColumn = Math.floor(h / G) * Dh;

        let max = Number.NEGATIVE_INFINITY;
        for (let j = j0; j < L; j++) {
          const kBase = (b * S + j) * kvWidth + kvColumn;
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += q[qBase + d] * k[kBase + d];
          let score = dot * scale;
          if (slopes) score -= slopes[h] * Math.abs(i - j);
          else if (t5) score += t5.table[buckets[j] * H + h];
          scores[j] = score;
          if (score > max) max = score;
        }
        if (max === Number.NEGATIVE_INFINITY) {
          out.fill(0, qBase, qBase + Dh);
          continue;
        }

        let total = 0;
        for (let j = j0; j < L; j++) {
          scores[j] = Math.exp(scores[j] - max);
          total += scores[j];
        }
        sum.fill(0, 0, Dh);
        for (let j = j0; j < L; j++) {
          const weight = scores[j] / total;
          const vBase = (b * S + j) * kvWidth + kvColumn;
          for (let d = 0; d < Dh; d++) sum[d] += weight * v[vBase + d];
        }
        for (let d = 0; d < Dh; d++) out[qBase + d] = sum[d];
      }
    }
  }
}

/** Reference `attention` kernel. */
export function attention(
  context: KernelContext,
  inputs: KernelInputs<'attention'>,
  attrs: KernelAttrs<'attention'>,
  outHandle: TensorHandle,
): void {
  const q = resolveTensor(KERNEL, 'inputs.q', inputs.q, context.owner);
  const k = resolveTensor(KERNEL, 'inputs.k', inputs.k, context.owner);
  const v = resolveTensor(KERNEL, 'inputs.v', inputs.v, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateAttention({ q, k, v }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.q', q, true);
  requireNoOverlap(KERNEL, out, 'inputs.k', k, false);
  requireNoOverlap(KERNEL, out, 'inputs.v', v, false);
  const { scratch } = context;
  computeAttention(
    q.data as Float32Array,
    k.data as Float32Array,
    v.data as Float32Array,
    out.data as Float32Array,
    scratch.scores(plan.S),
    scratch.sums(plan.Dh),
    scratch.buckets(plan.S),
    plan,
  );
}
