import type { KernelAttrs, ScoreBiasDescriptor } from '@rotor/core';
import { errorCase, inPlace, kernelCase, output, Random, softmaxWeighted, tensor } from '../build.js';
import type { CaseTensor, ConformanceCase } from '../types.js';

type Attrs = KernelAttrs<'attention'>;

/** One hand-computed attention case: q `[B, T, H*Dh]`, k and v `[B, S, Hkv*Dh]`. */
function hand(
  name: string,
  q: CaseTensor,
  k: CaseTensor,
  v: CaseTensor,
  attrs: Attrs,
  expected: readonly number[],
  alias = false,
): ConformanceCase {
  return kernelCase('attention', name, {
    inputs: { q, k, v },
    attrs,
    out: alias ? inPlace('q') : output(q.shape),
    expected,
  });
}

const single = { numHeads: 1, numKvHeads: 1, headDim: 1, kvOffset: 0, causal: true } as const;
const LN3 = Math.log(3);

function handCases(): ConformanceCase[] {
  const cases = [
    hand(
      'one key returns its value (T = 1, S = 1)',
      tensor([1, 1, 3], [1, 2, 3]),
      tensor([1, 1, 3], [0.5, -1, 2]),
      tensor([1, 1, 3], [7, -8, 9]),
      { ...single, headDim: 3 },
      [7, -8, 9],
    ),
    hand(
      'head width 6, one key, out is q',
      tensor([1, 1, 6], [1, 2, 3, 4, 5, 6]),
      tensor([1, 1, 6], [6, 5, 4, 3, 2, 1]),
      tensor([1, 1, 6], [-1, -2, -3, 0.5, 0.25, 0]),
      { ...single, headDim: 6 },
      [-1, -2, -3, 0.5, 0.25, 0],
      true,
    ),
    hand(
      'scores [0, ln 3] weight the values 1 : 3',
      tensor([1, 1, 1], [1]),
      tensor([1, 2, 1], [0, LN3]),
      tensor([1, 2, 1], [4, 8]),
      { ...single, kvOffset: 1, scale: 1 },
      [7],
    ),
  ];

  // Two queries, two keys: query 0 has q = 0 (equal scores), query 1 scores [0, ln 3].
  const q2 = tensor([1, 2, 2], [0, 0, 1, 0]);
  const k2 = tensor([1, 2, 2], [0, 0, LN3, 0]);
  const v2 = tensor([1, 2, 2], [1, 2, 5, 10]);
  cases.push(
    hand(
      'causal: the first query sees only the first key',
      q2,
      k2,
      v2,
      { ...single, headDim: 2, scale: 1 },
      [1, 2, 4, 8],
    ),
    hand(
      'not causal: every query sees every key',
      q2,
      k2,
      v2,
      { ...single, headDim: 2, scale: 1, causal: false },
      [3, 6, 4, 8],
    ),
  );

  // Slot 3 holds a huge score and value: reading it would be visible.
  const q1 = tensor([1, 1, 1], [1]);
  const k4 = tensor([1, 4, 1], [0, 0, 0, 100]);
  const v4 = tensor([1, 4, 1], [1, 2, 3, 1000]);
  cases.push(
    hand(
      'kvOffset 2: a new token sees slots 0..2, not slot 3',
      q1,
      k4,
      v4,
      { ...single, kvOffset: 2, scale: 1 },
      [2],
    ),
    hand(
      'not causal and no validLengths: kvOffset + T slots, not all S',
      q1,
      k4,
      v4,
      { ...single, kvOffset: 2, scale: 1, causal: false },
      [2],
    ),
  );

  cases.push(
    hand(
      'validLengths 0, 1 and full (B = 3, not causal): a fully masked row gives zeros',
      tensor([3, 1, 1], [0, 0, 0]),
      tensor([3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
      tensor([3, 3, 1], [10, 20, 30, 40, 50, 60, 70, 80, 90]),
      { ...single, kvOffset: 2, causal: false, validLengths: [0, 1, 3] },
      [0, 40, 80],
    ),
    hand(
      'validLengths shorter than the causal window (B = 2, T = 2, kvOffset 1)',
      tensor([2, 2, 1], [0, 0, 0, 0]),
      tensor([2, 3, 1], [1, 1, 1, 1, 1, 1]),
      tensor([2, 3, 1], [1, 2, 3, 10, 20, 30]),
      { ...single, kvOffset: 1, validLengths: [3, 2] },
      [1.5, 2, 15, 15],
    ),
    hand(
      'validLengths 0 with causal masking gives zeros',
      tensor([1, 2, 2], [1, 2, 3, 4]),
      tensor([1, 2, 2], [1, 1, 1, 1]),
      tensor([1, 2, 2], [5, 6, 7, 8]),
      { ...single, headDim: 2, validLengths: [0] },
      [0, 0, 0, 0],
    ),
  );

  // Left padding: equal scores (q = 0) make each output the mean of the values it reads.
  cases.push(
    hand(
      'sequenceStarts 1, 0 and 3 (B = 3, decode at slot 2): left padding is masked, all-padding gives zeros',
      tensor([3, 1, 1], [0, 0, 0]),
      tensor([3, 3, 1], [5, 5, 5, 5, 5, 5, 5, 5, 5]),
      tensor([3, 3, 1], [1000, 20, 30, 1, 2, 3, 7, 8, 9]),
      { ...single, kvOffset: 2, sequenceStarts: [1, 0, 3] },
      [25, 2, 0],
    ),
    hand(
      'left and right padding together: sequenceStarts 1, validLengths 3 of S = 4 (not causal)',
      tensor([1, 1, 1], [0]),
      tensor([1, 4, 1], [100, 0, 0, 100]),
      tensor([1, 4, 1], [1000, 2, 4, 1000]),
      { ...single, kvOffset: 3, causal: false, validLengths: [3], sequenceStarts: [1] },
      [3],
    ),
    hand(
      'left-padded prefill (B = 2, T = 2, sequenceStarts [1, 0]): the padding query row gives zeros',
      tensor([2, 2, 1], [0, 0, 0, 0]),
      tensor([2, 2, 1], [0, 0, 0, 0]),
      tensor([2, 2, 1], [1000, 6, 2, 4]),
      { ...single, sequenceStarts: [1, 0] },
      [0, 6, 2, 3],
    ),
  );

  // Grouped-query heads: kv head g scores [0, ln(g + 2)] and holds values [0, 0] and [10 g + 1, 1].
  for (const [H, Hkv, label] of [
    [8, 4, 'GQA 8 / 4'],
    [6, 2, 'GQA 6 / 2'],
    [4, 1, 'MQA 4 / 1'],
  ] as const) {
    const k = new Array<number>(2 * Hkv * 2).fill(0);
    const v = new Array<number>(2 * Hkv * 2).fill(0);
    for (let g = 0; g < Hkv; g++) {
      k[Hkv * 2 + g * 2] = Math.log(g + 2);
      v[Hkv * 2 + g * 2] = 10 * g + 1;
      v[Hkv * 2 + g * 2 + 1] = 1;
    }
    const expected: number[] = [];
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      const weight = (g + 2) / (g + 3);
      expected.push(weight * (10 * g + 1), weight);
    }
    cases.push(
      hand(
        `${label}: query head h reads key/value head floor(h / ${H / Hkv})`,
        tensor(
          [1, 1, H * 2],
          Array.from({ length: H * 2 }, (_, e) => (e % 2 === 0 ? 1 : 0)),
        ),
        tensor([1, 2, Hkv * 2], k),
        tensor([1, 2, Hkv * 2], v),
        { numHeads: H, numKvHeads: Hkv, headDim: 2, kvOffset: 1, causal: true, scale: 1 },
        expected,
      ),
    );
  }

  cases.push(
    hand(
      'extreme scores: [1e4, -1e4], [1e4, 1e4] and [-1e4, -1e4]',
      tensor([3, 1, 1], [100, 100, 100]),
      tensor([3, 2, 1], [100, -100, 100, 100, -100, -100]),
      tensor([3, 2, 1], [3, 5, 3, 5, 3, 5]),
      { ...single, kvOffset: 1, scale: 1 },
      [3, 4, 4],
    ),
  );

  // Default scale 1/sqrt(4) = 0.5: q·k1 = 2 ln 3, so the scores are [0, ln 3].
  const half = LN3 / 2;
  cases.push(
    hand(
      'default scale is 1 / sqrt(headDim)',
      tensor([1, 1, 4], [1, 1, 1, 1]),
      tensor([1, 2, 4], [0, 0, 0, 0, half, half, half, half]),
      tensor([1, 2, 4], [4, 0, 0, 0, 8, 4, 0, 1]),
      { ...single, headDim: 4, kvOffset: 1 },
      [7, 3, 0, 0.75],
    ),
    hand(
      'explicit scale',
      tensor([1, 1, 4], [1, 1, 1, 1]),
      tensor([1, 2, 4], [0, 0, 0, 0, 1, 1, 1, 1]),
      tensor([1, 2, 4], [4, 0, 0, 0, 8, 4, 0, 1]),
      { ...single, headDim: 4, kvOffset: 1, scale: LN3 / 4 },
      [7, 3, 0, 0.75],
    ),
  );

  // ALiBi, query at position 2, keys 0..2: scores q_h k_j - slope_h |2 - j|.
  const alibi: ScoreBiasDescriptor = { type: 'alibi', slopes: Float32Array.from([1, 0.5]) };
  const values3 = [[0], [1], [2]];
  cases.push(
    hand(
      'ALiBi adds -slope * |i - j| to q·k (causal, query at position 2)',
      tensor([1, 1, 2], [1, 2]),
      tensor([1, 3, 1], [1, 0, -1]),
      tensor([1, 3, 1], [0, 1, 2]),
      { numHeads: 2, numKvHeads: 1, headDim: 1, kvOffset: 2, causal: true, scale: 1, scoreBias: alibi },
      [
        ...softmaxWeighted([1 - 2, 0 - 1, -1 - 0], values3),
        ...softmaxWeighted([2 - 1, 0 - 0.5, -2 - 0], values3),
      ],
    ),
    hand(
      'ALiBi uses |i - j| for keys after the query (not causal)',
      tensor([1, 1, 2], [0, 0]),
      tensor([1, 3, 1], [0, 0, 0]),
      tensor([1, 3, 1], [0, 1, 2]),
      {
        numHeads: 2,
        numKvHeads: 1,
        headDim: 1,
        kvOffset: 0,
        causal: false,
        validLengths: [3],
        scoreBias: alibi,
      },
      [...softmaxWeighted([0, -1, -2], values3), ...softmaxWeighted([0, -0.5, -1], values3)],
    ),
  );

  // T5, causal, 4 buckets up to distance 8: exact buckets 0, 1; distances 2..3 -> 2, 4..7 -> 3.
  // Query at position 5, keys 0..5 at distances 5..0: buckets [3, 3, 2, 2, 1, 0].
  const t5Table = [0.5, -0.25, 1, -1];
  const t5Causal: ScoreBiasDescriptor = {
    type: 't5',
    numBuckets: 4,
    maxDistance: 8,
    bidirectional: false,
    table: Float32Array.from(t5Table),
  };
  cases.push(
    hand(
      'T5 causal buckets (4 buckets, maxDistance 8)',
      tensor([1, 1, 1], [0]),
      tensor([1, 6, 1], [0, 0, 0, 0, 0, 0]),
      tensor([1, 6, 1], [0, 1, 2, 3, 4, 5]),
      { ...single, kvOffset: 5, scoreBias: t5Causal },
      softmaxWeighted(
        [3, 3, 2, 2, 1, 0].map((b) => t5Table[b]),
        [[0], [1], [2], [3], [4], [5]],
      ),
    ),
  );

  // T5 bidirectional, 8 buckets (4 per direction, exact below 2) up to 16; query at position 1,
  // keys 0..4 at j - i = -1..3: buckets [1, 0, 4 + 1, 4 + 2, 4 + 2]. table[b, h] = ±b / 4.
  const bidirectionalTable = Array.from(
    { length: 16 },
    (_, e) => (e % 2 === 0 ? 1 : -1) * (Math.floor(e / 2) / 4),
  );
  const t5Bidirectional: ScoreBiasDescriptor = {
    type: 't5',
    numBuckets: 8,
    maxDistance: 16,
    bidirectional: true,
    table: Float32Array.from(bidirectionalTable),
  };
  const buckets = [1, 0, 5, 6, 6];
  const values5 = [[1], [2], [3], [4], [5]];
  cases.push(
    hand(
      'T5 bidirectional: keys after the query use the upper buckets (not causal)',
      tensor([1, 1, 2], [0, 0]),
      tensor([1, 5, 1], [0, 0, 0, 0, 0]),
      tensor([1, 5, 1], [1, 2, 3, 4, 5]),
      {
        numHeads: 2,
        numKvHeads: 1,
        headDim: 1,
        kvOffset: 1,
        causal: false,
        validLengths: [5],
        scoreBias: t5Bidirectional,
      },
      [
        ...softmaxWeighted(
          buckets.map((b) => b / 4),
          values5,
        ),
        ...softmaxWeighted(
          buckets.map((b) => -b / 4),
          values5,
        ),
      ],
    ),
  );
  return cases;
}

interface RandomConfig {
  readonly name: string;
  readonly B: number;
  readonly T: number;
  readonly S: number;
  readonly H: number;
  readonly Hkv: number;
  readonly Dh: number;
  readonly kvOffset: number;
  readonly causal: boolean;
  readonly validLengths?: number[];
  readonly sequenceStarts?: number[];
  readonly scale?: number;
  readonly bias?: (random: Random, H: number) => ScoreBiasDescriptor;
  readonly range?: number;
  readonly inPlace?: boolean;
}

const RANDOM_CONFIGS: readonly RandomConfig[] = [
  {
    name: 'GQA 8/4, Dh 6, B 2, T 3, kvOffset 2',
    B: 2,
    T: 3,
    S: 8,
    H: 8,
    Hkv: 4,
    Dh: 6,
    kvOffset: 2,
    causal: true,
  },
  {
    name: 'decode step: GQA 6/2, Dh 10, kvOffset 9',
    B: 1,
    T: 1,
    S: 16,
    H: 6,
    Hkv: 2,
    Dh: 10,
    kvOffset: 9,
    causal: true,
  },
  {
    name: 'MQA 4/1, B 3 with validLengths [3, 0, 6]',
    ...{ B: 3, T: 2, S: 6, H: 4, Hkv: 1, Dh: 8, kvOffset: 1, causal: true, validLengths: [3, 0, 6] },
  },
  {
    name: 'not causal, Dh 16, validLengths [4, 2]',
    ...{ B: 2, T: 4, S: 4, H: 2, Hkv: 2, Dh: 16, kvOffset: 0, causal: false, validLengths: [4, 2] },
  },
  {
    name: 'not causal, no validLengths, kvOffset + T < S',
    ...{ B: 1, T: 2, S: 7, H: 2, Hkv: 2, Dh: 6, kvOffset: 3, causal: false },
  },
  {
    name: 'ALiBi with geometric slopes, GQA 4/2',
    ...{ B: 2, T: 2, S: 5, H: 4, Hkv: 2, Dh: 6, kvOffset: 3, causal: true },
    bias: (_random, H) => ({
      type: 'alibi',
      slopes: Float32Array.from({ length: H }, (_, h) => 2 ** ((-8 * (h + 1)) / H)),
    }),
  },
  {
    name: 'T5 causal, 32 buckets to 128, distances up to 39',
    ...{ B: 1, T: 3, S: 40, H: 2, Hkv: 2, Dh: 4, kvOffset: 37, causal: true },
    bias: (random, H) => ({
      type: 't5',
      numBuckets: 32,
      maxDistance: 128,
      bidirectional: false,
      table: random.tensor([32 * H], -2, 2).data as Float32Array,
    }),
  },
  {
    name: 'T5 bidirectional, 32 buckets to 20, not causal',
    ...{ B: 1, T: 4, S: 30, H: 2, Hkv: 1, Dh: 4, kvOffset: 0, causal: false, validLengths: [30] },
    bias: (random, H) => ({
      type: 't5',
      numBuckets: 32,
      maxDistance: 20,
      bidirectional: true,
      table: random.tensor([32 * H], -2, 2).data as Float32Array,
    }),
  },
  {
    name: 'extreme scores (values up to ±100)',
    ...{ B: 1, T: 2, S: 3, H: 2, Hkv: 1, Dh: 4, kvOffset: 1, causal: true, range: 100 },
  },
  {
    name: 'explicit scale 0.3',
    B: 1,
    T: 2,
    S: 4,
    H: 3,
    Hkv: 3,
    Dh: 5,
    kvOffset: 2,
    causal: true,
    scale: 0.3,
  },
  {
    name: 'left-padded prefill: B 3, T 4, sequenceStarts [0, 2, 4] (lengths 4, 2, 0)',
    ...{ B: 3, T: 4, S: 4, H: 4, Hkv: 2, Dh: 8, kvOffset: 0, causal: true, sequenceStarts: [0, 2, 4] },
  },
  {
    name: 'left-padded decode: B 4, kvOffset 6, sequenceStarts [0, 1, 6, 7]',
    ...{ B: 4, T: 1, S: 8, H: 6, Hkv: 2, Dh: 10, kvOffset: 6, causal: true, sequenceStarts: [0, 1, 6, 7] },
  },
  {
    name: 'left and right padding mixed: sequenceStarts [2, 0, 1], validLengths [5, 3, 6]',
    ...{
      B: 3,
      T: 2,
      S: 6,
      H: 2,
      Hkv: 1,
      Dh: 6,
      kvOffset: 3,
      causal: true,
      sequenceStarts: [2, 0, 1],
      validLengths: [5, 3, 6],
    },
  },
  {
    name: 'left padding with ALiBi (bias from slot distance), GQA 4/2',
    ...{ B: 2, T: 2, S: 6, H: 4, Hkv: 2, Dh: 6, kvOffset: 4, causal: true, sequenceStarts: [3, 1] },
    bias: (_random, H) => ({
      type: 'alibi',
      slopes: Float32Array.from({ length: H }, (_, h) => 2 ** ((-8 * (h + 1)) / H)),
    }),
  },
  {
    name: 'left padding with T5 causal buckets',
    ...{ B: 2, T: 3, S: 24, H: 2, Hkv: 2, Dh: 4, kvOffset: 21, causal: true, sequenceStarts: [5, 0] },
    bias: (random, H) => ({
      type: 't5',
      numBuckets: 8,
      maxDistance: 16,
      bidirectional: false,
      table: random.tensor([8 * H], -2, 2).data as Float32Array,
    }),
  },
  {
    name: 'out is q, Dh 10, B 2',
    ...{ B: 2, T: 2, S: 5, H: 4, Hkv: 2, Dh: 10, kvOffset: 2, causal: true, inPlace: true },
  },
];

function randomCases(): ConformanceCase[] {
  return RANDOM_CONFIGS.map((c) => {
    const random = new Random(`attention ${c.name}`);
    const range = c.range ?? 1;
    return kernelCase('attention', `random ${c.name}`, {
      inputs: {
        q: random.tensor([c.B, c.T, c.H * c.Dh], -range, range),
        k: random.tensor([c.B, c.S, c.Hkv * c.Dh], -range, range),
        v: random.tensor([c.B, c.S, c.Hkv * c.Dh], -range, range),
      },
      attrs: {
        numHeads: c.H,
        numKvHeads: c.Hkv,
        headDim: c.Dh,
        kvOffset: c.kvOffset,
        causal: c.causal,
        ...(c.validLengths ? { validLengths: c.validLengths } : {}),
        ...(c.sequenceStarts ? { sequenceStarts: c.sequenceStarts } : {}),
        ...(c.scale !== undefined ? { scale: c.scale } : {}),
        ...(c.bias ? { scoreBias: c.bias(random, c.H) } : {}),
      },
      out: c.inPlace ? inPlace('q') : output([c.B, c.T, c.H * c.Dh]),
    });
  });
}

function invalidCases(): ConformanceCase[] {
  const q = tensor([1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const kv = tensor([1, 4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const attrs: Attrs = { numHeads: 2, numKvHeads: 1, headDim: 2, kvOffset: 1, causal: true };
  const invalid = (
    name: string,
    code: 'SHAPE_MISMATCH' | 'INVALID_ARGUMENT',
    change: Record<string, unknown>,
    inputs: Record<string, CaseTensor> = {},
    outShape: number[] = [1, 2, 4],
  ) =>
    errorCase('attention', name, code, {
      inputs: { q, k: kv, v: kv, ...inputs },
      attrs: { ...attrs, ...change },
      out: output(outShape),
    });
  return [
    invalid('kvOffset + T > S', 'INVALID_ARGUMENT', { kvOffset: 3 }),
    invalid('negative kvOffset', 'INVALID_ARGUMENT', { kvOffset: -1 }),
    invalid(
      'numHeads not a multiple of numKvHeads (6 / 4)',
      'INVALID_ARGUMENT',
      { numHeads: 6, numKvHeads: 4, kvOffset: 0 },
      { q: tensor([1, 1, 12], new Array(12).fill(0)), k: tensor([1, 1, 8], new Array(8).fill(0)) },
    ),
    invalid('numHeads 0', 'INVALID_ARGUMENT', { numHeads: 0 }),
    invalid('validLengths length differs from B', 'INVALID_ARGUMENT', { validLengths: [2, 2] }),
    invalid('validLengths above S', 'INVALID_ARGUMENT', { validLengths: [5] }),
    invalid('negative validLengths', 'INVALID_ARGUMENT', { validLengths: [-1] }),
    invalid('non-integer validLengths', 'INVALID_ARGUMENT', { validLengths: [1.5] }),
    invalid('sequenceStarts length differs from B', 'INVALID_ARGUMENT', { sequenceStarts: [0, 0] }),
    invalid('sequenceStarts above S', 'INVALID_ARGUMENT', { sequenceStarts: [5] }),
    invalid('negative sequenceStarts', 'INVALID_ARGUMENT', { sequenceStarts: [-1] }),
    invalid('non-integer sequenceStarts', 'INVALID_ARGUMENT', { sequenceStarts: [0.5] }),
    invalid('causal missing', 'INVALID_ARGUMENT', { causal: undefined }),
    invalid('NaN scale', 'INVALID_ARGUMENT', { scale: Number.NaN }),
    invalid('ALiBi slopes length differs from numHeads', 'INVALID_ARGUMENT', {
      scoreBias: { type: 'alibi', slopes: Float32Array.from([1]) },
    }),
    invalid('T5 table length differs from numBuckets * numHeads', 'INVALID_ARGUMENT', {
      scoreBias: {
        type: 't5',
        numBuckets: 4,
        maxDistance: 8,
        bidirectional: false,
        table: new Float32Array(4),
      },
    }),
    invalid('unknown score-bias type', 'INVALID_ARGUMENT', { scoreBias: { type: 'rope' } }),
    invalid('k and v shapes differ', 'SHAPE_MISMATCH', {}, { v: tensor([1, 3, 2], [1, 2, 3, 4, 5, 6]) }),
    invalid('q width differs from numHeads * headDim', 'SHAPE_MISMATCH', { headDim: 3 }),
    invalid(
      'batch of k differs from q',
      'SHAPE_MISMATCH',
      {},
      { k: tensor([2, 4, 2], new Array(16).fill(0)) },
    ),
    invalid('out shape differs from q', 'SHAPE_MISMATCH', {}, {}, [1, 2, 2]),
    invalid(
      'q of rank 4',
      'SHAPE_MISMATCH',
      {},
      { q: tensor([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) },
      [1, 1, 2, 4],
    ),
    errorCase('attention', 'out is k', 'INVALID_ARGUMENT', {
      inputs: {
        q: tensor([1, 2, 2], [1, 2, 3, 4]),
        k: tensor([1, 2, 2], [1, 2, 3, 4]),
        v: tensor([1, 2, 2], [1, 2, 3, 4]),
      },
      attrs: { ...single, headDim: 2 },
      out: inPlace('k'),
    }),
    errorCase('attention', 'q was disposed', 'INVALID_ARGUMENT', {
      inputs: { q, k: kv, v: kv },
      attrs,
      out: output([1, 2, 4]),
      tamper: { input: 'q', how: 'disposed' },
    }),
  ];
}

/** attention: scaled dot-product attention over a KV cache (GQA, masks, kvOffset, score biases). */
export function attentionCases(): ConformanceCase[] {
  return [...handCases(), ...randomCases(), ...invalidCases()];
}
