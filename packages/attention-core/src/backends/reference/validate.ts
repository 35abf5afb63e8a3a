/**
 * Validation shared by the reference backend's kernels and memory functions. Every failure is a
 * typed error whose message starts with the kernel (or method) name, then says what was wrong,
 * expected vs found (core `mismatch`).
 */
import type { Shape, TensorHandle } from '@rotor/core';
import { resolveOwned } from '../shared/memory-checks.js';
import {
  described,
  formatShape,
  invalidArgument,
  requireInteger,
  shapeMismatch,
} from '../shared/messages.js';
import { REFERENCE_BACKEND_NAME, ReferenceTensor } from './reference-tensor.js';

export { requireNoOverlap } from '../shared/memory-checks.js';
export {
  described,
  formatShape,
  invalidArgument,
  requireInteger,
  shapeMismatch,
} from '../shared/messages.js';

/**
 * The {@link ReferenceTensor} behind `handle`, checked to be a live tensor made by `owner`.
 * A look-alike object, a handle of another backend (even one with the same name) and a disposed
 * tensor are all rejected.
 */
export function resolveTensor(where: string, what: string, handle: unknown, owner: object): ReferenceTensor {
  return resolveOwned(where, what, handle, owner, ReferenceTensor, REFERENCE_BACKEND_NAME);
}

/** Requires an f32 tensor (every reference kernel computes in f32). */
export function requireF32(where: string, what: string, tensor: TensorHandle): void {
  if (tensor.dtype !== 'f32') throw invalidArgument(where, `${what} dtype`, 'f32', tensor.dtype);
}

/** A tensor seen as 2-D: leading dimensions flattened into rows, the last one is the width. */
export interface Rows {
  readonly rows: number;
  readonly width: number;
}

/** `tensor` as `[rows, width]`; rank 0 is rejected. */
export function asRows(where: string, what: string, tensor: TensorHandle): Rows {
  const rank = tensor.shape.length;
  if (rank === 0) throw shapeMismatch(where, `${what} shape`, 'rank >= 1', described('[] (a scalar)'));
  let rows = 1;
  for (let i = 0; i < rank - 1; i++) rows *= tensor.shape[i];
  return { rows, width: tensor.shape[rank - 1] };
}

/** Requires `tensor` to flatten to `[rows, width]`; `label` says where those come from. */
export function requireRows(
  where: string,
  what: string,
  tensor: TensorHandle,
  expected: Rows,
  label = 'the same rows and width as the input',
): Rows {
  const found = asRows(where, what, tensor);
  if (found.rows !== expected.rows || found.width !== expected.width) {
    throw shapeMismatch(
      where,
      `${what} shape`,
      `${expected.rows} rows of width ${expected.width} (${label})`,
      described(`${formatShape(tensor.shape)} = ${found.rows} rows of width ${found.width}`),
    );
  }
  return found;
}

/** Requires `tensor` to have exactly the shape `[length]`. */
export function requireVector(
  where: string,
  what: string,
  tensor: TensorHandle,
  length: number,
  label: string,
): void {
  if (tensor.shape.length !== 1 || tensor.shape[0] !== length) {
    throw shapeMismatch(where, `${what} shape`, `[${length}] (${label})`, tensor.shape);
  }
}

/** Requires `tensor` to have rank `rank`, returning its shape. */
export function requireRank(
  where: string,
  what: string,
  tensor: TensorHandle,
  rank: number,
  layout: string,
): Shape {
  if (tensor.shape.length !== rank) {
    throw shapeMismatch(where, `${what} shape`, `rank ${rank} ${layout}`, tensor.shape);
  }
  return tensor.shape;
}

/** Requires a finite number `>= min`. */
export function requireFinite(where: string, what: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidArgument(
      where,
      what,
      min === -Infinity ? 'a finite number' : `a finite number >= ${min}`,
      value,
    );
  }
  return value;
}

/** Requires one of `allowed` (string attrs such as a layout). */
export function requireOneOf<T extends string>(
  where: string,
  what: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(where, what, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
  return value as T;
}

/** Requires an array-like of numbers (an attr such as `ids` or `validLengths`) of a given length. */
export function requireArrayLike(
  where: string,
  what: string,
  value: unknown,
  length: number,
  label: string,
): ArrayLike<number> {
  const found = value as { length?: unknown } | null | undefined;
  if (found === null || typeof found !== 'object' || typeof found.length !== 'number') {
    throw invalidArgument(where, what, `an array of ${length} numbers (${label})`, value);
  }
  if (found.length !== length) {
    throw invalidArgument(where, `${what}.length`, `${length} (${label})`, found.length);
  }
  return value as ArrayLike<number>;
}

/**
 * Requires `values[0..count)` to be integers in `[min, max]`; the element's name `what[i]` is
 * formatted only for the error, so a passing call builds no strings.
 */
export function requireIntegers(
  where: string,
  what: string,
  values: ArrayLike<number>,
  count: number,
  min: number,
  max: number,
): void {
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      requireInteger(where, `${what}[${i}]`, value, min, max);
    }
  }
}

/** Requires `values[0..count)` to be finite numbers, naming a bad one `what[i]` (built only then). */
export function requireFinites(where: string, what: string, values: ArrayLike<number>, count: number): void {
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) requireFinite(where, `${what}[${i}]`, value);
  }
}

/**
 * Checks optional `attrs.sequenceStarts` (left padding per sequence): `B` integers in `[0, limit]`.
 * Shared by attention and applyRotary, whose contracts use the same attr.
 */
export function validateSequenceStarts(
  where: string,
  value: unknown,
  B: number,
  limit: number,
): ArrayLike<number> | undefined {
  if (value === undefined) return undefined;
  const starts = requireArrayLike(where, 'attrs.sequenceStarts', value, B, 'one per sequence (B)');
  requireIntegers(where, 'attrs.sequenceStarts', starts, B, 0, limit);
  return starts;
}

/** Dimensions of an element-wise binary kernel (add, mul). */
export interface BinaryPlan {
  readonly M: number;
  readonly N: number;
  /** True when b is `[N]`, repeated for every row of a. */
  readonly broadcast: boolean;
}

/** Checks `a: [M, N]`, `b: [M, N]` or `[N]`, `out: [M, N]` of an element-wise binary kernel. */
export function validateBinary(
  where: string,
  a: TensorHandle,
  b: TensorHandle,
  out: TensorHandle,
): BinaryPlan {
  requireF32(where, 'inputs.a', a);
  requireF32(where, 'inputs.b', b);
  requireF32(where, 'out', out);
  const { rows: M, width: N } = asRows(where, 'inputs.a', a);
  const bRows = asRows(where, 'inputs.b', b);
  let broadcast = false;
  if (bRows.rows !== M || bRows.width !== N) {
    if (b.shape.length !== 1 || b.shape[0] !== N) {
      throw shapeMismatch(
        where,
        'inputs.b shape',
        `${M} rows of width ${N} (like a) or [${N}] (broadcast over rows)`,
        b.shape,
      );
    }
    broadcast = true;
  }
  requireRows(where, 'out', out, { rows: M, width: N }, 'the shape of a');
  return { M, N, broadcast };
}
