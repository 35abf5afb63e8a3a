/**
 * Tables for plotting what a strategy does to positions `0..count-1` (heat maps and the like).
 */
import type { PositionalEncoding } from '@rotor/core';
import { scoreBiasAt, scoreBiasHeads } from './score-bias.js';
import { checkWindow, fieldError } from './validation.js';

/** A row-major `[positions, dims]` table. */
export interface PositionTable {
  /** Rows: positions `0..positions-1` (distances for score biases). */
  readonly positions: number;
  /** Columns. */
  readonly dims: number;
  /** `positions * dims` values, row-major. */
  readonly values: Float32Array;
}

/** What {@link encodingMatrix} shows, from the strategy's first hook in the order below. */
export type EncodingMatrixKind = 'additive' | 'rotary' | 'score-bias' | 'none';

/** The table {@link encodingMatrix} returns. */
export interface EncodingMatrix extends PositionTable {
  readonly kind: EncodingMatrixKind;
}

/** A strategy that can report its exact rotation angles (the builtin `rope` can). */
export interface RotaryAngleSource {
  /** Angles in radians, `[count, rotaryDim / 2]`, for positions `[start, start + count)`. */
  rotaryAngles(start: number, count: number): Float32Array;
}

function hasAngles(encoding: PositionalEncoding): encoding is PositionalEncoding & RotaryAngleSource {
  return typeof (encoding as Partial<RotaryAngleSource>).rotaryAngles === 'function';
}

function checkCount(encoding: PositionalEncoding, count: number, width: number): void {
  checkWindow(encoding.type, 0, count, encoding.maxPositions, width);
}

/**
 * A picture of the encoding for positions `0..count-1`, by the first hook the strategy uses:
 * - `additive`: the added table itself, `[count, modelDim]`;
 * - `rotary`: the rotation of the unit vector `(1, 0)` of every pair, i.e. column `2i` holds
 *   `cos(angle_i)` and `2i + 1` holds `sin(angle_i)`, `[count, rotaryDim]`, whatever the memory
 *   layout (without YaRN's attention factor);
 * - `score-bias`: the bias between a query and a key `r = 0..count-1` positions earlier,
 *   `[count, numHeads]` (row `r`, column head `h`);
 * - `none`: an empty `[count, 0]` table.
 */
export function encodingMatrix(encoding: PositionalEncoding, count: number): EncodingMatrix {
  if (encoding.hooks.additive && encoding.additive) {
    checkCount(encoding, count, 1);
    const values = Float32Array.from(encoding.additive(0, count));
    return { kind: 'additive', positions: count, dims: count === 0 ? 0 : values.length / count, values };
  }
  if (encoding.hooks.rotary && encoding.rotary) {
    checkCount(encoding, count, 1);
    const tables = encoding.rotary(0, count);
    const half = tables.rotaryDim / 2;
    const values = new Float32Array(count * tables.rotaryDim);
    for (let row = 0; row < count; row++) {
      for (let i = 0; i < half; i++) {
        values[row * tables.rotaryDim + 2 * i] = tables.cos[row * half + i];
        values[row * tables.rotaryDim + 2 * i + 1] = tables.sin[row * half + i];
      }
    }
    return { kind: 'rotary', positions: count, dims: tables.rotaryDim, values };
  }
  if (encoding.hooks.scoreBias && encoding.scoreBias) {
    const descriptor = encoding.scoreBias();
    const heads = scoreBiasHeads(descriptor);
    checkCount(encoding, count, heads);
    const values = new Float32Array(count * heads);
    for (let distance = 0; distance < count; distance++) {
      for (let head = 0; head < heads; head++) {
        values[distance * heads + head] = scoreBiasAt(descriptor, head, distance, 0);
      }
    }
    return { kind: 'score-bias', positions: count, dims: heads, values };
  }
  checkCount(encoding, count, 0);
  return { kind: 'none', positions: count, dims: 0, values: new Float32Array(0) };
}

/**
 * Rotation angles in radians for positions `0..count-1`, `[count, rotaryDim / 2]`. The builtin
 * `rope` reports its exact float32 angles (`fround(pos * invFreq[i])`, growing without bound);
 * other rotary strategies are read back as `atan2(sin, cos)`, wrapped into `(-π, π]`.
 */
export function rotaryAngles(encoding: PositionalEncoding, count: number): PositionTable {
  if (!encoding.hooks.rotary || !encoding.rotary) {
    throw fieldError('rotaryAngles', 'encoding', 'a strategy with the rotary hook', encoding.type);
  }
  checkCount(encoding, count, 1);
  const tables = encoding.rotary(0, count);
  const dims = tables.rotaryDim / 2;
  if (hasAngles(encoding)) return { positions: count, dims, values: encoding.rotaryAngles(0, count) };
  const values = new Float32Array(count * dims);
  for (let k = 0; k < values.length; k++) values[k] = Math.atan2(tables.sin[k], tables.cos[k]);
  return { positions: count, dims, values };
}
