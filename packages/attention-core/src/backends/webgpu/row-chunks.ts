/**
 * Splitting a tensor of whole rows (a matmul weight, an embedding table) into ranges that each fit
 * one storage binding, so a kernel binds one range per dispatch instead of rejecting the tensor.
 */
import { mismatch, UnsupportedError } from '@rotor/core';
import type { BindingRange } from './engine.js';

/** Rows `first .. first + rows - 1` of a tensor and the bytes bound for them (undefined: the whole tensor). */
export interface RowChunk {
  readonly first: number;
  readonly rows: number;
  readonly range: BindingRange | undefined;
}

/** Which tensor is split, for error messages. */
export interface SplitTensor {
  /** Kernel name (`matmul`). */
  readonly kernel: string;
  /** The tensor's argument (`inputs.w`). */
  readonly name: string;
  /** Its rows. */
  readonly rows: number;
  /** Bytes of one row. */
  readonly bytesPerRow: number;
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/**
 * Splits a tensor's rows so each range fits one storage binding of `maxBindingBytes` (bytes rounded
 * up to whole words, as bindings are) and starts at an offset that is a multiple of the device's
 * `minStorageBufferOffsetAlignment`; every range but the last has the same number of rows. One
 * chunk, binding the whole tensor, when it fits. Throws `UnsupportedError` when the fewest rows
 * that keep offsets aligned do not fit one binding.
 */
export function rowChunks(tensor: SplitTensor, maxBindingBytes: number, offsetAlignment: number): RowChunk[] {
  const { rows: total, bytesPerRow } = tensor;
  if (total * bytesPerRow <= maxBindingBytes) return [{ first: 0, rows: total, range: undefined }];
  const rowsPerStep = offsetAlignment / greatestCommonDivisor(bytesPerRow, offsetAlignment);
  // A range's bytes are rounded up to whole words, which must still fit.
  const wholeWords = maxBindingBytes - (maxBindingBytes % 4);
  const rowsPerChunk = Math.floor(wholeWords / bytesPerRow / rowsPerStep) * rowsPerStep;
  if (rowsPerChunk === 0) {
    throw new UnsupportedError(
      mismatch(
        `${tensor.name} row size`,
        `webgpu ${tensor.kernel}`,
        `${rowsPerStep} rows (${rowsPerStep * bytesPerRow} bytes, the fewest that keep a binding offset a multiple of ${offsetAlignment}) within one storage binding of ${maxBindingBytes} bytes`,
        `${bytesPerRow} bytes per row`,
      ),
    );
  }
  const chunks: RowChunk[] = [];
  for (let first = 0; first < total; first += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, total - first);
    chunks.push({
      first,
      rows,
      range: { offset: first * bytesPerRow, bytes: Math.ceil((rows * bytesPerRow) / 4) * 4 },
    });
  }
  return chunks;
}
