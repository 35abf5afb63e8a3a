import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** silu: `x * sigmoid(x)`. */
export function siluCases(): ConformanceCase[] {
  const random = new Random('silu');
  return [
    kernelCase('silu', 'silu(1) = 0.7310585786 and other fixed points', {
      inputs: { x: tensor([2, 4], [1, 0, -1, 0.5, 20, -20, 1e4, -1e4]) },
      attrs: {},
      out: output([2, 4]),
      expected: [
        0.7310585786300049, 0, -0.2689414213699951, 0.3112296656009273, 19.99999995877693,
        -4.122307236380407e-8, 1e4, 0,
      ],
    }),
    kernelCase('silu', 'random [4, 37] in [-10, 10]', {
      inputs: { x: random.tensor([4, 37], -10, 10) },
      attrs: {},
      out: output([4, 37]),
    }),
    kernelCase('silu', 'random rank-3 [2, 3, 5] in place', {
      inputs: { x: random.tensor([2, 3, 5], -30, 30) },
      attrs: {},
      out: inPlace('x'),
    }),
    errorCase('silu', 'out shape differs', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([2, 3], [1, 2, 3, 4, 5, 6]) },
      attrs: {},
      out: output([3, 2]),
    }),
  ];
}
