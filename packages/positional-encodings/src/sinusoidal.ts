/**
 * Sinusoidal absolute positions (Vaswani et al. 2017), added to the token embeddings:
 * `PE(pos, 2i) = sin(pos / base^(2i/D))`, `PE(pos, 2i+1) = cos(pos / base^(2i/D))`.
 * Each (sin, cos) pair shares one frequency; the pairs are interleaved along the model width.
 */
import type { PositionalEncoding, PositionalEncodingFactory, PositionalEncodingSpec } from '@rotor/core';
import { checkContext, checkWindow, readSpec } from './validation.js';

/** Normalised spec: `{"type":"sinusoidal","base":10000}`. */
export interface SinusoidalSpec extends PositionalEncodingSpec {
  readonly type: 'sinusoidal';
  /** Wavelength base, `> 1`; default 10000. */
  readonly base: number;
}

class SinusoidalEncoding implements PositionalEncoding {
  readonly type = 'sinusoidal';
  readonly hooks = Object.freeze({ additive: true, rotary: false, scoreBias: false });
  readonly maxPositions = Number.POSITIVE_INFINITY;
  /** `base^(2i/D)` per pair, kept in float64 so the table is as accurate as float32 allows. */
  private readonly wavelengths: Float64Array;

  constructor(
    readonly spec: SinusoidalSpec,
    private readonly modelDim: number,
  ) {
    this.wavelengths = new Float64Array(Math.ceil(modelDim / 2));
    for (let i = 0; i < this.wavelengths.length; i++) this.wavelengths[i] = spec.base ** ((2 * i) / modelDim);
  }

  /** Computed on every call (cheap: one sin and one cos per value); the result is the caller's. */
  additive(start: number, count: number): Float32Array {
    checkWindow(this.type, start, count, this.maxPositions, this.modelDim);
    const width = this.modelDim;
    const out = new Float32Array(count * width);
    for (let row = 0; row < count; row++) {
      const position = start + row;
      for (let dim = 0; dim < width; dim++) {
        const angle = position / this.wavelengths[dim >> 1];
        out[row * width + dim] = dim % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
    }
    return out;
  }
}

/** Factory of the `sinusoidal` strategy (additive hook, unbounded length). */
export const sinusoidalFactory: PositionalEncodingFactory = {
  type: 'sinusoidal',
  create(spec, context): PositionalEncoding {
    checkContext('sinusoidal', context);
    const reader = readSpec(spec, 'sinusoidal', ['base']);
    const normalised: SinusoidalSpec = Object.freeze({
      type: 'sinusoidal',
      base: reader.number('base', { default: 10000, greaterThan: 1 }),
    });
    return new SinusoidalEncoding(normalised, context.modelDim);
  },
};
