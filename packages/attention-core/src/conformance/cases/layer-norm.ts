import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** layerNorm: `out = (x - mean) / sqrt(var + epsilon) * weight + bias`, population variance. */
export function layerNormCases(): ConformanceCase[] {
  const random = new Random('layerNorm');
  const ones4 = tensor([4], [1, 1, 1, 1]);
  // [1, 2, 3, 4]: mean 2.5, variance 1.25
  const inverse = 1 / Math.sqrt(1.25 + 1e-5);
  return [
    kernelCase('layerNorm', '[1, 2, 3, 4] with epsilon 0 and no bias', {
      inputs: { x: tensor([1, 4], [1, 2, 3, 4]), weight: ones4 },
      attrs: { epsilon: 0 },
      out: output([1, 4]),
      expected: [-1.5, -0.5, 0.5, 1.5].map((c) => c / Math.sqrt(1.25)),
    }),
    kernelCase('layerNorm', 'weight and bias; a constant row gives the bias', {
      inputs: {
        x: tensor([2, 4], [1, 2, 3, 4, 5, 5, 5, 5]),
        weight: tensor([4], [1, 2, 3, 4]),
        bias: tensor([4], [0.5, 0.5, 0.5, -0.5]),
      },
      attrs: { epsilon: 1e-5 },
      out: output([2, 4]),
      expected: [
        -1.5 * inverse + 0.5,
        -1 * inverse + 0.5,
        1.5 * inverse + 0.5,
        6 * inverse - 0.5,
        0.5,
        0.5,
        0.5,
        -0.5,
      ],
    }),
    kernelCase('layerNorm', 'odd D = 7 in place: 0..6 has mean 3 and variance 4', {
      inputs: { x: tensor([1, 7], [0, 1, 2, 3, 4, 5, 6]), weight: tensor([7], new Array(7).fill(1)) },
      attrs: { epsilon: 0 },
      out: inPlace('x'),
      expected: [-1.5, -1, -0.5, 0, 0.5, 1, 1.5],
    }),
    kernelCase('layerNorm', 'random [4, 48] with bias', {
      inputs: { x: random.tensor([4, 48], -5, 5), weight: random.tensor([48]), bias: random.tensor([48]) },
      attrs: { epsilon: 1e-5 },
      out: output([4, 48]),
    }),
    kernelCase('layerNorm', 'random [3, 7] with an offset mean, no bias', {
      inputs: { x: random.tensor([3, 7], 90, 110), weight: random.tensor([7]) },
      attrs: { epsilon: 1e-5 },
      out: output([3, 7]),
    }),
    errorCase('layerNorm', 'bias length differs from D', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([1, 4], [1, 2, 3, 4]), weight: ones4, bias: tensor([3], [0, 0, 0]) },
      attrs: { epsilon: 1e-5 },
      out: output([1, 4]),
    }),
    errorCase('layerNorm', 'weight is not 1-D', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([1, 4], [1, 2, 3, 4]), weight: tensor([1, 4], [1, 1, 1, 1]) },
      attrs: { epsilon: 1e-5 },
      out: output([1, 4]),
    }),
    errorCase('layerNorm', 'epsilon missing', 'INVALID_ARGUMENT', {
      inputs: { x: tensor([1, 4], [1, 2, 3, 4]), weight: ones4 },
      attrs: {},
      out: output([1, 4]),
    }),
  ];
}
