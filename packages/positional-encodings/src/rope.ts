/**
 * Rotary position embeddings (RoPE, Su et al. 2021): pair `i` of every query and key head is
 * rotated by `angle = pos * invFreq[i]`, `invFreq[i] = base^(-2i/rotaryDim)`, so `q_m · k_n`
 * depends on `m - n` only.
 *
 * Layouts (same angle for pair `i` in both): `interleaved` pairs `(x[2i], x[2i+1])` (llama2.c,
 * GGUF, GPT-J; the default) and `half-split` pairs `(x[i], x[i + rotaryDim/2])` (Hugging Face
 * `rotate_half`, GPT-NeoX).
 *
 * Exactness: the default reproduces llama2.c `run.c`, which works in float32:
 * `freq = 1.0f / powf(base, 2i / (float)head_size)`, `val = pos * freq`, `cosf(val)`, `sinf(val)`.
 * Each step here is rounded with `Math.fround` in the same order, so frequencies and angles are
 * bit-identical; cos/sin are the correctly rounded float32 values, which equal glibc's `cosf`/`sinf`
 * except in rare cases where those are 1 ulp off.
 */
import type {
  PositionalEncoding,
  PositionalEncodingFactory,
  PositionalEncodingSpec,
  RotaryLayout,
  RotaryTables,
} from '@rotor/core';
import {
  dynamicNtkLength,
  isLengthDependent,
  parseRopeScaling,
  type RopeScalingSpec,
  ropeAttentionFactor,
  ropeInverseFrequencies,
} from './rope-scaling.js';
import { checkContext, checkWindow, MAX_TABLE_ELEMENTS, readSpec, SPEC_PATH } from './validation.js';

const f = Math.fround;

/**
 * Positions RoPE can tell apart: llama2.c and HF turn positions into float32, whose integers are
 * exact only up to 2^24; past that, neighbouring positions get the same angles.
 */
export const ROPE_MAX_POSITIONS = 2 ** 24;

/** Normalised spec, e.g. `{"type":"rope","layout":"interleaved","base":10000,"rotaryDim":64}`. */
export interface RopeSpec extends PositionalEncodingSpec {
  readonly type: 'rope';
  /** Pair layout; default `interleaved`. */
  readonly layout: RotaryLayout;
  /** Base (theta), `> 1`; default 10000. */
  readonly base: number;
  /** Leading dimensions of each head that rotate: even, `2..headDim`; default `headDim`. */
  readonly rotaryDim: number;
  /** Context-extension scaling; absent for plain RoPE. */
  readonly scaling?: RopeScalingSpec;
}

/** cos/sin of `fround(pos * invFreq[i])` for positions `[start, start + count)`, row-major. */
function computeTables(
  invFreq: Float32Array,
  start: number,
  count: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(count * half);
  const sin = new Float32Array(count * half);
  for (let row = 0; row < count; row++) {
    const position = f(start + row);
    for (let i = 0; i < half; i++) {
      const angle = f(position * invFreq[i]);
      cos[row * half + i] = Math.cos(angle);
      sin[row * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Tables for positions `[0, rows)` with fixed frequencies, grown by doubling. */
class GrowingTables {
  private rows = 0;
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);

  /** @param maxRows Never grow past this many rows. */
  constructor(
    readonly invFreq: Float32Array,
    private readonly maxRows: number,
  ) {}

  /** Views of rows `[start, start + count)`; `start + count <= maxRows`. */
  window(start: number, count: number): { cos: Float32Array; sin: Float32Array } {
    const end = start + count;
    if (end > this.rows) this.grow(Math.min(Math.max(end, 2 * this.rows, 64), this.maxRows));
    const half = this.invFreq.length;
    return {
      cos: this.cos.subarray(start * half, end * half),
      sin: this.sin.subarray(start * half, end * half),
    };
  }

  private grow(rows: number): void {
    const half = this.invFreq.length;
    const added = computeTables(this.invFreq, this.rows, rows - this.rows);
    const cos = new Float32Array(rows * half);
    const sin = new Float32Array(rows * half);
    cos.set(this.cos);
    sin.set(this.sin);
    cos.set(added.cos, this.rows * half);
    sin.set(added.sin, this.rows * half);
    this.cos = cos;
    this.sin = sin;
    this.rows = rows;
  }
}

/** A RoPE strategy bound to a head width. */
export class RopeEncoding implements PositionalEncoding {
  readonly type = 'rope';
  readonly hooks = Object.freeze({ additive: false, rotary: true, scoreBias: false });
  readonly maxPositions = ROPE_MAX_POSITIONS;
  readonly lengthDependent: boolean;
  private readonly half: number;
  private readonly attentionFactor: number;
  /** Frequencies independent of length (for dynamic NTK: those up to `originalMaxPositions`). */
  private readonly tables: GrowingTables;
  /** Dynamic NTK past `originalMaxPositions`: the frequencies and tables of the last request. */
  private lastDynamic?: {
    length: number;
    invFreq: Float32Array;
    start: number;
    count: number;
    tables: RotaryTables;
  };

  constructor(readonly spec: RopeSpec) {
    this.half = spec.rotaryDim / 2;
    this.lengthDependent = isLengthDependent(spec.scaling);
    this.attentionFactor = ropeAttentionFactor(spec.scaling);
    let rows = Math.min(this.maxPositions, Math.floor(MAX_TABLE_ELEMENTS / this.half));
    if (isLengthDependent(spec.scaling)) rows = Math.min(rows, spec.scaling.originalMaxPositions);
    this.tables = new GrowingTables(ropeInverseFrequencies(spec.base, spec.rotaryDim, spec.scaling), rows);
  }

  /**
   * Tables for positions `[start, start + count)`: `cos`/`sin` `[count, rotaryDim / 2]`.
   *
   * The tables are views into a per-instance cache covering `[0, n)`, grown by doubling, so
   * repeated and overlapping requests cost no recomputation: callers must not write to them.
   *
   * Dynamic NTK makes the frequencies depend on the sequence length. Like HF (which takes
   * `max(position_ids) + 1`), the length is `start + count`: a request whose end is within
   * `originalMaxPositions` reads the shared unscaled cache; past it, the window is computed for
   * that length and only the last such result is kept (keyed by length, start and count), since
   * each decode step has a new length. Keys already in a KV cache keep the angles of the length
   * they were rotated at, as in HF.
   */
  rotary(start: number, count: number): RotaryTables {
    checkWindow(this.type, start, count, this.maxPositions, this.half);
    const { spec } = this;
    const end = start + count;
    if (
      isLengthDependent(spec.scaling) &&
      dynamicNtkLength(spec.scaling, end) > spec.scaling.originalMaxPositions
    ) {
      const length = dynamicNtkLength(spec.scaling, end);
      const last = this.lastDynamic;
      if (last?.length === length && last.start === start && last.count === count) return last.tables;
      const invFreq =
        last?.length === length
          ? last.invFreq
          : ropeInverseFrequencies(spec.base, spec.rotaryDim, spec.scaling, length);
      const tables = this.makeTables(start, computeTables(invFreq, start, count));
      this.lastDynamic = { length, invFreq, start, count, tables };
      return tables;
    }
    if (end * this.half > MAX_TABLE_ELEMENTS) {
      // Too far out to cache `[0, end)`: compute the window alone.
      return this.makeTables(start, computeTables(this.tables.invFreq, start, count));
    }
    return this.makeTables(start, this.tables.window(start, count));
  }

  /**
   * The float32 angles `fround(pos * invFreq[i])`, `[count, rotaryDim / 2]`, for positions
   * `[start, start + count)` (with dynamic NTK, for sequence length `start + count`).
   */
  rotaryAngles(start: number, count: number): Float32Array {
    checkWindow(this.type, start, count, this.maxPositions, this.half);
    const { spec } = this;
    const invFreq = isLengthDependent(spec.scaling)
      ? ropeInverseFrequencies(spec.base, spec.rotaryDim, spec.scaling, start + count)
      : this.tables.invFreq;
    const out = new Float32Array(count * this.half);
    for (let row = 0; row < count; row++) {
      const position = f(start + row);
      for (let i = 0; i < this.half; i++) out[row * this.half + i] = position * invFreq[i];
    }
    return out;
  }

  private makeTables(start: number, values: { cos: Float32Array; sin: Float32Array }): RotaryTables {
    return Object.freeze({
      layout: this.spec.layout,
      rotaryDim: this.spec.rotaryDim,
      start,
      cos: values.cos,
      sin: values.sin,
      attentionFactor: this.attentionFactor,
    });
  }
}

/** Factory of the `rope` strategy (rotary hook). */
export const ropeFactory: PositionalEncodingFactory = {
  type: 'rope',
  create(spec, context): PositionalEncoding {
    checkContext('rope', context);
    const where = 'positional encoding "rope"';
    const reader = readSpec(spec, 'rope', ['layout', 'base', 'rotaryDim', 'scaling']);
    const layout = reader.oneOf<RotaryLayout>('layout', ['interleaved', 'half-split'], 'interleaved');
    const base = reader.number('base', { default: 10000, greaterThan: 1, max: 3.4028234663852886e38 });
    const { headDim } = context;
    if (reader.raw('rotaryDim') === undefined && headDim % 2 !== 0) {
      reader.fail('rotaryDim', `an even integer <= headDim ${headDim} (the default, headDim, is odd)`);
    }
    const rotaryDim = reader.number('rotaryDim', {
      default: headDim,
      even: true,
      min: 2,
      max: headDim,
      maxLabel: `headDim ${headDim}`,
    });
    const scaling = parseRopeScaling(
      where,
      `${SPEC_PATH}.scaling`,
      reader.raw('scaling'),
      rotaryDim,
      context,
    );
    const normalised: RopeSpec = Object.freeze(
      scaling === undefined
        ? { type: 'rope', layout, base, rotaryDim }
        : { type: 'rope', layout, base, rotaryDim, scaling },
    );
    return new RopeEncoding(normalised);
  },
};
