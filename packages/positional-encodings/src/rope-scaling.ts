/**
 * RoPE inverse frequencies, plain and with context-extension scalings.
 *
 * Every step is rounded to float32 (`Math.fround`) in the order llama2.c (`run.c`) and Hugging
 * Face Transformers (`modeling_rope_utils.py`, float32 torch tensors) evaluate it, so the
 * frequencies match theirs bit for bit wherever `**`, `log` and division agree with the C/torch
 * ones. PyTorch evaluates `scalar / tensor` as `tensor.reciprocal() * scalar`; the code below
 * follows that where the HF formulas divide a number by a tensor.
 *
 * Legend: `dim` = rotaryDim, `i` = pair index in `[0, dim/2)`, `f` = float32 rounding.
 */
import { InvalidArgumentError, type PositionalEncodingContext } from '@rotor/core';
import { FieldReader } from './validation.js';

const f = Math.fround;

/** Largest finite float32; bases beyond it would turn every frequency into 0. */
const MAX_FLOAT32 = 3.4028234663852886e38;

/** Linear scaling / position interpolation: every position divided by `factor`. */
export interface LinearRopeScaling {
  readonly type: 'linear';
  /** `>= 1`. */
  readonly factor: number;
}

/** NTK-aware scaling: a larger base, `base * factor^(dim/(dim-2))`. */
export interface NtkRopeScaling {
  readonly type: 'ntk';
  /** `>= 1`. */
  readonly factor: number;
}

/** Dynamic NTK: the NTK base grows with the current sequence length past `originalMaxPositions`. */
export interface DynamicNtkRopeScaling {
  readonly type: 'dynamic-ntk';
  /** `>= 1`. */
  readonly factor: number;
  /** Context length the model was trained with; default `context.maxPositions`. */
  readonly originalMaxPositions: number;
}

/** YaRN (Peng et al. 2023): per-frequency blend of interpolation and extrapolation, plus a temperature. */
export interface YarnRopeScaling {
  readonly type: 'yarn';
  /** `>= 1`. */
  readonly factor: number;
  /** Context length the model was trained with; default `context.maxPositions`. */
  readonly originalMaxPositions: number;
  /** Rotations past which a dimension extrapolates; default 32. */
  readonly betaFast: number;
  /** Rotations below which a dimension interpolates; default 1. */
  readonly betaSlow: number;
  /**
   * Multiplier HF applies to cos and sin (its `attention_factor`); default `0.1 ln(factor) + 1`.
   * The tables report `attentionFactor = mscale^2`, the resulting factor on the scores.
   */
  readonly mscale: number;
  /** Round the correction range outwards to whole dimensions, as HF does by default; default true. */
  readonly truncate: boolean;
}

/** Llama 3.1 frequency bands: keep high frequencies, divide low ones by `factor`, blend between. */
export interface Llama3RopeScaling {
  readonly type: 'llama3';
  /** `>= 1`; 8 for Llama 3.1. */
  readonly factor: number;
  /** Wavelengths above `originalMaxPositions / lowFreqFactor` are fully scaled; default 1. */
  readonly lowFreqFactor: number;
  /** Wavelengths below `originalMaxPositions / highFreqFactor` are kept; default 4. */
  readonly highFreqFactor: number;
  /** Context length the model was trained with; default 8192. */
  readonly originalMaxPositions: number;
}

/** A normalised `scaling` option of the `rope` spec. */
export type RopeScalingSpec =
  | LinearRopeScaling
  | NtkRopeScaling
  | DynamicNtkRopeScaling
  | YarnRopeScaling
  | Llama3RopeScaling;

/** The scaling types, in documentation order. */
export const ROPE_SCALING_TYPES = ['linear', 'ntk', 'dynamic-ntk', 'yarn', 'llama3'] as const;

const SCALING_FIELDS: Record<RopeScalingSpec['type'], readonly string[]> = {
  linear: ['factor'],
  ntk: ['factor'],
  'dynamic-ntk': ['factor', 'originalMaxPositions'],
  yarn: ['factor', 'originalMaxPositions', 'betaFast', 'betaSlow', 'mscale', 'truncate'],
  llama3: ['factor', 'lowFreqFactor', 'highFreqFactor', 'originalMaxPositions'],
};

/** YaRN's default temperature, HF `get_mscale`: `0.1 ln(factor) + 1` (1 when not scaling up). */
function defaultMscale(factor: number): number {
  return factor <= 1 ? 1 : 0.1 * Math.log(factor) + 1;
}

/**
 * Validates and normalises the `scaling` option (`null` or absent → no scaling).
 * `path` is the option's field path, e.g. `positionalEncoding.scaling`.
 */
export function parseRopeScaling(
  where: string,
  path: string,
  value: unknown,
  rotaryDim: number,
  context: PositionalEncodingContext,
): RopeScalingSpec | undefined {
  if (value === undefined || value === null) return undefined;
  const reader = new FieldReader(where, path, value);
  const type = reader.oneOf('type', ROPE_SCALING_TYPES);
  reader.rejectUnknown(['type', ...SCALING_FIELDS[type]]);
  const factor = reader.number('factor', { min: 1 });
  if ((type === 'ntk' || type === 'dynamic-ntk') && rotaryDim < 4) {
    // The exponent dim / (dim - 2) needs dim > 2.
    reader.fail(
      'type',
      `a scaling other than "${type}" when rotaryDim is ${rotaryDim} (it needs rotaryDim >= 4)`,
    );
  }
  const originalMaxPositions = (fallback: number) =>
    reader.number('originalMaxPositions', { default: fallback, integer: true, min: 1 });
  let scaling: RopeScalingSpec;
  switch (type) {
    case 'linear':
    case 'ntk':
      scaling = { type, factor };
      break;
    case 'dynamic-ntk':
      scaling = { type, factor, originalMaxPositions: originalMaxPositions(context.maxPositions) };
      break;
    case 'yarn': {
      const betaSlow = reader.number('betaSlow', { default: 1, greaterThan: 0 });
      const betaFast = reader.number('betaFast', { default: 32, greaterThan: betaSlow });
      scaling = {
        type,
        factor,
        originalMaxPositions: originalMaxPositions(context.maxPositions),
        betaFast,
        betaSlow,
        mscale: reader.number('mscale', { default: defaultMscale(factor), greaterThan: 0 }),
        truncate: reader.boolean('truncate', true),
      };
      break;
    }
    case 'llama3': {
      const lowFreqFactor = reader.number('lowFreqFactor', { default: 1, greaterThan: 0 });
      scaling = {
        type,
        factor,
        lowFreqFactor,
        highFreqFactor: reader.number('highFreqFactor', { default: 4, greaterThan: lowFreqFactor }),
        originalMaxPositions: originalMaxPositions(8192),
      };
      break;
    }
  }
  return Object.freeze(scaling);
}

/** Whether the frequencies depend on the sequence length (only dynamic NTK). */
export function isLengthDependent(scaling: RopeScalingSpec | undefined): scaling is DynamicNtkRopeScaling {
  return scaling?.type === 'dynamic-ntk';
}

/**
 * The sequence length dynamic NTK computes its frequencies for when the longest sequence seen is
 * `sequenceLength`: HF `_compute_dynamic_ntk_parameters` uses the length itself once it exceeds
 * `originalMaxPositions`, and `originalMaxPositions` (no scaling) before.
 */
export function dynamicNtkLength(scaling: DynamicNtkRopeScaling, sequenceLength: number): number {
  return Math.max(sequenceLength, scaling.originalMaxPositions);
}

/**
 * Plain RoPE frequencies, as llama2.c `run.c` computes them in float32:
 * `freq = 1.0f / powf(base, head_dim / (float)head_size)` with `head_dim = 2i`;
 * HF `_compute_default_rope_parameters` is the same in float32 torch.
 */
function plainInverseFrequencies(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  const b = f(base);
  for (let i = 0; i < out.length; i++) out[i] = f(1 / f(b ** f((2 * i) / dim)));
  return out;
}

function checkScaledBase(base: number, scaling: RopeScalingSpec): number {
  if (!(f(base) < MAX_FLOAT32)) {
    throw new InvalidArgumentError(
      `rope scaling "${scaling.type}": factor ${scaling.factor} raises the base to ${base}, past the float32 range; expected a smaller factor or base`,
      { details: { scaling, base } },
    );
  }
  return base;
}

/**
 * YaRN, HF `_compute_yarn_parameters` (transformers `modeling_rope_utils.py`; Peng et al. 2023,
 * arXiv:2309.00071, section 3.3 "NTK-by-parts"):
 * - `find_correction_dim(r) = dim * ln(L / (r * 2π)) / (2 ln base)` is the dimension whose
 *   wavelength fits `r` times into the original context `L`;
 * - `[low, high] = [floor(cd(betaFast)), ceil(cd(betaSlow))]` (no rounding when `truncate` is
 *   false), clamped to `[0, dim - 1]`;
 * - `ramp_i = clamp((i - low) / (high - low), 0, 1)`, `extrapolationFactor = 1 - ramp`;
 * - `inv = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor` with
 *   `extrapolation = 1 / base^(2i/dim)` and `interpolation = extrapolation / factor`.
 */
function yarnInverseFrequencies(base: number, dim: number, scaling: YarnRopeScaling): Float32Array {
  const correctionDim = (rotations: number) =>
    (dim * Math.log(scaling.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  let low = correctionDim(scaling.betaFast);
  let high = correctionDim(scaling.betaSlow);
  if (scaling.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // HF's guard against a zero-width ramp.
  const out = new Float32Array(dim / 2);
  const b = f(base);
  const fLow = f(low);
  const width = f(high - low);
  const factor = f(scaling.factor);
  for (let i = 0; i < out.length; i++) {
    const posFreq = f(b ** f((2 * i) / dim));
    const extrapolation = f(1 / posFreq);
    const interpolation = f(1 / f(factor * posFreq));
    const ramp = Math.min(Math.max(f(f(i - fLow) / width), 0), 1);
    const extrapolationFactor = f(1 - ramp);
    out[i] = f(f(interpolation * f(1 - extrapolationFactor)) + f(extrapolation * extrapolationFactor));
  }
  return out;
}

/**
 * Llama 3.1, HF `_compute_llama3_parameters` (after Meta's `apply_scaling` in llama-models):
 * `wavelen = 2π / inv`; `wavelen < L / highFreqFactor` keeps `inv`; `wavelen > L / lowFreqFactor`
 * uses `inv / factor`; between, `smooth = (L / wavelen - lowFreqFactor) / (highFreqFactor -
 * lowFreqFactor)` and `inv' = (1 - smooth) * inv / factor + smooth * inv`.
 */
function llama3InverseFrequencies(base: number, dim: number, scaling: Llama3RopeScaling): Float32Array {
  const out = plainInverseFrequencies(base, dim);
  const context = scaling.originalMaxPositions;
  const lowFreqWavelength = f(context / scaling.lowFreqFactor);
  const highFreqWavelength = f(context / scaling.highFreqFactor);
  const factor = f(scaling.factor);
  const twoPi = f(2 * Math.PI);
  const lowFactor = f(scaling.lowFreqFactor);
  const bandWidth = f(scaling.highFreqFactor - scaling.lowFreqFactor);
  for (let i = 0; i < out.length; i++) {
    const inv = out[i];
    const wavelength = f(f(1 / inv) * twoPi);
    if (wavelength > lowFreqWavelength) {
      out[i] = f(inv / factor);
    } else if (!(wavelength < highFreqWavelength)) {
      const smooth = f(f(f(f(1 / wavelength) * context) - lowFactor) / bandWidth);
      out[i] = f(f(f(f(1 - smooth) * inv) / factor) + f(smooth * inv));
    }
  }
  return out;
}

/**
 * RoPE inverse frequencies `invFreq[i]`, `i < rotaryDim / 2`: pair `i` at position `pos` rotates by
 * `fround(pos * invFreq[i])`.
 *
 * @param base RoPE base (theta).
 * @param rotaryDim Rotated dimensions per head (even).
 * @param scaling Optional context-extension scaling.
 * @param sequenceLength Only for dynamic NTK: the current sequence length (see {@link dynamicNtkLength}).
 */
export function ropeInverseFrequencies(
  base: number,
  rotaryDim: number,
  scaling?: RopeScalingSpec,
  sequenceLength = 0,
): Float32Array {
  if (scaling === undefined) return plainInverseFrequencies(base, rotaryDim);
  const exponent = rotaryDim / (rotaryDim - 2);
  switch (scaling.type) {
    case 'linear': {
      // HF `_compute_linear_scaling_rope_parameters`: `inv_freq /= factor`, which equals dividing
      // positions by `factor` (kaiokendev's SuperHOT; Chen et al. 2023, position interpolation).
      const out = plainInverseFrequencies(base, rotaryDim);
      const factor = f(scaling.factor);
      for (let i = 0; i < out.length; i++) out[i] = f(out[i] / factor);
      return out;
    }
    case 'ntk':
      // NTK-aware scaled RoPE (bloc97, r/LocalLLaMA, 2023); HF `_compute_ntk_parameters`:
      // `base' = base * factor^(dim / (dim - 2))`, computed in float64 as in Python.
      return plainInverseFrequencies(checkScaledBase(base * scaling.factor ** exponent, scaling), rotaryDim);
    case 'dynamic-ntk': {
      // HF `_compute_dynamic_ntk_parameters` (emozilla, r/LocalLLaMA, 2023):
      // `base' = base * ((factor * L / L0) - (factor - 1))^(dim / (dim - 2))` with `L = max(len, L0)`.
      const length = dynamicNtkLength(scaling, sequenceLength);
      const growth = (scaling.factor * length) / scaling.originalMaxPositions - (scaling.factor - 1);
      return plainInverseFrequencies(checkScaledBase(base * growth ** exponent, scaling), rotaryDim);
    }
    case 'yarn':
      return yarnInverseFrequencies(base, rotaryDim, scaling);
    case 'llama3':
      return llama3InverseFrequencies(base, rotaryDim, scaling);
  }
}

/**
 * The factor on attention scores a scaling implies: YaRN's `mscale^2` (HF multiplies both cos
 * and sin by `mscale`, so `q·k` grows by its square); 1 otherwise.
 */
export function ropeAttentionFactor(scaling: RopeScalingSpec | undefined): number {
  return scaling?.type === 'yarn' ? scaling.mscale * scaling.mscale : 1;
}
