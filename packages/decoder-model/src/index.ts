export { kvDim, MAX_DIMENSION, queryDim, validateModelConfig } from './config.js';
export {
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
  type Llama2cOptions,
  parseLlama2cCheckpoint,
  serializeLlama2cCheckpoint,
} from './loaders/llama2c.js';
export { DecoderModel, type DecoderModelOptions } from './model.js';
export { type LlamaShape, llamaConfig, randomLlamaWeights } from './random-weights.js';
export {
  argmax,
  DEFAULT_SAMPLING,
  Sampler,
  type SamplingOptions,
  validateSampling,
  XorShiftRandom,
} from './sampling.js';
export { llamaWeightNames, type ModelWeights, requireTensor } from './weights.js';
