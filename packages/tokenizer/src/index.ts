/**
 * `@rotor/tokenizer`: exact tokenizers behind the `Tokenizer` contract of `@rotor/core`.
 */
export { detectTokenizerFormat, type TokenizerFormat } from './loaders/detect-format.js';
export { type Llama2cLoadOptions, loadLlama2cTokenizer } from './loaders/llama2c.js';
export type { Llama2cTokenizer } from './tokenizers/llama2c-tokenizer.js';
