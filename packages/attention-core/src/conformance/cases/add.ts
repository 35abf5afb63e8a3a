import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** add: element-wise `a + b`, b of a's shape or one row broadcast. */
export function addCases(): ConformanceCase[] {
  const random = new Random('add');
  const a = tensor([2, 2], [1, 2, 3, 4]);
  return [
    kernelCase('add', 'same shape', {
      inputs: { a, b: tensor([2, 2], [10, 20, 30, 40]) },
      attrs: {},
      out: output([2, 2]),
      expected: [11, 22, 33, 44],
    }),
    kernelCase('add', 'row broadcast of b [2]', {
      inputs: { a, b: tensor([2], [10, 20]) },
      attrs: {},
      out: output([2, 2]),
      expected: [11, 22, 13, 24],
    }),
    kernelCase('add', 'rank-3 a [2, 1, 2] with broadcast b, in place', {
      inputs: { a: tensor([2, 1, 2], [1, 2, 3, 4]), b: tensor([2], [10, 20]) },
      attrs: {},
      out: inPlace('a'),
      expected: [11, 22, 13, 24],
    }),
    kernelCase('add', 'out is b', {
      inputs: { a, b: tensor([2, 2], [10, 20, 30, 40]) },
      attrs: {},
      out: inPlace('b'),
      expected: [11, 22, 33, 44],
    }),
    kernelCase('add', 'random [5, 33] same shape', {
      inputs: { a: random.tensor([5, 33], -4, 4), b: random.tensor([5, 33], -4, 4) },
      attrs: {},
      out: output([5, 33]),
    }),
    kernelCase('add', 'random [5, 33] broadcast, in place', {
      inputs: { a: random.tensor([5, 33], -4, 4), b: random.tensor([33], -4, 4) },
      attrs: {},
      out: inPlace('a'),
    }),
    errorCase('add', "b is neither a's shape nor [N]", 'SHAPE_MISMATCH', {
      inputs: { a, b: tensor([3], [1, 2, 3]) },
      attrs: {},
      out: output([2, 2]),
    }),
    errorCase('add', 'out shape differs', 'SHAPE_MISMATCH', {
      inputs: { a, b: tensor([2], [1, 2]) },
      attrs: {},
      out: output([1, 4]),
    }),
  ];
}
