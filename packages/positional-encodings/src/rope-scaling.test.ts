import type { PositionalEncodingContext } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { ropeFactory } from './rope.js';
import { parseRopeScaling, type RopeScalingSpec, ropeInverseFrequencies } from './rope-scaling.js';
import { rotaryAngles } from './visualization.js';

function context(headDim: number, maxPositions = 4096): PositionalEncodingContext {
  return { modelDim: headDim, numHeads: 1, headDim, maxPositions };
}

function scaling(value: Record<string, unknown>, rotaryDim: number, maxPositions = 4096): RopeScalingSpec {
  return parseRopeScaling(
    'test',
    'positionalEncoding.scaling',
    value,
    rotaryDim,
    context(rotaryDim, maxPositions),
  )!;
}

/** Float32 rounding at each step leaves a few ulps (1 ulp ≈ 6e-8 relative) of difference from float64. */
function expectClose(actual: number, expected: number, relative = 1e-6): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.abs(expected));
}

function expectFrequencies(actual: Float32Array, expected: Record<number, number>): void {
  for (const [index, value] of Object.entries(expected)) expectClose(actual[Number(index)], value);
}

describe('plain RoPE frequencies', () => {
  it('are base^(-2i/dim)', () => {
    // dim 8, base 10000: 10000^(-2i/8) = 10^(-i).
    expectFrequencies(ropeInverseFrequencies(10000, 8), { 0: 1, 1: 0.1, 2: 0.01, 3: 0.001 });
    // dim 128, base 500000, i = 32: 500000^(-1/2) = 1 / 707.1067811865476.
    expectFrequencies(ropeInverseFrequencies(500000, 128), { 0: 1, 32: 0.001414213562373095 });
  });
});

describe('linear scaling', () => {
  it('divides every frequency by the factor', () => {
    // 10^(-i) / 4.
    expectFrequencies(ropeInverseFrequencies(10000, 8, scaling({ type: 'linear', factor: 4 }, 8)), {
      0: 0.25,
      1: 0.025,
      2: 0.0025,
      3: 0.00025,
    });
    // dim 128, i = 32: 10000^(-64/128) / 2 = 0.01 / 2.
    expectFrequencies(ropeInverseFrequencies(10000, 128, scaling({ type: 'linear', factor: 2 }, 128)), {
      32: 0.005,
    });
  });

  it('equals dividing positions by the factor', () => {
    const plain = rotaryAngles(ropeFactory.create({ type: 'rope' }, context(16)), 3).values;
    const scaled = rotaryAngles(
      ropeFactory.create({ type: 'rope', scaling: { type: 'linear', factor: 4 } }, context(16)),
      9,
    ).values;
    // Position 8 with factor 4 turns like position 2 unscaled (8 × inv/4 is exact in float32).
    for (let i = 0; i < 8; i++) expect(scaled[8 * 8 + i]).toBe(plain[2 * 8 + i]);
  });
});

describe('NTK-aware scaling', () => {
  it('raises the base to base * factor^(dim/(dim-2))', () => {
    // dim 8, factor 4: base' = 10000 * 4^(4/3) = 63496.042..., so
    // inv_i = base'^(-i/4) = 10^(-i) * 4^(-i/3): [1, 1/(10 * 1.587401), 1/(100 * 2.519842), 1/(1000 * 4)].
    expectFrequencies(ropeInverseFrequencies(10000, 8, scaling({ type: 'ntk', factor: 4 }, 8)), {
      0: 1,
      1: 0.06299605249474366,
      2: 0.003968502629920499,
      3: 0.00025,
    });
  });

  it('keeps the highest frequency and divides the lowest by exactly the factor', () => {
    // Exponent 2i/dim × dim/(dim-2) = 2i/(dim-2): 0 for i = 0, 1 for i = dim/2 - 1.
    for (const [dim, factor] of [
      [64, 2],
      [128, 8],
      [32, 3],
    ]) {
      const plain = ropeInverseFrequencies(10000, dim);
      const ntk = ropeInverseFrequencies(10000, dim, scaling({ type: 'ntk', factor }, dim));
      expect(ntk[0]).toBe(1);
      expectClose(ntk[dim / 2 - 1], plain[dim / 2 - 1] / factor);
    }
  });
});

describe('dynamic NTK scaling', () => {
  const spec = { type: 'dynamic-ntk', factor: 2, originalMaxPositions: 100 };

  it('leaves frequencies unscaled up to originalMaxPositions', () => {
    const plain = ropeInverseFrequencies(10000, 8);
    for (const length of [0, 1, 50, 100]) {
      expect(Array.from(ropeInverseFrequencies(10000, 8, scaling(spec, 8), length))).toEqual(
        Array.from(plain),
      );
    }
  });

  it('grows the base with the sequence length past it', () => {
    // L = 150: growth = 2 × 150/100 - (2 - 1) = 2, base' = 10000 × 2^(4/3): inv_i = 10^(-i) × 2^(-i/3).
    expectFrequencies(ropeInverseFrequencies(10000, 8, scaling(spec, 8), 150), {
      0: 1,
      1: 0.07937005259840997,
      2: 0.006299605249474365,
      3: 0.0005,
    });
    // L = 200: growth = 3, inv_i = 10^(-i) × 3^(-i/3).
    expectFrequencies(ropeInverseFrequencies(10000, 8, scaling(spec, 8), 200), {
      0: 1,
      1: 0.06933612743506347,
      2: 0.004807498567691361,
      3: 0.0003333333333333334,
    });
  });

  it('defaults originalMaxPositions to the context length', () => {
    expect(scaling({ type: 'dynamic-ntk', factor: 2 }, 8, 512)).toEqual({
      type: 'dynamic-ntk',
      factor: 2,
      originalMaxPositions: 512,
    });
  });

  it('picks the sequence length start + count for the rotary tables', () => {
    const encoding = ropeFactory.create({ type: 'rope', scaling: spec }, context(8));
    // Ends at 100: unscaled, from the shared cache.
    expect(Array.from(rotaryAngles(encoding, 100).values.subarray(4, 8))).toEqual(
      Array.from(ropeInverseFrequencies(10000, 8)),
    );
    // Ends at 150: row 1 holds 1 × inv for L = 150.
    const tables = encoding.rotary!(1, 149);
    const inv150 = ropeInverseFrequencies(10000, 8, scaling(spec, 8), 150);
    for (let i = 0; i < 4; i++) expect(tables.cos[i]).toBe(Math.fround(Math.cos(inv150[i])));
    // The same request again returns the kept result.
    expect(encoding.rotary!(1, 149)).toBe(tables);
  });
});

describe('YaRN scaling', () => {
  // dim 128, base 10000, factor 4, originalMaxPositions 4096, betaFast 32, betaSlow 1:
  // find_correction_dim(r) = 128 ln(4096 / (2π r)) / (2 ln 10000):
  //   r = 32 → 20.9445 → floor 20 = low;  r = 1 → 45.0269 → ceil 46 = high.
  // ramp_i = clamp((i - 20) / 26, 0, 1); inv_i = plain_i × (ramp_i / 4 + (1 - ramp_i)).
  const yarn = { type: 'yarn', factor: 4, originalMaxPositions: 4096 };

  it('keeps frequencies below the correction range and interpolates those above', () => {
    expectFrequencies(ropeInverseFrequencies(10000, 128, scaling(yarn, 128)), {
      0: 1, // plain
      20: 0.05623413251903491, // ramp 0: plain 10000^(-40/128)
      21: 0.047292038501684786, // ramp 1/26: 10000^(-42/128) × (1/104 + 25/26)
      33: 0.005412277021000409, // ramp 1/2: 10000^(-66/128) × 0.625
      45: 0.0004294025889973583, // ramp 25/26
      46: 0.000333380358040831, // ramp 1: 10000^(-92/128) / 4
      63: 2.8869549617236455e-5, // 10000^(-126/128) / 4
    });
  });

  it('uses the unrounded correction range when truncate is false', () => {
    // low = 20.9445, high = 45.0269, so i = 20 is still plain and i = 21 is barely scaled.
    expectFrequencies(ropeInverseFrequencies(10000, 128, scaling({ ...yarn, truncate: false }, 128)), {
      20: 0.05623413251903491,
      21: 0.04861255519347015,
      33: 0.005408415480185451,
      45: 0.0003862708049497823,
      46: 0.000333380358040831,
    });
  });

  it('clamps the range to [0, dim - 1]', () => {
    // dim 8, originalMaxPositions 16: cd(32) = 8 ln(16 / 64π) / (2 ln 10000) = -1.099 → low 0;
    // cd(1) = 0.406 → high 1. So pair 0 extrapolates and the rest interpolate: 10^(-i) / 4.
    expectFrequencies(
      ropeInverseFrequencies(10000, 8, scaling({ type: 'yarn', factor: 4, originalMaxPositions: 16 }, 8)),
      {
        0: 1,
        1: 0.025,
        2: 0.0025,
        3: 0.00025,
      },
    );
  });

  it('reports attentionFactor = mscale^2 with mscale = 0.1 ln(factor) + 1', () => {
    const factorOf = (spec: Record<string, unknown>) =>
      ropeFactory.create({ type: 'rope', scaling: spec }, context(128)).rotary!(0, 1).attentionFactor;
    // (0.1 ln 4 + 1)^2 = 1.138629436^2.
    expectClose(factorOf(yarn), 1.2964769927807063, 1e-12);
    // (0.1 ln 16 + 1)^2 = 1.277258872^2.
    expectClose(factorOf({ ...yarn, factor: 16 }), 1.6313902266748685, 1e-12);
    // An explicit mscale (HF's `attention_factor`) replaces the default.
    expect(factorOf({ ...yarn, mscale: 1.5 })).toBe(2.25);
    // factor 1: mscale 1.
    expect(factorOf({ ...yarn, factor: 1 })).toBe(1);
    // Other scalings leave the scores alone.
    expect(factorOf({ type: 'llama3', factor: 8 })).toBe(1);
  });

  it('fills in its defaults', () => {
    expect(scaling({ type: 'yarn', factor: 4 }, 64, 2048)).toEqual({
      type: 'yarn',
      factor: 4,
      originalMaxPositions: 2048,
      betaFast: 32,
      betaSlow: 1,
      mscale: 0.1 * Math.log(4) + 1,
      truncate: true,
    });
  });
});

describe('Llama 3 scaling', () => {
  it('splits frequencies into kept, scaled and blended bands (dim 8)', () => {
    // base 10000, factor 8, originalMaxPositions 1024, low/high freq factors 1/4:
    // wavelengths 2π × 10^i = 6.28, 62.8, 628.3, 6283.2; kept below 1024/4 = 256, scaled above 1024.
    // i = 2 blends: smooth = (1024 / 628.3185 - 1) / 3 = 0.209916; inv = 0.01 × ((1 - s)/8 + s).
    expectFrequencies(
      ropeInverseFrequencies(10000, 8, scaling({ type: 'llama3', factor: 8, originalMaxPositions: 1024 }, 8)),
      { 0: 1, 1: 0.1, 2: 0.003086760967011274, 3: 0.000125 },
    );
  });

  it('matches Llama 3.1 settings (dim 128, base 500000, factor 8, 8192)', () => {
    // Blended band: wavelengths in [2048, 8192], i = 29..34; e.g. i = 32: inv = 500000^(-1/2),
    // wavelength 4442.88, smooth = (8192 / 4442.88 - 1) / 3 = 0.281283, inv' = inv × 0.371123.
    expectFrequencies(ropeInverseFrequencies(500000, 128, scaling({ type: 'llama3', factor: 8 }, 128)), {
      0: 1,
      27: 0.003942276030116656, // wavelength 1593.8: kept
      29: 0.002166570763503359,
      32: 0.0005248461609929547,
      34: 0.0001785078127679964,
      36: 7.78465527393245e-5, // wavelength 10089: divided by 8
      63: 3.068925988914511e-7,
    });
  });

  it('fills in its defaults', () => {
    expect(scaling({ type: 'llama3', factor: 8 }, 64)).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
  });
});

describe('scaled bases', () => {
  it('rejects a factor that pushes the NTK base past float32', () => {
    expect(() =>
      ropeFactory.create({ type: 'rope', base: 1e38, scaling: { type: 'ntk', factor: 1000 } }, context(8)),
    ).toThrow(/past the float32 range/);
  });
});
