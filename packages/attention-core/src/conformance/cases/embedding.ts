import { errorCase, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** embedding: `out[t, :] = table[ids[t], :]`. */
export function embeddingCases(): ConformanceCase[] {
  // table[r, c] = 10 r + c
  const table = tensor([4, 3], [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
  const random = new Random('embedding');
  const cases: ConformanceCase[] = [
    kernelCase('embedding', 'rows in id order, repeats allowed', {
      inputs: { table },
      attrs: { ids: [3, 0, 3] },
      out: output([3, 3]),
      expected: [30, 31, 32, 0, 1, 2, 30, 31, 32],
    }),
    kernelCase('embedding', 'T = 1 with Int32Array ids', {
      inputs: { table },
      attrs: { ids: Int32Array.from([2]) },
      out: output([1, 3]),
      expected: [20, 21, 22],
    }),
    kernelCase('embedding', 'rank-3 out [1, 2, 3]', {
      inputs: { table },
      attrs: { ids: [1, 2] },
      out: output([1, 2, 3]),
      expected: [10, 11, 12, 20, 21, 22],
    }),
    kernelCase('embedding', 'random V=50 D=10, 7 ids', {
      inputs: { table: random.tensor([50, 10]) },
      attrs: { ids: [49, 0, 7, 7, 13, 1, 48] },
      out: output([7, 10]),
    }),
  ];
  for (const [name, ids] of [
    ['id equal to V', [4]],
    ['negative id', [-1]],
    ['non-integer id', [1.5]],
  ] as const) {
    cases.push(
      errorCase('embedding', name, 'INVALID_ARGUMENT', {
        inputs: { table },
        attrs: { ids },
        out: output([1, 3]),
      }),
    );
  }
  cases.push(
    errorCase('embedding', 'fewer ids than rows of out', 'INVALID_ARGUMENT', {
      inputs: { table },
      attrs: { ids: [0, 1] },
      out: output([3, 3]),
    }),
    errorCase('embedding', 'out width differs from the table width', 'SHAPE_MISMATCH', {
      inputs: { table },
      attrs: { ids: [0] },
      out: output([1, 4]),
    }),
    errorCase('embedding', 'table is not 2-D', 'SHAPE_MISMATCH', {
      inputs: { table: tensor([12], new Array(12).fill(0)) },
      attrs: { ids: [0] },
      out: output([1, 12]),
    }),
  );
  return cases;
}
