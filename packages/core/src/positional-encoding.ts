/**
 * The positional-encoding plug-in contract. Implementations live in `@rotor/positional-encodings`.
 *
 * A strategy uses any of three hooks, and returns plain tables or descriptors — never backend
 * tensors — so it works with every backend:
 * - additive: a `[positions, D]` table added to the token embeddings (sinusoidal, learned);
 * - rotary: cos/sin tables applied to queries and keys in every layer (RoPE);
 * - score bias: a descriptor the attention kernel evaluates in-kernel (ALiBi, T5).
 */
import type { RotaryLayout, ScoreBiasDescriptor } from './kernels.js';

/** A JSON description of a strategy, e.g. `{"type":"rope","layout":"interleaved","base":10000}`. */
export interface PositionalEncodingSpec {
  /** Registered strategy name. */
  readonly type: string;
  readonly [option: string]: unknown;
}

/** What a strategy is bound to: the model's dimensions and, for learned strategies, its weights. */
export interface PositionalEncodingContext {
  /** Model width `D` (embedding size). */
  readonly modelDim: number;
  /** Query heads `H`. */
  readonly numHeads: number;
  /** Head width `Dh`. */
  readonly headDim: number;
  /** Positions the model was trained for (context length). */
  readonly maxPositions: number;
  /** Looks up a weight tensor by name (learned tables); undefined when absent. */
  readonly weight?: (name: string) => Float32Array | undefined;
}

/** cos/sin tables for rotary encodings. */
export interface RotaryTables {
  /** Pair layout the tables are meant for. */
  readonly layout: RotaryLayout;
  /** Leading dimensions of each head that rotate (even, `<= headDim`). */
  readonly rotaryDim: number;
  /** First position covered by row 0. */
  readonly start: number;
  /** `cos(angle)`, `[count, rotaryDim / 2]`: row r is position `start + r`, column i pair i. */
  readonly cos: Float32Array;
  /** `sin(angle)`, same shape as {@link cos}. */
  readonly sin: Float32Array;
  /**
   * Factor to multiply the attention scores by in addition to `1/sqrt(Dh)` (YaRN's attention
   * temperature enters here as `mscale^2`); 1 for plain RoPE.
   */
  readonly attentionFactor: number;
}

/** Which hooks a strategy uses. */
export interface PositionalEncodingHooks {
  readonly additive: boolean;
  readonly rotary: boolean;
  readonly scoreBias: boolean;
}

/** A positional-encoding strategy bound to a model's dimensions. */
export interface PositionalEncoding {
  /** Registered strategy name (the spec's `type`). */
  readonly type: string;
  /** The normalised spec, with defaults filled in. */
  readonly spec: PositionalEncodingSpec;
  /** Hooks this strategy uses; the model calls only these. */
  readonly hooks: PositionalEncodingHooks;
  /**
   * Longest sequence it can encode (`Infinity` when unbounded). Learned tables are bounded by
   * their length.
   */
  readonly maxPositions: number;
  /**
   * True when the rotary tables of a position depend on the current sequence length (dynamic
   * NTK): the model then asks for the tables of each new window instead of caching `[0, S)`.
   */
  readonly lengthDependent?: boolean;
  /** Additive hook: `[count, modelDim]` row-major values for positions `[start, start + count)`. */
  additive?(start: number, count: number): Float32Array;
  /** Rotary hook: tables for positions `[start, start + count)`. */
  rotary?(start: number, count: number): RotaryTables;
  /** Score-bias hook: a descriptor for the attention kernel. */
  scoreBias?(): ScoreBiasDescriptor;
}

/** Creates a strategy from its spec. Registered with a positional-encoding registry. */
export interface PositionalEncodingFactory {
  /** The spec `type` it handles. */
  readonly type: string;
  /**
   * Validates `spec` and binds it to `context`. Throws `InvalidArgumentError` naming the field,
   * the value and what is allowed.
   */
  create(spec: PositionalEncodingSpec, context: PositionalEncodingContext): PositionalEncoding;
}
