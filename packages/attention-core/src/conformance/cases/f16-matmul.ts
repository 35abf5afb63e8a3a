/**
 * matmul with an f16 weight (half-precision bits, two per 32-bit word on backends that pack them)
 * against a float64 computation from the decoded halves. Cases run only on backends declaring f16
 * (skipped by capability otherwise).
 *
 * Every half is exactly a float32, so a backend decoding each weight exactly and summing in float32
 * meets the usual float32 dot-product bound, given per element as
 *
 *   |out - exact| <= (K + 2) * 2^-24 * (sum_k |x_k * w_k| + |bias|)   (+ f32Tolerance * max(1, |exact|))
 *
 * The hand cases choose values whose every product and partial sum is exact in float32, so they
 * pin the decoding itself: subnormal weights (times 2^24, so a flushed subnormal is off by at least
 * 1), ±0, the smallest normal and ±65504.
 */
import { floatToHalf, halfToFloat } from '../../backends/shared/quantized.js';
import { kernelCase, output, Random, tensor } from '../build.js';
import type { CaseTensor, ConformanceCase } from '../types.js';

/** An f16 case tensor from half-precision bit patterns. */
function halfTensor(shape: readonly number[], bits: ArrayLike<number>): CaseTensor {
  return { shape, data: Uint16Array.from(bits), dtype: 'f16' };
}

/** x of the hand cases: column 0 scales subnormal weights to integers. */
const HAND_X = [2 ** 24, 1, 1, -2, 0.5];

/** w `[7, 5]` of the hand cases, as bits; the comment gives each row's dot with {@link HAND_X}. */
const HAND_W = [
  [0x0001, 0x0000, 0x8000, 0x0000, 0x8000], // 2^-24 * 2^24 + 0 - 0 - 0 - 0 = 1
  [0x03ff, 0x7bff, 0xfbff, 0x3c00, 0x3c00], // 1023 + 65504 - 65504 - 2 + 0.5 = 1021.5
  [0x8001, 0x7bff, 0x7bff, 0x7800, 0x3800], // -1 + 65504 + 65504 - 65536 + 0.25 = 65471.25
  [0x0400, 0xc000, 0x3555, 0x3800, 0x0000], // 1024 - 2 + 1365/4096 - 1 + 0
  [0x0000, 0x0001, 0x8200, 0x0000, 0x0001], // 0 + 2^-24 - 2^-15 - 0 + 2^-25
  [0x8000, 0x5640, 0x3c00, 0xc000, 0x7800], // -0 + 100 + 1 + 4 + 16384 = 16489
  [0x83ff, 0x0000, 0x0000, 0x0000, 0x0000], // -1023
];

const HAND_DOTS = [1, 1021.5, 65471.25, 1021 + 1365 / 4096, 2 ** -24 - 2 ** -15 + 2 ** -25, 16489, -1023];

const HAND_BIAS = [0.5, -1, 0, 2, 0, -0.25, 1023];

function handCases(): ConformanceCase[] {
  const [N, K] = [HAND_W.length, HAND_X.length];
  const bias = tensor([N], HAND_BIAS);
  // K = 8 appends x = [0, 0, 4] and w = [65504, -65504, 0.25] (0 in row 4, whose dot is tiny), adding 1.
  const wide = HAND_W.map((row, n) => [...row, 0x7bff, 0xfbff, n === 4 ? 0 : 0x3400]);
  return [
    kernelCase('matmul', `f16 weight, hand: subnormals, ±0, ±65504 (M=1 K=${K} N=${N}, bias)`, {
      inputs: { x: tensor([1, K], HAND_X), w: halfTensor([N, K], HAND_W.flat()), bias },
      attrs: {},
      out: output([1, N]),
      expected: HAND_DOTS.map((dot, n) => dot + HAND_BIAS[n]),
    }),
    kernelCase('matmul', `f16 weight, hand: rows x and -x (M=2 K=${K} N=${N}, bias)`, {
      inputs: {
        x: tensor([2, K], [...HAND_X, ...HAND_X.map((v) => -v)]),
        w: halfTensor([N, K], HAND_W.flat()),
        bias,
      },
      attrs: {},
      out: output([2, N]),
      expected: [
        ...HAND_DOTS.map((dot, n) => dot + HAND_BIAS[n]),
        ...HAND_DOTS.map((dot, n) => -dot + HAND_BIAS[n]),
      ],
    }),
    kernelCase('matmul', `f16 weight, hand: K = 8, whole words per row (M=1 N=${N})`, {
      inputs: { x: tensor([1, 8], [...HAND_X, 0, 0, 4]), w: halfTensor([N, 8], wide.flat()) },
      attrs: {},
      out: output([1, N]),
      expected: HAND_DOTS.map((dot, n) => (n === 4 ? dot : dot + 1)),
    }),
  ];
}

/**
 * Random half bits: `model` rounds uniform values in [-1, 1) to f16 (weights as a model has them);
 * `any` draws any finite bit pattern (every exponent, subnormals, both zeros).
 */
function randomHalves(random: Random, count: number, kind: 'model' | 'any'): Uint16Array {
  const bits = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    if (kind === 'model') {
      bits[i] = floatToHalf(random.uniform(-1, 1));
    } else {
      const pattern = random.int(0, 0xffff);
      // exponent 31 (infinity, NaN) becomes 30
      bits[i] = (pattern & 0x7c00) === 0x7c00 ? pattern & ~0x0400 : pattern;
    }
  }
  return bits;
}

/** Float64 `x · decode(w)ᵀ + bias` and the float32 bound of the module comment, per element. */
function exactWithBound(
  x: Float32Array,
  w: Uint16Array,
  bias: Float32Array | undefined,
  M: number,
  K: number,
  N: number,
): { expected: number[]; errorBound: number[] } {
  const expected: number[] = [];
  const errorBound: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = bias?.[n] ?? 0;
      let magnitude = Math.abs(sum);
      for (let k = 0; k < K; k++) {
        const product = x[m * K + k] * halfToFloat(w[n * K + k]);
        sum += product;
        magnitude += Math.abs(product);
      }
      expected.push(sum);
      errorBound.push((K + 2) * 2 ** -24 * magnitude);
    }
  }
  return { expected, errorBound };
}

/** f16-weight matmul cases: hand-computed edges, then random shapes (odd K and N, M = 1 and M > 1). */
export function halfMatmulCases(): ConformanceCase[] {
  const cases = handCases();
  for (const [M, K, N, withBias, kind] of [
    [1, 7, 5, true, 'model'],
    [1, 64, 33, false, 'model'],
    [1, 258, 17, true, 'any'],
    [4, 13, 9, true, 'any'],
    [3, 64, 20, false, 'model'],
  ] as const) {
    const random = new Random(`matmul f16 ${M}x${K}x${N} ${kind}`);
    const x = random.tensor([M, K], -2, 2).data as Float32Array;
    const w = randomHalves(random, N * K, kind);
    const bias = withBias ? (random.tensor([N]).data as Float32Array) : undefined;
    cases.push(
      kernelCase(
        'matmul',
        `f16 weight (${kind} halves) M=${M} K=${K} N=${N}${withBias ? ' with bias' : ''}`,
        {
          inputs: {
            x: { shape: [M, K], data: x },
            w: { shape: [N, K], data: w, dtype: 'f16' },
            ...(bias ? { bias: { shape: [N], data: bias } } : {}),
          },
          attrs: {},
          out: output([M, N]),
          ...exactWithBound(x, w, bias, M, K, N),
        },
      ),
    );
  }
  return cases;
}
