import type { KernelAttrs, RotaryLayout } from '@rotor/core';
import { errorCase, inPlace, kernelCase, output, Random, tensor } from '../build.js';
import type { CaseTensor, ConformanceCase } from '../types.js';

/** cos/sin tables `[P, R/2]` of random angles. */
function randomTables(random: Random, positions: number, half: number): { cos: CaseTensor; sin: CaseTensor } {
  const angles = Array.from({ length: positions * half }, () => random.uniform(-Math.PI, Math.PI));
  return {
    cos: tensor([positions, half], angles.map(Math.cos)),
    sin: tensor([positions, half], angles.map(Math.sin)),
  };
}

/**
 * Float64 rotation of one `x` row of `heads * headDim` at table row `p`: the pairs of each layout
 * spelled out directly from the kernel contract.
 */
function rotateRow(
  x: readonly number[],
  heads: number,
  headDim: number,
  rotaryDim: number,
  layout: RotaryLayout,
  cos: readonly number[],
  sin: readonly number[],
): number[] {
  const out = [...x];
  const half = rotaryDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const a = layout === 'interleaved' ? h * headDim + 2 * i : h * headDim + i;
      const b = layout === 'interleaved' ? a + 1 : a + half;
      out[a] = x[a] * cos[i] - x[b] * sin[i];
      out[b] = x[a] * sin[i] + x[b] * cos[i];
    }
  }
  return out;
}

/** applyRotary: pairs rotated by angles from cos/sin tables indexed by absolute position. */
export function applyRotaryCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const quarterTurn = { cos: tensor([2, 1], [1, 0]), sin: tensor([2, 1], [0, 1]) };
  for (const layout of ['interleaved', 'half-split'] as const) {
    cases.push(
      kernelCase('applyRotary', `(1, 0) turned by π/2 at position 1 is (0, 1), ${layout}`, {
        inputs: { x: tensor([1, 2], [1, 0]), ...quarterTurn },
        attrs: { numHeads: 1, headDim: 2, rotaryDim: 2, layout, positionOffset: 1 },
        out: output([1, 2]),
        expected: [0, 1],
      }),
    );
  }

  // pair 0 turns by the angle with cos 0.6 and sin 0.8, pair 1 by π/2; dims 4 and 5 stay.
  cases.push(
    kernelCase('applyRotary', 'interleaved, headDim 6, rotaryDim 4 (partial), 2 heads', {
      inputs: {
        x: tensor([1, 12], [1, 2, 3, 4, 5, 6, -1, 0, 2, 2, 7, 8]),
        cos: tensor([1, 2], [0.6, 0]),
        sin: tensor([1, 2], [0.8, 1]),
      },
      attrs: { numHeads: 2, headDim: 6, rotaryDim: 4, layout: 'interleaved', positionOffset: 0 },
      out: output([1, 12]),
      expected: [-1, 2, -4, 3, 5, 6, -0.6, -0.8, -2, 2, 7, 8],
    }),
    kernelCase('applyRotary', 'half-split, headDim 6, rotaryDim 4: pairs (0, 2) and (1, 3)', {
      inputs: {
        x: tensor([1, 6], [1, 2, 3, 4, 5, 6]),
        cos: tensor([1, 2], [0.6, 0]),
        sin: tensor([1, 2], [0.8, 1]),
      },
      attrs: { numHeads: 1, headDim: 6, rotaryDim: 4, layout: 'half-split', positionOffset: 0 },
      out: output([1, 6]),
      // (1, 3) -> (0.6 - 2.4, 0.8 + 1.8); (2, 4) -> (-4, 2)
      expected: [-1.8, -4, 2.6, 2, 5, 6],
    }),
  );

  // headDim 10 (not a multiple of 4), positions 2 and 3 of a 4-row table.
  const angles10 = new Random('applyRotary half-split 10');
  const tables10 = randomTables(angles10, 4, 5);
  const x10 = Array.from({ length: 20 }, (_, e) => (e % 7) - 3);
  const row = (p: number) => ({
    cos: Array.from(tables10.cos.data.subarray(p * 5, p * 5 + 5)),
    sin: Array.from(tables10.sin.data.subarray(p * 5, p * 5 + 5)),
  });
  for (const layout of ['half-split', 'interleaved'] as const) {
    const at2 = row(2);
    const at3 = row(3);
    cases.push(
      kernelCase('applyRotary', `${layout}, headDim 10, T = 2 rows at positionOffset 2`, {
        inputs: { x: tensor([2, 10], x10), ...tables10 },
        attrs: { numHeads: 1, headDim: 10, rotaryDim: 10, layout, positionOffset: 2 },
        out: output([2, 10]),
        expected: [
          ...rotateRow(x10.slice(0, 10), 1, 10, 10, layout, at2.cos, at2.sin),
          ...rotateRow(x10.slice(10), 1, 10, 10, layout, at3.cos, at3.sin),
        ],
      }),
    );
  }

  // [B, T, W]: both sequences start at positionOffset.
  const batchTables = randomTables(new Random('applyRotary batch'), 3, 3);
  const batchRows = [
    [1, 2, 3, 4, 5, 6],
    [-1, 0.5, 2, 0, 1, 1],
  ];
  const batchExpected = [1, 2].map((p) =>
    rotateRow(
      batchRows[p - 1],
      1,
      6,
      6,
      'interleaved',
      Array.from(batchTables.cos.data.subarray(p * 3, p * 3 + 3)),
      Array.from(batchTables.sin.data.subarray(p * 3, p * 3 + 3)),
    ),
  );
  cases.push(
    kernelCase('applyRotary', 'rank-3 x [2, 2, 6]: each sequence starts at positionOffset, in place', {
      inputs: {
        x: tensor([2, 2, 6], [...batchRows[0], ...batchRows[1], ...batchRows[0], ...batchRows[1]]),
        ...batchTables,
      },
      attrs: { numHeads: 1, headDim: 6, rotaryDim: 6, layout: 'interleaved', positionOffset: 1 },
      out: inPlace('x'),
      expected: [...batchExpected[0], ...batchExpected[1], ...batchExpected[0], ...batchExpected[1]],
    }),
  );

  // Left padding: sequence 0 starts at slot 0 (positions 1, 2), sequence 1 at slot 1 (positions 0, 1).
  const paddedTables = randomTables(new Random('applyRotary sequenceStarts'), 3, 2);
  const paddedRows = [
    [1, 2, 3, 4],
    [-1, 0.5, 2, 0],
    [0.25, 1, -2, 3],
    [4, -4, 1, 1],
  ];
  const at = (p: number) => ({
    cos: Array.from(paddedTables.cos.data.subarray(p * 2, p * 2 + 2)),
    sin: Array.from(paddedTables.sin.data.subarray(p * 2, p * 2 + 2)),
  });
  const rotated = (r: number, p: number) =>
    rotateRow(paddedRows[r], 1, 4, 4, 'half-split', at(p).cos, at(p).sin);
  cases.push(
    kernelCase('applyRotary', 'sequenceStarts [0, 1] shift each sequence of [2, 2, 4] to its own positions', {
      inputs: { x: tensor([2, 2, 4], paddedRows.flat()), ...paddedTables },
      attrs: {
        numHeads: 1,
        headDim: 4,
        rotaryDim: 4,
        layout: 'half-split',
        positionOffset: 1,
        sequenceStarts: [0, 1],
      },
      out: output([2, 2, 4]),
      expected: [...rotated(0, 1), ...rotated(1, 2), ...rotated(2, 0), ...rotated(3, 1)],
    }),
    kernelCase('applyRotary', 'sequenceStarts [2] of T = 3: the two padding rows are copied, in place', {
      inputs: { x: tensor([1, 3, 4], paddedRows.slice(0, 3).flat()), ...paddedTables },
      attrs: {
        numHeads: 1,
        headDim: 4,
        rotaryDim: 4,
        layout: 'half-split',
        positionOffset: 0,
        sequenceStarts: [2],
      },
      out: inPlace('x'),
      expected: [...paddedRows[0], ...paddedRows[1], ...rotated(2, 0)],
    }),
  );

  for (const [layout, H, Dh, R, T, offset, P, alias] of [
    ['interleaved', 4, 16, 16, 3, 5, 10, false],
    ['half-split', 3, 10, 6, 2, 0, 2, false],
    ['interleaved', 2, 6, 6, 1, 7, 8, true],
    ['half-split', 8, 8, 8, 5, 11, 20, true],
  ] as const) {
    const random = new Random(`applyRotary ${layout} ${H} ${Dh} ${R}`);
    cases.push(
      kernelCase(
        'applyRotary',
        `random ${layout} H=${H} Dh=${Dh} R=${R} T=${T} offset ${offset}${alias ? ', in place' : ''}`,
        {
          inputs: { x: random.tensor([T, H * Dh], -2, 2), ...randomTables(random, P, R / 2) },
          attrs: { numHeads: H, headDim: Dh, rotaryDim: R, layout, positionOffset: offset },
          out: alias ? inPlace('x') : output([T, H * Dh]),
        },
      ),
    );
  }

  const x = tensor([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const tables = { cos: tensor([3, 2], [1, 1, 1, 1, 1, 1]), sin: tensor([3, 2], [0, 0, 0, 0, 0, 0]) };
  const attrs: KernelAttrs<'applyRotary'> = {
    numHeads: 1,
    headDim: 4,
    rotaryDim: 4,
    layout: 'interleaved',
    positionOffset: 0,
  };
  const invalid = (
    name: string,
    code: 'SHAPE_MISMATCH' | 'INVALID_ARGUMENT',
    change: Record<string, unknown>,
    inputs = {},
  ) =>
    errorCase('applyRotary', name, code, {
      inputs: { x, ...tables, ...inputs },
      attrs: { ...attrs, ...change },
      out: output([2, 4]),
    });
  cases.push(
    invalid('cos table shorter than positionOffset + T', 'SHAPE_MISMATCH', { positionOffset: 2 }),
    invalid('odd rotaryDim', 'INVALID_ARGUMENT', { rotaryDim: 3 }),
    invalid('rotaryDim larger than headDim', 'INVALID_ARGUMENT', { rotaryDim: 6 }),
    invalid('numHeads * headDim differs from the width of x', 'SHAPE_MISMATCH', { numHeads: 2 }),
    invalid('cos columns differ from rotaryDim / 2', 'SHAPE_MISMATCH', { rotaryDim: 2 }),
    invalid('sin shape differs from cos shape', 'SHAPE_MISMATCH', {}, { sin: tensor([2, 2], [0, 0, 0, 0]) }),
    invalid('unknown layout', 'INVALID_ARGUMENT', { layout: 'sideways' }),
    invalid('negative positionOffset', 'INVALID_ARGUMENT', { positionOffset: -1 }),
    invalid('sequenceStarts length differs from B', 'INVALID_ARGUMENT', { sequenceStarts: [0, 0] }),
    invalid('negative sequenceStarts', 'INVALID_ARGUMENT', { sequenceStarts: [-1] }),
    invalid('sequenceStarts past positionOffset + T', 'INVALID_ARGUMENT', { sequenceStarts: [3] }),
  );
  return cases;
}
