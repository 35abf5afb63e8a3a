/**
 * Float decoding shared by the loaders: little-endian f32, IEEE half (f16) and bfloat16 bytes to
 * an aligned Float32Array.
 */

/**
 * `count` little-endian float32 values starting at `bytes[0]`: a view into the same memory when
 * it is 4-byte aligned (so loading a float32 file costs no second copy), a copy otherwise.
 */
export function decodeF32(bytes: Uint8Array, count: number): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
  return out;
}

/** IEEE 754 half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Decodes `count` little-endian f16 values. */
export function decodeF16(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  return out;
}

/** Decodes `count` little-endian bfloat16 values (the high half of a float32). */
export function decodeBf16(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
  return out;
}
