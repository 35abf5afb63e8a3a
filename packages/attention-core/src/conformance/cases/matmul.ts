import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';
import { halfMatmulCases } from './f16-matmul.js';
import { quantizedMatmulCases } from './quantized-matmul.js';

/** matmul: `out[m, n] = sum_k x[m, k] * w[n, k] + bias[n]`, weight `[N, K]`. */
export function matmulCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [
    kernelCase('matmul', '2x3 by w [2, 3] plus bias', {
      inputs: {
        x: tensor([2, 3], [1, 2, 3, 4, 5, 6]),
        w: tensor([2, 3], [1, 0, -1, 0.5, 0.5, 0.5]),
        bias: tensor([2], [10, -1]),
      },
      attrs: {},
      out: output([2, 2]),
      expected: [8, 2, 8, 6.5],
    }),
    kernelCase('matmul', 'matvec with odd sizes K = 13, N = 7: out[n] = 91 n - 728', {
      inputs: {
        x: tensor(
          [1, 13],
          Array.from({ length: 13 }, (_, k) => k + 1),
        ),
        w: tensor(
          [7, 13],
          Array.from({ length: 7 * 13 }, (_, e) => Math.floor(e / 13) - (e % 13)),
        ),
      },
      attrs: {},
      out: output([1, 7]),
      expected: Array.from({ length: 7 }, (_, n) => 91 * n - 728),
    }),
    kernelCase('matmul', 'rank-3 x [2, 2, 3] flattens to 4 rows', {
      inputs: {
        x: tensor([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        w: tensor([2, 3], [1, 1, 1, 0, 0, 2]),
      },
      attrs: {},
      out: output([2, 2, 2]),
      expected: [6, 6, 15, 12, 24, 18, 33, 24],
    }),
  ];

  for (const [M, K, N, withBias] of [
    [7, 13, 5, true],
    [1, 260, 17, false],
    [3, 64, 33, true],
    [5, 1, 3, false],
  ] as const) {
    const random = new Random(`matmul ${M}x${K}x${N}`);
    cases.push(
      kernelCase('matmul', `random M=${M} K=${K} N=${N}${withBias ? ' with bias' : ''}`, {
        inputs: {
          x: random.tensor([M, K]),
          w: random.tensor([N, K]),
          ...(withBias ? { bias: random.tensor([N]) } : {}),
        },
        attrs: {},
        out: output([M, N]),
      }),
    );
  }

  cases.push(...halfMatmulCases(), ...quantizedMatmulCases());

  const x = tensor([2, 3], [1, 2, 3, 4, 5, 6]);
  const w = tensor([2, 3], [1, 0, 0, 0, 1, 0]);
  cases.push(
    errorCase('matmul', 'w width differs from x width', 'SHAPE_MISMATCH', {
      inputs: { x, w: tensor([2, 4], new Array(8).fill(1)) },
      attrs: {},
      out: output([2, 2]),
    }),
    errorCase('matmul', 'w is not 2-D', 'SHAPE_MISMATCH', {
      inputs: { x, w: tensor([2, 3, 1], new Array(6).fill(1)) },
      attrs: {},
      out: output([2, 2]),
    }),
    errorCase('matmul', 'bias length differs from N', 'SHAPE_MISMATCH', {
      inputs: { x, w, bias: tensor([3], [1, 2, 3]) },
      attrs: {},
      out: output([2, 2]),
    }),
    errorCase('matmul', 'out has the wrong shape', 'SHAPE_MISMATCH', {
      inputs: { x, w },
      attrs: {},
      out: output([2, 3]),
    }),
    errorCase('matmul', 'out is x', 'INVALID_ARGUMENT', {
      inputs: { x: tensor([2, 2], [1, 2, 3, 4]), w: tensor([2, 2], [1, 0, 0, 1]) },
      attrs: {},
      out: inPlace('x'),
    }),
    errorCase('matmul', 'x was disposed', 'INVALID_ARGUMENT', {
      inputs: { x, w },
      attrs: {},
      out: output([2, 2]),
      tamper: { input: 'x', how: 'disposed' },
    }),
    errorCase('matmul', 'w is a handle this backend never made', 'INVALID_ARGUMENT', {
      inputs: { x, w },
      attrs: {},
      out: output([2, 2]),
      tamper: { input: 'w', how: 'foreign' },
    }),
  );
  return cases;
}
