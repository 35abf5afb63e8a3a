/**
 * matmul with a block-quantized weight (q8_0, q4_0 GGUF blocks) against dequantise-then-matmul in
 * float64. Cases run only on backends declaring the dtype (skipped by capability otherwise).
 *
 * The documented bound: a backend may quantise each 32-value block of x to int8 with a scale of
 * `max|x_b| / 127` (round to nearest, as llama.cpp's Q8_0 × Q8_0 dot does), so for output `(m, n)`
 *
 *   |out - exact| <= (1 + 1e-5) * sum_b |d_b| * (max|x_b| / 254) * sum_{i in b} |q_i|   (activation rounding)
 *                  + (K/32 + 8) * 2^-24 * sum_k |x_k * w_k|                            (float32 scaling and sums)
 *                  + f32Tolerance * max(1, |exact|)
 *
 * where `d_b` and `q_i` are the weight block's scale and integer values. A backend that dequantises
 * to f32 instead meets it with the f32 error alone.
 */
import { QUANT_BLOCK_BYTES, QUANT_BLOCK_SIZE } from '@rotor/core';
import {
  dequantizeBlocks,
  floatToHalf,
  halfToFloat,
  type QuantizedDType,
} from '../../backends/shared/quantized.js';
import { kernelCase, output, Random } from '../build.js';
import type { CaseTensor, ConformanceCase } from '../types.js';

/** Integer value `i` (0..31) of a block at byte offset `at`. */
function blockValue(bytes: Uint8Array, dtype: QuantizedDType, at: number, i: number): number {
  if (dtype === 'q8_0') return (bytes[at + 2 + i] << 24) >> 24;
  const byte = bytes[at + 2 + (i % 16)];
  return (i < 16 ? byte & 0x0f : byte >> 4) - 8;
}

/**
 * The per-element bound of the module comment for `out = x · wᵀ` with x `[M, K]` f32 and w `[N, K]`
 * quantized (bias adds no error). Exported for backends' own tests.
 */
export function quantizedMatmulBound(
  x: Float32Array,
  w: Uint8Array,
  dtype: QuantizedDType,
  M: number,
  K: number,
  N: number,
): Float64Array {
  const blocks = K / QUANT_BLOCK_SIZE;
  const blockBytes = QUANT_BLOCK_BYTES[dtype];
  const weights = dequantizeBlocks(w, dtype, N * K);
  const bound = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let rounding = 0;
      let magnitude = 0;
      for (let b = 0; b < blocks; b++) {
        const at = (n * blocks + b) * blockBytes;
        let amax = 0;
        let integers = 0;
        for (let i = 0; i < QUANT_BLOCK_SIZE; i++) {
          const k = b * QUANT_BLOCK_SIZE + i;
          amax = Math.max(amax, Math.abs(x[m * K + k]));
          integers += Math.abs(blockValue(w, dtype, at, i));
          magnitude += Math.abs(x[m * K + k] * weights[n * K + k]);
        }
        const scale = Math.abs(halfToFloat(w[at] | (w[at + 1] << 8)));
        rounding += scale * (amax / 254) * integers;
      }
      bound[m * N + n] = rounding * (1 + 1e-5) + (blocks + 8) * 2 ** -24 * magnitude;
    }
  }
  return bound;
}

/** f16 scales that exercise the edges: zero, negative zero, negatives, subnormals, the largest. */
const SPECIAL_SCALES = [0, -0, -0.0625, 6.1e-5, 3e-7, -5.96e-8, 1 / 127, -1 / 7, 0.5, 2];

/**
 * Random GGUF blocks for an `[N, K]` weight. Block `b` of the whole tensor takes scale
 * `SPECIAL_SCALES[b]` while they last (then random ones of both signs), and its integers cycle
 * through every value the dtype can hold (all 256 int8, all 16 nibbles) from a random start.
 */
function randomBlocks(random: Random, dtype: QuantizedDType, N: number, K: number): Uint8Array {
  const blockBytes = QUANT_BLOCK_BYTES[dtype];
  const count = (N * K) / QUANT_BLOCK_SIZE;
  const bytes = new Uint8Array(count * blockBytes);
  for (let b = 0; b < count; b++) {
    const at = b * blockBytes;
    const scale = b < SPECIAL_SCALES.length ? SPECIAL_SCALES[b] : random.uniform(-0.05, 0.05);
    const bits = floatToHalf(scale);
    bytes[at] = bits & 0xff;
    bytes[at + 1] = bits >> 8;
    const start = random.int(0, 255);
    if (dtype === 'q8_0') {
      for (let i = 0; i < QUANT_BLOCK_SIZE; i++) bytes[at + 2 + i] = (start + i * 8 + b) & 0xff;
    } else {
      for (let i = 0; i < 16; i++)
        bytes[at + 2 + i] = ((start + i) & 0x0f) | (((start + 2 * i + 5) & 0x0f) << 4);
    }
  }
  return bytes;
}

/** float64 `x · dequantise(w)ᵀ + bias`. */
function exactProduct(
  x: Float32Array,
  weights: Float32Array,
  bias: Float32Array | undefined,
  M: number,
  K: number,
  N: number,
): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = bias?.[n] ?? 0;
      for (let k = 0; k < K; k++) sum += x[m * K + k] * weights[n * K + k];
      out.push(sum);
    }
  }
  return out;
}

/** Quantized-weight matmul cases for both dtypes. */
export function quantizedMatmulCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const dtype of ['q8_0', 'q4_0'] as const) {
    for (const [M, K, N, withBias] of [
      [1, 32, 7, false],
      [1, 256, 33, true],
      [3, 64, 13, false],
      [6, 96, 9, true],
      [1, 128, 65, false],
    ] as const) {
      const random = new Random(`matmul ${dtype} ${M}x${K}x${N}`);
      const x = random.tensor([M, K], -2, 2).data as Float32Array;
      // one all-zero block of x and one block of tiny values (activation scale 0 and subnormal-ish)
      if (K >= 64) {
        x.fill(0, 0, QUANT_BLOCK_SIZE);
        for (let k = QUANT_BLOCK_SIZE; k < 2 * QUANT_BLOCK_SIZE; k++) x[k] *= 1e-30;
      }
      const w = randomBlocks(random, dtype, N, K);
      const bias = withBias ? (random.tensor([N]).data as Float32Array) : undefined;
      const weights: CaseTensor = { shape: [N, K], data: w, dtype };
      cases.push(
        kernelCase('matmul', `${dtype} weight M=${M} K=${K} N=${N}${withBias ? ' with bias' : ''}`, {
          inputs: {
            x: { shape: [M, K], data: x },
            w: weights,
            ...(bias ? { bias: { shape: [N], data: bias } } : {}),
          },
          attrs: {},
          out: output([M, N]),
          expected: exactProduct(x, dequantizeBlocks(w, dtype, N * K), bias, M, K, N),
          errorBound: quantizedMatmulBound(x, w, dtype, M, K, N),
        }),
      );
    }
  }
  return cases;
}
