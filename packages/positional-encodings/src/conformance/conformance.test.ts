import type { PositionalEncodingContext } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { alibiFactory } from '../alibi.js';
import { learnedFactory } from '../learned.js';
import { noneFactory } from '../none.js';
import { builtinPositionalEncodings } from '../registry.js';
import { ropeFactory } from '../rope.js';
import { sinusoidalFactory } from '../sinusoidal.js';
import { t5RelativeFactory } from '../t5-relative.js';
import { type ConformanceCase, runPositionalEncodingConformance } from './index.js';

const weights: Record<string, Float32Array> = {
  wpe: Float32Array.from({ length: 24 * 16 }, (_, k) => Math.sin(k)),
  relative_attention_bias: Float32Array.from({ length: 32 * 4 }, (_, k) => Math.cos(k)),
  small_bias: Float32Array.from({ length: 8 * 4 }, (_, k) => k),
};
const context: PositionalEncodingContext = {
  modelDim: 16,
  numHeads: 4,
  headDim: 4,
  maxPositions: 16,
  weight: (name) => weights[name],
};
const wide: PositionalEncodingContext = { modelDim: 128, numHeads: 2, headDim: 64, maxPositions: 16 };

const cases = new Map<string, ConformanceCase[]>([
  ['none', [{ spec: { type: 'none' }, context }]],
  [
    'sinusoidal',
    [
      { spec: { type: 'sinusoidal' }, context },
      { spec: { type: 'sinusoidal', base: 100 }, context: { ...context, modelDim: 7 } },
    ],
  ],
  ['learned', [{ spec: { type: 'learned' }, context }]],
  [
    'rope',
    [
      { spec: { type: 'rope' }, context },
      { spec: { type: 'rope', layout: 'half-split', base: 500000, rotaryDim: 16 }, context: wide },
      { spec: { type: 'rope', scaling: { type: 'linear', factor: 2 } }, context: wide },
      { spec: { type: 'rope', scaling: { type: 'ntk', factor: 4 } }, context: wide },
      // maxPositions 16: windows up to 40 cross originalMaxPositions, exercising both paths.
      { spec: { type: 'rope', scaling: { type: 'dynamic-ntk', factor: 2 } }, context: wide },
      {
        spec: { type: 'rope', scaling: { type: 'yarn', factor: 4, originalMaxPositions: 16 } },
        context: wide,
      },
      {
        spec: { type: 'rope', scaling: { type: 'llama3', factor: 8, originalMaxPositions: 32 } },
        context: wide,
      },
    ],
  ],
  [
    'alibi',
    [
      { spec: { type: 'alibi' }, context },
      { spec: { type: 'alibi' }, context: { ...context, numHeads: 12 } },
    ],
  ],
  [
    't5-relative',
    [
      { spec: { type: 't5-relative' }, context },
      {
        spec: {
          type: 't5-relative',
          numBuckets: 8,
          maxDistance: 20,
          bidirectional: true,
          weight: 'small_bias',
        },
        context,
      },
    ],
  ],
]);

describe('every builtin strategy has conformance cases', () => {
  it('covers the builtins', () => {
    expect([...cases.keys()].sort()).toEqual(
      builtinPositionalEncodings()
        .map((factory) => factory.type)
        .sort(),
    );
  });
});

for (const factory of [
  noneFactory,
  sinusoidalFactory,
  learnedFactory,
  ropeFactory,
  alibiFactory,
  t5RelativeFactory,
]) {
  runPositionalEncodingConformance(factory, cases.get(factory.type) ?? [], { describe, expect, it });
}
