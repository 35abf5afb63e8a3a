export type {
  Backend,
  BackendCapabilities,
  BackendFactory,
  BackendOptions,
  BackendProbe,
  BackendSelection,
  BackendSelectionStep,
} from './backend.js';
export { BackendRegistry } from './backend-registry.js';
export {
  AbortedError,
  BackendUnavailableError,
  ContextOverflowError,
  DeviceLostError,
  FormatError,
  InvalidArgumentError,
  IoError,
  isRotorError,
  mismatch,
  RotorError,
  type RotorErrorCode,
  type RotorErrorOptions,
  ShapeError,
  UnsupportedError,
} from './errors.js';
export {
  type AlibiBias,
  KERNEL_NAMES,
  type KernelAttrs,
  type KernelInputs,
  type KernelName,
  type KernelSignatures,
  type RotaryLayout,
  type ScoreBiasDescriptor,
  type T5RelativeBias,
} from './kernels.js';
export type { MlpType, ModelConfig, NormPlacement, NormType } from './model-config.js';
export type {
  PositionalEncoding,
  PositionalEncodingContext,
  PositionalEncodingFactory,
  PositionalEncodingHooks,
  PositionalEncodingSpec,
  RotaryTables,
} from './positional-encoding.js';
export { t5RelativeBucket } from './score-bias.js';
export {
  type DType,
  type DTypeStorage,
  type HostTensor,
  QUANT_BLOCK_BYTES,
  QUANT_BLOCK_SIZE,
  type Shape,
  shapeSize,
  storageLength,
  type TensorHandle,
} from './tensor.js';
export type { DecodeOptions, EncodeOptions, SpecialTokenIds, StreamDecoder, Tokenizer } from './tokenizer.js';
