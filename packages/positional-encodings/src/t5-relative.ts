/**
 * T5 relative-position bias (Raffel et al. 2020): a learned scalar per head for each of
 * `numBuckets` distance buckets, added to the attention scores. Buckets are exact for short
 * distances and log-spaced up to `maxDistance`, beyond which they saturate.
 */
import {
  t5RelativeBucket as coreT5RelativeBucket,
  type PositionalEncoding,
  type PositionalEncodingFactory,
  type PositionalEncodingSpec,
  ShapeError,
  type T5RelativeBias,
} from '@rotor/core';
import { checkContext, fieldError, readSpec, requireWeight } from './validation.js';

/** Normalised spec, e.g. `{"type":"t5-relative","numBuckets":32,"maxDistance":128,"bidirectional":false,"weight":"relative_attention_bias"}`. */
export interface T5RelativeSpec extends PositionalEncodingSpec {
  readonly type: 't5-relative';
  /** Buckets, default 32: at least 2, or 4 when bidirectional. */
  readonly numBuckets: number;
  /** Distance where the log-spaced buckets end, default 128; above the exact range. */
  readonly maxDistance: number;
  /** Separate buckets for keys after the query (encoders); default false, as for a causal decoder. */
  readonly bidirectional: boolean;
  /** Name of the `[numBuckets, numHeads]` table passed to `context.weight`; default `relative_attention_bias`. */
  readonly weight: string;
}

/** Size of the exact range: half the buckets of one direction. */
function exactBuckets(numBuckets: number, bidirectional: boolean): number {
  return Math.floor((bidirectional ? Math.floor(numBuckets / 2) : numBuckets) / 2);
}

/**
 * The bucket of `relativePosition = key - query`, exactly as Hugging Face T5
 * `_relative_position_bucket` computes it (float32 `log`, truncation towards zero):
 * - bidirectional: half the buckets for keys after the query (`relativePosition > 0`), half for
 *   the rest, by distance `|relativePosition|`; otherwise only keys at or before the query are
 *   told apart (distance `max(-relativePosition, 0)`, later keys share bucket 0);
 * - distances below `maxExact = buckets / 2` are their own bucket; larger ones get
 *   `maxExact + trunc(ln(d / maxExact) / ln(maxDistance / maxExact) * (buckets - maxExact))`,
 *   capped at `buckets - 1` (`buckets` = the buckets of one direction).
 */
/** Validating wrapper of `t5RelativeBucket` from `@rotor/core`. */
export function t5RelativeBucket(
  relativePosition: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  const where = 't5RelativeBucket';
  if (!Number.isSafeInteger(relativePosition)) {
    throw fieldError(where, 'relativePosition', 'an integer', relativePosition);
  }
  if (typeof bidirectional !== 'boolean')
    throw fieldError(where, 'bidirectional', 'true or false', bidirectional);
  const minBuckets = bidirectional ? 4 : 2;
  if (!Number.isSafeInteger(numBuckets) || numBuckets < minBuckets) {
    throw fieldError(where, 'numBuckets', `an integer >= ${minBuckets}`, numBuckets);
  }
  const maxExact = exactBuckets(numBuckets, bidirectional);
  if (!Number.isSafeInteger(maxDistance) || maxDistance <= maxExact) {
    throw fieldError(where, 'maxDistance', `an integer > ${maxExact}`, maxDistance);
  }
  return coreT5RelativeBucket(relativePosition, bidirectional, numBuckets, maxDistance);
}

class T5RelativeEncoding implements PositionalEncoding {
  readonly type = 't5-relative';
  readonly hooks = Object.freeze({ additive: false, rotary: false, scoreBias: true });
  readonly maxPositions = Number.POSITIVE_INFINITY;
  private readonly descriptor: T5RelativeBias;

  constructor(
    readonly spec: T5RelativeSpec,
    table: Float32Array,
  ) {
    this.descriptor = Object.freeze({
      type: 't5',
      numBuckets: spec.numBuckets,
      maxDistance: spec.maxDistance,
      bidirectional: spec.bidirectional,
      table,
    });
  }

  /** The same descriptor on every call; its `table` is a view of the weights: do not write to it. */
  scoreBias(): T5RelativeBias {
    return this.descriptor;
  }
}

/** Factory of the `t5-relative` strategy: reads its table through `context.weight(spec.weight)`. */
export const t5RelativeFactory: PositionalEncodingFactory = {
  type: 't5-relative',
  create(spec, context): PositionalEncoding {
    checkContext('t5-relative', context);
    const where = 'positional encoding "t5-relative"';
    const reader = readSpec(spec, 't5-relative', ['numBuckets', 'maxDistance', 'bidirectional', 'weight']);
    const bidirectional = reader.boolean('bidirectional', false);
    const numBuckets = reader.number('numBuckets', {
      default: 32,
      integer: true,
      min: bidirectional ? 4 : 2,
    });
    const maxDistance = reader.number('maxDistance', {
      default: 128,
      integer: true,
      greaterThan: exactBuckets(numBuckets, bidirectional),
    });
    const normalised: T5RelativeSpec = Object.freeze({
      type: 't5-relative',
      numBuckets,
      maxDistance,
      bidirectional,
      weight: reader.string('weight', 'relative_attention_bias'),
    });
    const table = requireWeight(
      't5-relative',
      context,
      normalised.weight,
      `[${numBuckets}, ${context.numHeads}]`,
    );
    if (table.length !== numBuckets * context.numHeads) {
      throw new ShapeError(
        `${where}: weight "${normalised.weight}": expected a [numBuckets ${numBuckets}, numHeads ${context.numHeads}] table of ${numBuckets * context.numHeads} values, found ${table.length} values`,
        {
          details: {
            weight: normalised.weight,
            length: table.length,
            numBuckets,
            numHeads: context.numHeads,
          },
        },
      );
    }
    return new T5RelativeEncoding(normalised, table);
  },
};
