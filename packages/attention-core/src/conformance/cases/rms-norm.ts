import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** rmsNorm: `out = weight * x / sqrt(mean(x²) + epsilon)`. */
export function rmsNormCases(): ConformanceCase[] {
  const random = new Random('rmsNorm');
  const ones6 = tensor([6], new Array(6).fill(1));
  // mean(x²) of 1..6 is 91 / 6
  const scale6 = 1 / Math.sqrt(91 / 6 + 1e-5);
  return [
    kernelCase('rmsNorm', '[3, 4] with epsilon 0 is [3, 4] / sqrt(12.5)', {
      inputs: { x: tensor([1, 2], [3, 4]), weight: tensor([2], [1, 1]) },
      attrs: { epsilon: 0 },
      out: output([1, 2]),
      expected: [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)],
    }),
    kernelCase('rmsNorm', 'weight and epsilon, two rows', {
      inputs: { x: tensor([2, 2], [1, 1, 2, -2]), weight: tensor([2], [2, -1]) },
      attrs: { epsilon: 1 },
      out: output([2, 2]),
      // row 0: 1/sqrt(1 + 1); row 1: 1/sqrt(4 + 1)
      expected: [2 / Math.SQRT2, -1 / Math.SQRT2, 4 / Math.sqrt(5), 2 / Math.sqrt(5)],
    }),
    kernelCase('rmsNorm', 'D = 6 in place', {
      inputs: { x: tensor([1, 6], [1, 2, 3, 4, 5, 6]), weight: ones6 },
      attrs: { epsilon: 1e-5 },
      out: inPlace('x'),
      expected: [1, 2, 3, 4, 5, 6].map((v) => v * scale6),
    }),
    kernelCase('rmsNorm', 'random [5, 64] epsilon 1e-5', {
      inputs: { x: random.tensor([5, 64], -3, 3), weight: random.tensor([64]) },
      attrs: { epsilon: 1e-5 },
      out: output([5, 64]),
    }),
    kernelCase('rmsNorm', 'random rank-3 [2, 3, 10] in place', {
      inputs: { x: random.tensor([2, 3, 10], -100, 100), weight: random.tensor([10]) },
      attrs: { epsilon: 1e-6 },
      out: inPlace('x'),
    }),
    errorCase('rmsNorm', 'weight length differs from D', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([1, 6], [1, 2, 3, 4, 5, 6]), weight: tensor([5], [1, 1, 1, 1, 1]) },
      attrs: { epsilon: 1e-5 },
      out: output([1, 6]),
    }),
    errorCase('rmsNorm', 'negative epsilon', 'INVALID_ARGUMENT', {
      inputs: { x: tensor([1, 6], [1, 2, 3, 4, 5, 6]), weight: ones6 },
      attrs: { epsilon: -1 },
      out: output([1, 6]),
    }),
    errorCase('rmsNorm', 'NaN epsilon', 'INVALID_ARGUMENT', {
      inputs: { x: tensor([1, 6], [1, 2, 3, 4, 5, 6]), weight: ones6 },
      attrs: { epsilon: Number.NaN },
      out: output([1, 6]),
    }),
    errorCase('rmsNorm', 'out has fewer rows', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([2, 6], new Array(12).fill(1)), weight: ones6 },
      attrs: { epsilon: 1e-5 },
      out: output([1, 6]),
    }),
    errorCase('rmsNorm', 'x of dtype i32', 'INVALID_ARGUMENT', {
      inputs: {
        x: { shape: [1, 6], data: Int32Array.from([1, 2, 3, 4, 5, 6]), dtype: 'i32' },
        weight: ones6,
      },
      attrs: { epsilon: 1e-5 },
      out: output([1, 6]),
    }),
  ];
}
