/**
 * ALiBi (Press et al. 2022, "Train Short, Test Long"): nothing is added to the vectors; the
 * attention kernel adds `-slope[h] * |i - j|` to the score of query `i` and key `j`.
 */
import type {
  AlibiBias,
  PositionalEncoding,
  PositionalEncodingFactory,
  PositionalEncodingSpec,
} from '@rotor/core';
import { checkContext, fieldError, readSpec } from './validation.js';

/** Keeps every slope (at least `2^-maxBias`) a normal float32 rather than 0 or a denormal. */
const MAX_BIAS_LIMIT = 126;

/** Normalised spec: `{"type":"alibi","maxBias":8}`. */
export interface AlibiSpec extends PositionalEncodingSpec {
  readonly type: 'alibi';
  /**
   * Sum of the exponents' scale: with `n` heads a power of two, slopes are `2^(-maxBias * k / n)`,
   * `k = 1..n`. Default 8, the paper's value (BLOOM, MPT and llama.cpp's `max_alibi_bias` agree).
   */
  readonly maxBias: number;
}

/**
 * Per-head slopes, the recipe of the paper's `get_slopes`: for `n` a power of two, the geometric
 * sequence `start^k`, `k = 1..n`, `start = 2^(-maxBias / n)` (8 heads: 1/2, 1/4, ..., 1/256).
 * Otherwise, with `p` the largest power of two below `n`, the `p` slopes of `p` heads followed by
 * every other slope of `2p` heads (the odd powers `2^(-maxBias * (2k - 1) / 2p)`), `n - p` of them.
 */
export function alibiSlopes(numHeads: number, maxBias = 8): Float32Array {
  if (!Number.isSafeInteger(numHeads) || numHeads < 1) {
    throw fieldError('alibiSlopes', 'numHeads', 'an integer >= 1', numHeads);
  }
  if (!(maxBias > 0 && maxBias <= MAX_BIAS_LIMIT)) {
    throw fieldError('alibiSlopes', 'maxBias', `a number > 0 and <= ${MAX_BIAS_LIMIT}`, maxBias);
  }
  const slopes = new Float32Array(numHeads);
  const closestPowerOfTwo = 2 ** Math.floor(Math.log2(numHeads));
  for (let h = 0; h < numHeads; h++) {
    slopes[h] =
      h < closestPowerOfTwo
        ? 2 ** ((-maxBias * (h + 1)) / closestPowerOfTwo)
        : 2 ** ((-maxBias * (2 * (h - closestPowerOfTwo) + 1)) / (2 * closestPowerOfTwo));
  }
  return slopes;
}

class AlibiEncoding implements PositionalEncoding {
  readonly type = 'alibi';
  readonly hooks = Object.freeze({ additive: false, rotary: false, scoreBias: true });
  readonly maxPositions = Number.POSITIVE_INFINITY;
  private readonly descriptor: AlibiBias;

  constructor(
    readonly spec: AlibiSpec,
    numHeads: number,
  ) {
    this.descriptor = Object.freeze({ type: 'alibi', slopes: alibiSlopes(numHeads, spec.maxBias) });
  }

  /** The same descriptor on every call; callers must not write to its `slopes`. */
  scoreBias(): AlibiBias {
    return this.descriptor;
  }
}

/** Factory of the `alibi` strategy (score-bias hook, one slope per query head). */
export const alibiFactory: PositionalEncodingFactory = {
  type: 'alibi',
  create(spec, context): PositionalEncoding {
    checkContext('alibi', context);
    const reader = readSpec(spec, 'alibi', ['maxBias']);
    const normalised: AlibiSpec = Object.freeze({
      type: 'alibi',
      maxBias: reader.number('maxBias', { default: 8, greaterThan: 0, max: MAX_BIAS_LIMIT }),
    });
    return new AlibiEncoding(normalised, context.numHeads);
  },
};
