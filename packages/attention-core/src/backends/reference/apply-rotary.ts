/**
 * applyRotary — rotary position embedding (RoPE): rotates pairs of each head's first R dimensions
 * by angles read from cos/sin tables indexed by absolute position.
 *
 * Legend:
 *   T       rows per sequence: the second-to-last dimension of x (1 when x is 1-D); row r of the
 *           flattened x sits at position p = positionOffset + (r mod T) - s0, so x may be [T, W] or [B, T, W]
 *   s0      sequenceStarts[floor(r / T)], 0 when absent: left padding of the row's sequence; rows with
 *           p < 0 are padding and are copied unchanged
 *   W       row width = H * Dh
 *   H, Dh   numHeads, headDim
 *   R       rotaryDim: even, 2 <= R <= Dh; dimensions R..Dh-1 of each head are copied unchanged
 *   P       rows of the tables; P >= positionOffset + T
 *   cos, sin  [P, R/2]: column i holds pair i's cos/sin of its angle at position p
 *   pairs   interleaved: (x[2i], x[2i+1]); half-split: (x[i], x[i + R/2])
 *   rotation  (a, b) -> (a cos - b sin, a sin + b cos)
 *   out     like x, may be x itself
 */
import {
  type KernelAttrs,
  type KernelInputs,
  mismatch,
  type RotaryLayout,
  type TensorHandle,
  UnsupportedError,
} from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  described,
  formatShape,
  invalidArgument,
  requireF32,
  requireInteger,
  requireNoOverlap,
  requireOneOf,
  requireRank,
  requireRows,
  resolveTensor,
  shapeMismatch,
  validateSequenceStarts,
} from './validate.js';

const KERNEL = 'applyRotary';

/** Every rotary layout. */
export const ROTARY_LAYOUTS: readonly RotaryLayout[] = ['interleaved', 'half-split'];

/** Dimensions of a validated rotary call. */
export interface ApplyRotaryPlan {
  readonly rows: number;
  readonly T: number;
  readonly H: number;
  readonly Dh: number;
  readonly R: number;
  readonly layout: RotaryLayout;
  readonly positionOffset: number;
  readonly sequenceStarts: ArrayLike<number> | undefined;
}

/**
 * Checks dtypes, shapes, attrs and table coverage; backend-independent. `supportedLayouts` lists
 * the layouts the calling backend implements; others are unsupported.
 */
export function validateApplyRotary(
  inputs: KernelInputs<'applyRotary'>,
  attrs: KernelAttrs<'applyRotary'>,
  out: TensorHandle,
  supportedLayouts: readonly RotaryLayout[] = ROTARY_LAYOUTS,
): ApplyRotaryPlan {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'inputs.cos', inputs.cos);
  requireF32(KERNEL, 'inputs.sin', inputs.sin);
  requireF32(KERNEL, 'out', out);
  const H = requireInteger(KERNEL, 'attrs.numHeads', attrs.numHeads, 1);
  const Dh = requireInteger(KERNEL, 'attrs.headDim', attrs.headDim, 1);
  const R = requireInteger(KERNEL, 'attrs.rotaryDim', attrs.rotaryDim, 2, Dh);
  if (R % 2 !== 0) throw invalidArgument(KERNEL, 'attrs.rotaryDim', 'an even number', R);
  const layout = requireOneOf(KERNEL, 'attrs.layout', attrs.layout, ROTARY_LAYOUTS);
  if (!supportedLayouts.includes(layout)) {
    throw new UnsupportedError(
      mismatch(
        'attrs.layout',
        KERNEL,
        `one of this backend's rotary layouts (${supportedLayouts.join(', ')})`,
        layout,
      ),
    );
  }
  const positionOffset = requireInteger(KERNEL, 'attrs.positionOffset', attrs.positionOffset, 0);

  const { rows, width } = asRows(KERNEL, 'inputs.x', inputs.x);
  if (width !== H * Dh) {
    throw shapeMismatch(KERNEL, 'inputs.x width', `numHeads * headDim = ${H} * ${Dh} = ${H * Dh}`, width);
  }
  const rank = inputs.x.shape.length;
  const T = rank >= 2 ? inputs.x.shape[rank - 2] : 1;
  requireRows(KERNEL, 'out', out, { rows, width });

  const [P, half] = requireRank(KERNEL, 'inputs.cos', inputs.cos, 2, '[P, rotaryDim / 2]');
  if (half !== R / 2)
    throw shapeMismatch(KERNEL, 'inputs.cos shape', `[P, ${R / 2}] (rotaryDim / 2)`, inputs.cos.shape);
  if (P < positionOffset + T) {
    throw shapeMismatch(
      KERNEL,
      'inputs.cos rows',
      `at least positionOffset + T = ${positionOffset} + ${T} = ${positionOffset + T} (one per position)`,
      described(`${P} (shape ${formatShape(inputs.cos.shape)})`),
    );
  }
  const sinShape = inputs.sin.shape;
  if (sinShape.length !== 2 || sinShape[0] !== P || sinShape[1] !== half) {
    throw shapeMismatch(
      KERNEL,
      'inputs.sin shape',
      `${formatShape(inputs.cos.shape)} (the shape of cos)`,
      sinShape,
    );
  }
  const sequenceStarts = validateSequenceStarts(
    KERNEL,
    attrs.sequenceStarts,
    T === 0 ? 0 : rows / T,
    positionOffset + T,
  );
  return { rows, T, H, Dh, R, layout, positionOffset, sequenceStarts };
}

function computeApplyRotary(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  out: Float32Array,
  { rows, T, H, Dh, R, layout, positionOffset, sequenceStarts }: ApplyRotaryPlan,
): void {
  const half = R / 2;
  const W = H * Dh;
  const interleaved = layout === 'interleaved';
  for (let r = 0; r < rows; r++) {
    const p =
      positionOffset + (r % T) - (sequenceStarts === undefined ? 0 : sequenceStarts[Math.floor(r / T)]);
    if (p < 0) {
      out.set(x.subarray(r * W, (r + 1) * W), r * W);
      continue;
    }
    const table = p * half;
    for (let h = 0; h < H; h++) {
      const base = r * W + h * Dh;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i];
        const s = sin[table + i];
        const first = interleaved ? base + 2 * i : base + i;
        const second = interleaved ? first + 1 : first + half;
        const a = x[first];
        const b = x[second];
        out[first] = a * c - b * s;
        out[second] = a * s + b * c;
      }
      for (let d = R; d < Dh; d++) out[base + d] = x[base + d];
    }
  }
}

/** Reference `applyRotary` kernel. */
export function applyRotary(
  context: KernelContext,
  inputs: KernelInputs<'applyRotary'>,
  attrs: KernelAttrs<'applyRotary'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const cos = resolveTensor(KERNEL, 'inputs.cos', inputs.cos, context.owner);
  const sin = resolveTensor(KERNEL, 'inputs.sin', inputs.sin, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const plan = validateApplyRotary({ x, cos, sin }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  requireNoOverlap(KERNEL, out, 'inputs.cos', cos, false);
  requireNoOverlap(KERNEL, out, 'inputs.sin', sin, false);
  computeApplyRotary(
    x.data as Float32Array,
    cos.data as Float32Array,
    sin.data as Float32Array,
    out.data as Float32Array,
    plan,
  );
}
