export {
  type ChatMessage,
  type ChatTemplateOptions,
  chatTemplateFromTokenizerConfig,
  renderChatTemplate,
} from './chat-template.js';
export { kvDim, MAX_DIMENSION, queryDim, validateModelConfig } from './config.js';
export { type EvaluateOptions, type EvaluationResult, evaluate } from './evaluate.js';
export { type GgufWriteOptions, serializeGguf } from './export/gguf.js';
export { exportOnnx, type OnnxExportForm, type OnnxExportOptions } from './export/onnx.js';
export {
  type FetchModelOptions,
  fetchModelBytes,
  fetchModelWeights,
  type LoadProgress,
  type ResponseCache,
} from './fetch-model.js';
export {
  type BatchGeneratedToken,
  type BatchGenerationStats,
  type ContextOverflowPolicy,
  Conversation,
  type ConversationOptions,
  type GenerateBatchOptions,
  type GeneratedToken,
  type GenerateOptions,
  type GenerationStats,
  TextGenerator,
} from './generate.js';
export {
  createLanguageModel,
  type LanguageModel,
  type LanguageModelOptions,
  parseModelWeights,
} from './language-model.js';
export {
  type GgufModelWeights,
  type GgufWeightsOptions,
  parseGgufWeights,
  SUPPORTED_GGML_TYPES,
} from './loaders/gguf.js';
export { configFromHuggingFace, mapGpt2Tensors, mapLlamaTensors } from './loaders/hugging-face.js';
export {
  type Llama2cOptions,
  type Llama2cWriteOptions,
  parseLlama2cCheckpoint,
  serializeLlama2cCheckpoint,
} from './loaders/llama2c.js';
export {
  decodeOnnxModel,
  type OnnxWeightsOptions,
  onnxInitializers,
  parseOnnxWeights,
} from './loaders/onnx.js';
export { permuteRotaryRows } from './loaders/rotary-permutation.js';
export {
  type HuggingFaceModelOptions,
  parseHuggingFaceModel,
  parseSafetensors,
  type SafetensorsEntry,
  type SafetensorsOptions,
  serializeHuggingFaceModel,
  serializeSafetensors,
} from './loaders/safetensors.js';
export {
  DEFAULT_MAX_BATCH_SIZE,
  DecoderModel,
  type DecoderModelOptions,
  MAX_BATCH_SIZE,
} from './model.js';
export {
  gpt1Config,
  gpt2Config,
  type LlamaShape,
  llamaConfig,
  type ModelShape,
  randomGpt1Weights,
  randomGpt2Weights,
  randomLlamaWeights,
  randomWeights,
} from './random-weights.js';
export {
  argmax,
  DEFAULT_SAMPLING,
  Sampler,
  type SamplingOptions,
  validateSampling,
  XorShiftRandom,
} from './sampling.js';
export {
  type ModelWeights,
  optionalTensor,
  type QuantizedWeightType,
  requireMatrix,
  requireTensor,
  type StoredWeightType,
  weightNames,
} from './weights.js';
