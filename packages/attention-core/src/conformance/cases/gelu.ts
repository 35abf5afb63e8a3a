import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

const POINTS = [1, -1, 0, 3, -3, 0.5, -6, 10, -10];

/** gelu: exact `x Φ(x)` and GPT-2's tanh approximation. */
export function geluCases(): ConformanceCase[] {
  const random = new Random('gelu');
  return [
    kernelCase('gelu', 'erf: gelu(1) = 0.8413447461 and other fixed points', {
      inputs: { x: tensor([1, POINTS.length], POINTS) },
      attrs: { approximate: 'none' },
      out: output([1, POINTS.length]),
      expected: [
        0.841344746068543, -0.15865525393145705, 0, 2.99595030590511, -0.0040496940948902835,
        0.34573123063700656, -5.919525870226189e-9, 10, -7.619853016486503e-23,
      ],
    }),
    kernelCase('gelu', 'tanh: gelu(1) = 0.8411920 and other fixed points', {
      inputs: { x: tensor([1, POINTS.length], POINTS) },
      attrs: { approximate: 'tanh' },
      out: output([1, POINTS.length]),
      expected: [
        0.8411919906082767, -0.1588080093917233, 0, 2.996362607918227, -0.0036373920817730186,
        0.3457140098251439, -8.439646700762297e-11, 10, 0,
      ],
    }),
    kernelCase('gelu', 'random erf [3, 29] in [-8, 8]', {
      inputs: { x: random.tensor([3, 29], -8, 8) },
      attrs: { approximate: 'none' },
      out: output([3, 29]),
    }),
    kernelCase('gelu', 'random tanh [3, 29] in [-8, 8], in place', {
      inputs: { x: random.tensor([3, 29], -8, 8) },
      attrs: { approximate: 'tanh' },
      out: inPlace('x'),
    }),
    errorCase('gelu', 'unknown approximation', 'INVALID_ARGUMENT', {
      inputs: { x: tensor([1, 2], [1, 2]) },
      attrs: { approximate: 'fast' },
      out: output([1, 2]),
    }),
    errorCase('gelu', 'out shape differs', 'SHAPE_MISMATCH', {
      inputs: { x: tensor([1, 2], [1, 2]) },
      attrs: { approximate: 'none' },
      out: output([1, 3]),
    }),
  ];
}
