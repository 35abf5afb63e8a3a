import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { ConformanceCase } from '../types.js';

/** writeRows: copies src rows into out from `rowOffset`, keeping out's other rows. */
export function writeRowsCases(): ConformanceCase[] {
  const src = tensor([2, 3], [1, 2, 3, 4, 5, 6]);
  const random = new Random('writeRows');
  return [
    kernelCase('writeRows', 'rows 2..3 of 5, others kept', {
      inputs: { src },
      attrs: { rowOffset: 2 },
      out: output([5, 3], new Array(15).fill(-1)),
      expected: [-1, -1, -1, -1, -1, -1, 1, 2, 3, 4, 5, 6, -1, -1, -1],
    }),
    kernelCase('writeRows', 'fills out exactly', {
      inputs: { src },
      attrs: { rowOffset: 0 },
      out: output([2, 3], new Array(6).fill(-1)),
      expected: [1, 2, 3, 4, 5, 6],
    }),
    kernelCase('writeRows', 'last slot of a [1, S, W] cache', {
      inputs: { src: tensor([1, 3], [7, 8, 9]) },
      attrs: { rowOffset: 3 },
      out: output([1, 4, 3], new Array(12).fill(0.5)),
      expected: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 7, 8, 9],
    }),
    kernelCase('writeRows', 'random 3 rows of width 20 at row 4 of 10', {
      inputs: { src: random.tensor([3, 20]) },
      attrs: { rowOffset: 4 },
      out: output([10, 20], random.tensor([10, 20]).data),
    }),
    kernelCase('writeRows', 'batch: src [2, 1, 2] into slot 1 of each sequence of out [2, 3, 2]', {
      inputs: { src: tensor([2, 1, 2], [1, 2, 3, 4]) },
      attrs: { rowOffset: 1 },
      out: output([2, 3, 2], new Array(12).fill(-1)),
      expected: [-1, -1, 1, 2, -1, -1, -1, -1, 3, 4, -1, -1],
    }),
    kernelCase('writeRows', 'random batch: src [3, 2, 5] into rows 4..5 of out [3, 6, 5]', {
      inputs: { src: random.tensor([3, 2, 5]) },
      attrs: { rowOffset: 4 },
      out: output([3, 6, 5], random.tensor([3, 6, 5]).data),
    }),
    errorCase('writeRows', 'batch of out differs from batch of src (both rank 3)', 'SHAPE_MISMATCH', {
      inputs: { src: tensor([2, 1, 2], [1, 2, 3, 4]) },
      attrs: { rowOffset: 0 },
      out: output([3, 2, 2]),
    }),
    errorCase('writeRows', 'batch: rowOffset + R past the rows of each sequence', 'INVALID_ARGUMENT', {
      inputs: { src: tensor([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) },
      attrs: { rowOffset: 2 },
      out: output([2, 3, 2]),
    }),
    errorCase('writeRows', 'rowOffset + rows of src past the end of out', 'INVALID_ARGUMENT', {
      inputs: { src },
      attrs: { rowOffset: 4 },
      out: output([5, 3]),
    }),
    errorCase('writeRows', 'negative rowOffset', 'INVALID_ARGUMENT', {
      inputs: { src },
      attrs: { rowOffset: -1 },
      out: output([5, 3]),
    }),
    errorCase('writeRows', 'out width differs from src width', 'SHAPE_MISMATCH', {
      inputs: { src },
      attrs: { rowOffset: 0 },
      out: output([5, 4]),
    }),
    errorCase('writeRows', 'out is src', 'INVALID_ARGUMENT', {
      inputs: { src },
      attrs: { rowOffset: 0 },
      out: inPlace('src'),
    }),
  ];
}
