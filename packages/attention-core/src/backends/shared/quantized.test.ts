import { InvalidArgumentError, ShapeError, UnsupportedError } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { MemoryChecks } from './memory-checks.js';
import { dequantizeBlocks, floatToHalf, halfToFloat, quantizeBlocks } from './quantized.js';

describe('float16 conversion', () => {
  it('round-trips every finite half exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      expect(floatToHalf(halfToFloat(bits))).toBe(bits);
    }
  });

  it('rounds to nearest even, overflows to infinity, flushes below the smallest subnormal', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(2 ** -26)).toBe(0);
    expect(floatToHalf(3 * 2 ** -26)).toBe(0x0001);
    expect(floatToHalf(-0)).toBe(0x8000);
  });
});

describe('block quantization', () => {
  it('q8_0 reconstructs within half a step, q4_0 within one (its [-8, 7] range clamps one end)', () => {
    fc.assert(
      fc.property(
        fc.float32Array({
          minLength: 64,
          maxLength: 64,
          noNaN: true,
          noDefaultInfinity: true,
          min: -100,
          max: 100,
        }),
        (values) => {
          for (const dtype of ['q8_0', 'q4_0'] as const) {
            const bytes = quantizeBlocks(values, dtype);
            const back = dequantizeBlocks(bytes, dtype, values.length);
            for (let b = 0; b < 2; b++) {
              const block = values.subarray(b * 32, b * 32 + 32);
              const amax = Math.max(...Array.from(block, Math.abs));
              const step = dtype === 'q8_0' ? amax / 127 : amax / 8;
              for (let i = 0; i < 32; i++) {
                // f16 rounding of the scale adds up to 2^-11 relative, or half a subnormal ulp (2^-25)
                // per unit of q: up to 128 units (2^-18) when a tiny scale rounds to zero
                expect(Math.abs(back[b * 32 + i] - block[i])).toBeLessThanOrEqual(
                  step * (dtype === 'q8_0' ? 0.5 : 1) + amax * 2 ** -10 + 2 ** -18,
                );
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('matches llama.cpp on a known block (roundf halves away from zero, q4_0 clamps at 15)', () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 2);
    const q8 = quantizeBlocks(values, 'q8_0');
    expect(halfToFloat(q8[0] | (q8[1] << 8))).toBeCloseTo(8 / 127, 4);
    expect((q8[2] << 24) >> 24).toBe(-127);
    const q4 = quantizeBlocks(values, 'q4_0');
    expect(halfToFloat(q4[0] | (q4[1] << 8))).toBe(1);
    expect(q4[2] & 0x0f).toBe(0);
    expect(q4[2 + 15] >> 4).toBe(15);
  });

  it('rejects partial blocks and non-finite values', () => {
    expect(() => quantizeBlocks(new Float32Array(33), 'q8_0')).toThrow(InvalidArgumentError);
    expect(() => quantizeBlocks(new Float32Array(32).fill(Number.NaN), 'q4_0')).toThrow(/finite/);
    expect(() => dequantizeBlocks(new Uint8Array(10), 'q8_0', 32)).toThrow(InvalidArgumentError);
  });
});

describe('reference backend with quantized weights', () => {
  it('matmul over q8_0/q4_0 is bit-identical to dequantise-then-f32 matmul', async () => {
    const backend = createReferenceBackend();
    const M = 3;
    const K = 64;
    const N = 5;
    const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.7));
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.3) * 0.2);
    for (const dtype of ['q8_0', 'q4_0'] as const) {
      const bytes = quantizeBlocks(w, dtype);
      const xs = backend.upload(x, [M, K]);
      const quantized = backend.upload(bytes, [N, K], dtype);
      const plain = backend.upload(dequantizeBlocks(bytes, dtype, N * K), [N, K]);
      const a = backend.allocate([M, N]);
      const b = backend.allocate([M, N]);
      backend.run('matmul', { x: xs, w: quantized }, {}, a);
      backend.run('matmul', { x: xs, w: plain }, {}, b);
      expect(Array.from(await backend.read(a))).toEqual(Array.from(await backend.read(b)));
      // a view of whole rows shares the blocks
      const rows = backend.view(quantized, [2, K]);
      const c = backend.allocate([M, 2]);
      backend.run('matmul', { x: xs, w: rows }, {}, c);
      const full = await backend.read(a);
      expect(Array.from(await backend.read(c))).toEqual(
        [0, 1, 2].flatMap((m) => [full[m * N], full[m * N + 1]]),
      );
    }
  });

  it('validates quantized uploads: byte length, whole-block rows, Uint8Array data, finite scales', async () => {
    const backend = createReferenceBackend();
    expect(() => backend.upload(new Uint8Array(33), [32], 'q8_0')).toThrow(ShapeError);
    expect(() => backend.upload(new Uint8Array(34), [2, 16], 'q8_0')).toThrow(/multiple of 32/);
    expect(() => backend.upload(new Float32Array(32) as never, [32], 'q4_0')).toThrow(/Uint8Array/);
    const corrupt = new Uint8Array(18);
    corrupt[1] = 0x7c;
    expect(() => backend.upload(corrupt, [32], 'q4_0')).toThrow(/block 0 scale: expected a finite float16/);
    const zeros = backend.allocate([2, 32], 'q4_0');
    expect(() => backend.write(zeros, new Float32Array(1))).toThrow(/tensor dtype: expected f32 or i32/);
    await expect(backend.read(zeros)).rejects.toThrow(InvalidArgumentError);
    const blocksOnly = new MemoryChecks('blocks-only', { maxTensorBytes: 1024, dtypes: ['f32', 'q8_0'] });
    expect(() => blocksOnly.allocate([32], 'f16')).toThrow(UnsupportedError);
    expect(() => blocksOnly.allocate([32], 'f16')).toThrow(
      "blocks-only allocate: dtype: expected one of f32, q8_0 (this backend's dtypes), found f16",
    );
  });
});
