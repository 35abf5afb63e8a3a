/**
 * `@rotor/tokenizer`: exact tokenizers behind the `Tokenizer` contract of `@rotor/core`.
 */
export {
  GGML_TYPES,
  GGUF_VALUE_TYPES,
  type GgmlTypeInfo,
  type GgufFile,
  type GgufNumericArray,
  type GgufTensorInfo,
  type GgufValue,
  type GgufValueType,
  type ReadGgufOptions,
  readGguf,
} from './formats/gguf-reader.js';
export { detectTokenizerFormat, type TokenizerFormat } from './loaders/detect-format.js';
export { type GgufTokenizerLoadOptions, loadGgufTokenizer } from './loaders/gguf.js';
export {
  loadGpt2Tokenizer,
  loadTiktokenRanks,
  type TiktokenLoadOptions,
  type TiktokenPattern,
} from './loaders/gpt2-files.js';
export { type Llama2cLoadOptions, loadLlama2cTokenizer } from './loaders/llama2c.js';
export {
  type JsonInput,
  loadTokenizerJson,
  type TokenizerJsonLoadOptions,
} from './loaders/tokenizer-json.js';
export { splitPresetNames } from './pre-tokenizers/split-rules.js';
export {
  type EncodingWithOffsets,
  GGUF_TOKEN_TYPE,
  type GgufSpecialTokenIds,
  GgufTokenizer,
} from './tokenizers/gguf-tokenizer.js';
export type { Llama2cTokenizer } from './tokenizers/llama2c-tokenizer.js';
export type { AddedToken, PipelineTokenizer } from './tokenizers/pipeline-tokenizer.js';
