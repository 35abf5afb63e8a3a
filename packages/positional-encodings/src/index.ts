/**
 * `@rotor/positional-encodings`: every position strategy as a plug-in implementing the
 * `PositionalEncodingFactory` contract of `@rotor/core`. Nothing registers itself on import; use
 * {@link createDefaultPositionalEncodingRegistry} or pick factories yourself.
 */
export { type AlibiSpec, alibiFactory, alibiSlopes } from './alibi.js';
export { type LearnedSpec, learnedFactory } from './learned.js';
export { type NoneSpec, noneFactory } from './none.js';
export {
  builtinPositionalEncodings,
  createDefaultPositionalEncodingRegistry,
  createPositionalEncodingRegistry,
  PositionalEncodingRegistry,
} from './registry.js';
export { ROPE_MAX_POSITIONS, type RopeSpec, ropeFactory } from './rope.js';
export {
  type DynamicNtkRopeScaling,
  type LinearRopeScaling,
  type Llama3RopeScaling,
  type NtkRopeScaling,
  ROPE_SCALING_TYPES,
  type RopeScalingSpec,
  ropeInverseFrequencies,
  type YarnRopeScaling,
} from './rope-scaling.js';
export { scoreBiasAt, scoreBiasHeads } from './score-bias.js';
export { type SinusoidalSpec, sinusoidalFactory } from './sinusoidal.js';
export { type T5RelativeSpec, t5RelativeBucket, t5RelativeFactory } from './t5-relative.js';
export {
  type EncodingMatrix,
  type EncodingMatrixKind,
  encodingMatrix,
  type PositionTable,
  type RotaryAngleSource,
  rotaryAngles,
} from './visualization.js';
