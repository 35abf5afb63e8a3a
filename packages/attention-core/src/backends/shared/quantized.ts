/**
 * GGUF block quantization (llama.cpp `ggml-quants.c` reference layouts), shared by the backends and
 * by loaders that quantise or dequantise weights. 32 values per block:
 *
 * - `q8_0`: 34 bytes: f16 scale `d` (little-endian), then 32 int8 `q`; value = `q * d`.
 * - `q4_0`: 18 bytes: f16 scale `d`, then 16 bytes of nibbles: byte `i` holds element `i` in its low
 *   nibble and element `i + 16` in its high nibble; value = `(nibble - 8) * d`.
 *
 * Every dequantised value `q * d` is exact in float32 (an 11-bit significand times at most 8 bits),
 * so dequantise-then-f32 and dequantise-on-the-fly compute with identical weights.
 */
import { InvalidArgumentError, QUANT_BLOCK_BYTES, QUANT_BLOCK_SIZE } from '@rotor/core';

/** The block-quantized dtypes. */
export type QuantizedDType = 'q8_0' | 'q4_0';

/** Every block-quantized dtype, in a stable order. */
export const QUANTIZED_DTYPES: readonly QuantizedDType[] = Object.freeze(['q8_0', 'q4_0'] as const);

/** True for `q8_0` and `q4_0`. */
export function isQuantized(dtype: unknown): dtype is QuantizedDType {
  return dtype === 'q8_0' || dtype === 'q4_0';
}

/** IEEE half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** A number to IEEE half-precision bits, rounded to nearest even (as float32 first, as ggml does). */
export function floatToHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && half & 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** Bytes that hold `count` values (a multiple of 32) of `dtype`. */
export function quantizedBytes(dtype: QuantizedDType, count: number): number {
  return (count / QUANT_BLOCK_SIZE) * QUANT_BLOCK_BYTES[dtype];
}

function requireBlocks(where: string, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count % QUANT_BLOCK_SIZE !== 0) {
    throw new InvalidArgumentError(
      `${where}: value count: expected a multiple of ${QUANT_BLOCK_SIZE} (whole blocks), found ${count}`,
    );
  }
}

/**
 * Quantises `values` (length a multiple of 32) into GGUF blocks of `dtype`, exactly as llama.cpp's
 * reference `quantize_row_q8_0` / `quantize_row_q4_0` do: q8_0 scales each block by `max|x| / 127`;
 * q4_0 by `m / -8` where `m` is the block's value of largest magnitude (sign kept), rounding
 * `x / d + 8.5` down and clamping to 15. Non-finite values are an `InvalidArgumentError`.
 */
export function quantizeBlocks(values: Float32Array, dtype: QuantizedDType): Uint8Array {
  const where = `quantize ${dtype}`;
  requireBlocks(where, values.length);
  const out = new Uint8Array(quantizedBytes(dtype, values.length));
  const blockBytes = QUANT_BLOCK_BYTES[dtype];
  for (let b = 0; b * QUANT_BLOCK_SIZE < values.length; b++) {
    const first = b * QUANT_BLOCK_SIZE;
    const at = b * blockBytes;
    let amax = 0;
    let max = 0;
    for (let i = 0; i < QUANT_BLOCK_SIZE; i++) {
      const v = values[first + i];
      if (!Number.isFinite(v)) {
        throw new InvalidArgumentError(
          `${where}: values[${first + i}]: expected a finite number, found ${v}`,
        );
      }
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    // float32 arithmetic throughout, as the C reference
    const d = Math.fround(dtype === 'q8_0' ? amax / 127 : max / -8);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    const bits = floatToHalf(d);
    if ((bits & 0x7c00) === 0x7c00) {
      throw new InvalidArgumentError(
        `${where}: block ${b}: expected a scale within float16 range, found ${d} (values up to ${amax})`,
      );
    }
    out[at] = bits & 0xff;
    out[at + 1] = bits >> 8;
    if (dtype === 'q8_0') {
      for (let i = 0; i < QUANT_BLOCK_SIZE; i++) {
        const scaled = Math.fround(values[first + i] * id);
        // C roundf: halves away from zero
        out[at + 2 + i] = (Math.sign(scaled) * Math.round(Math.abs(scaled))) & 0xff;
      }
    } else {
      for (let i = 0; i < 16; i++) {
        const low = Math.min(15, Math.trunc(Math.fround(Math.fround(values[first + i] * id) + 8.5)));
        const high = Math.min(15, Math.trunc(Math.fround(Math.fround(values[first + 16 + i] * id) + 8.5)));
        out[at + 2 + i] = low | (high << 4);
      }
    }
  }
  return out;
}

/**
 * Dequantises `count` values (a multiple of 32) of GGUF blocks of `dtype` into `target` (a new
 * Float32Array when absent).
 */
export function dequantizeBlocks(
  bytes: Uint8Array,
  dtype: QuantizedDType,
  count: number,
  target: Float32Array = new Float32Array(count),
): Float32Array {
  const where = `dequantize ${dtype}`;
  requireBlocks(where, count);
  if (bytes.length < quantizedBytes(dtype, count) || target.length < count) {
    throw new InvalidArgumentError(
      `${where}: expected ${quantizedBytes(dtype, count)} bytes and room for ${count} values, found ${bytes.length} bytes and ${target.length}`,
    );
  }
  const blockBytes = QUANT_BLOCK_BYTES[dtype];
  for (let b = 0; b * QUANT_BLOCK_SIZE < count; b++) {
    const at = b * blockBytes;
    const first = b * QUANT_BLOCK_SIZE;
    const d = halfToFloat(bytes[at] | (bytes[at + 1] << 8));
    if (dtype === 'q8_0') {
      for (let i = 0; i < QUANT_BLOCK_SIZE; i++) target[first + i] = d * ((bytes[at + 2 + i] << 24) >> 24);
    } else {
      for (let i = 0; i < 16; i++) {
        const byte = bytes[at + 2 + i];
        target[first + i] = d * ((byte & 0x0f) - 8);
        target[first + 16 + i] = d * ((byte >> 4) - 8);
      }
    }
  }
  return target;
}

/**
 * Index of the first block of `bytes` whose f16 scale is infinite or NaN, or -1. Backends reject
 * such blocks at upload: they can only come from a corrupt file and would poison every output.
 */
export function firstNonFiniteScale(bytes: Uint8Array, dtype: QuantizedDType): number {
  const blockBytes = QUANT_BLOCK_BYTES[dtype];
  for (let at = 0, b = 0; at + 1 < bytes.length; at += blockBytes, b++) {
    if ((bytes[at + 1] & 0x7c) === 0x7c) return b;
  }
  return -1;
}
