/**
 * Learned absolute positions (GPT-1, GPT-2): a trained table `[maxPositions, D]`, row `pos` added
 * to the token embedding at position `pos`. It cannot encode positions past its last row.
 */
import {
  type PositionalEncoding,
  type PositionalEncodingFactory,
  type PositionalEncodingSpec,
  ShapeError,
} from '@rotor/core';
import { checkContext, checkWindow, readSpec, requireWeight } from './validation.js';

/** Normalised spec: `{"type":"learned","weight":"wpe"}`. */
export interface LearnedSpec extends PositionalEncodingSpec {
  readonly type: 'learned';
  /** Name of the `[maxPositions, D]` table passed to `context.weight`; default `wpe`. */
  readonly weight: string;
}

class LearnedEncoding implements PositionalEncoding {
  readonly type = 'learned';
  readonly hooks = Object.freeze({ additive: true, rotary: false, scoreBias: false });
  readonly maxPositions: number;

  constructor(
    readonly spec: LearnedSpec,
    private readonly table: Float32Array,
    private readonly modelDim: number,
  ) {
    this.maxPositions = table.length / modelDim;
  }

  /**
   * Rows `[start, start + count)` of the table as a view into the weights, without copying:
   * callers must not write to it. Past the table's end → `ContextOverflowError`.
   */
  additive(start: number, count: number): Float32Array {
    checkWindow(this.type, start, count, this.maxPositions, this.modelDim);
    return this.table.subarray(start * this.modelDim, (start + count) * this.modelDim);
  }
}

/** Factory of the `learned` strategy: reads its table through `context.weight(spec.weight)`. */
export const learnedFactory: PositionalEncodingFactory = {
  type: 'learned',
  create(spec, context): PositionalEncoding {
    checkContext('learned', context);
    const reader = readSpec(spec, 'learned', ['weight']);
    const normalised: LearnedSpec = Object.freeze({
      type: 'learned',
      weight: reader.string('weight', 'wpe'),
    });
    const where = 'positional encoding "learned"';
    const table = requireWeight('learned', context, normalised.weight, `[maxPositions, ${context.modelDim}]`);
    if (table.length === 0 || table.length % context.modelDim !== 0) {
      throw new ShapeError(
        `${where}: weight "${normalised.weight}": expected a [maxPositions, ${context.modelDim}] table (a non-zero multiple of ${context.modelDim} values), found ${table.length} values`,
        { details: { weight: normalised.weight, length: table.length, modelDim: context.modelDim } },
      );
    }
    return new LearnedEncoding(normalised, table, context.modelDim);
  },
};
