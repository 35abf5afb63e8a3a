import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** softmax: per row, max-subtracted; a row of -Infinity gives zeros. */
export function softmaxCases(): ConformanceCase[] {
  const random = new Random('softmax');
  const extremes = new Random('softmax extremes').tensor([3, 17], -1e4, 1e4);
  return [
    kernelCase('softmax', '[0, ln 3] is [0.25, 0.75]', {
      inputs: { x: tensor([1, 2], [0, Math.log(3)]) },
      attrs: {},
      out: output([1, 2]),
      expected: [0.25, 0.75],
    }),
    kernelCase('softmax', 'extreme logits 1e4 and -1e4', {
      inputs: { x: tensor([2, 3], [1e4, -1e4, 1e4, -1e4, -1e4, -1e4]) },
      attrs: {},
      out: output([2, 3]),
      expected: [0.5, 0, 0.5, 1 / 3, 1 / 3, 1 / 3],
    }),
    kernelCase('softmax', 'a row of -Infinity gives zeros; -Infinity entries get 0', {
      inputs: { x: tensor([2, 2], [-Infinity, -Infinity, -Infinity, 0]) },
      attrs: {},
      out: output([2, 2]),
      expected: [0, 0, 0, 1],
    }),
    kernelCase('softmax', 'a single column is 1, in place', {
      inputs: { x: tensor([3, 1], [5, -7, 1e4]) },
      attrs: {},
      out: inPlace('x'),
      expected: [1, 1, 1],
    }),
    kernelCase('softmax', 'random [6, 33] in [-20, 20]', {
      inputs: { x: random.tensor([6, 33], -20, 20) },
      attrs: {},
      out: output([6, 33]),
    }),
    kernelCase('softmax', 'random extreme [3, 17] in [-1e4, 1e4], in place', {
      inputs: { x: extremes },
      attrs: {},
      out: inPlace('x'),
    }),
    errorCase('softmax', 'out width differs', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([2, 3], [1, 2, 3, 4, 5, 6]) },
      attrs: {},
      out: output([3, 2]),
    }),
    errorCase('softmax', 'x is a scalar', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([], [1]) },
      attrs: {},
      out: output([1]),
    }),
  ];
}
