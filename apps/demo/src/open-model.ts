/**
 * Turning the files a user opened into weights and a tokenizer: llama2.c `.bin` with its
 * `tokenizer.bin`, a GGUF file (its own vocabulary), or a Hugging Face folder (`config.json`,
 * `*.safetensors`, `tokenizer.json` and optionally `tokenizer_config.json`).
 */

import type { Tokenizer } from '@rotor/core';
import { type ModelWeights, parseHuggingFaceModel, parseModelWeights } from '@rotor/decoder-model';
import { loadGgufTokenizer, loadLlama2cTokenizer, loadTokenizerJson } from '@rotor/tokenizer';
import type { OpenedFile } from './protocol.js';

/** Weights plus a way to build the matching tokenizer. */
export interface OpenedModel {
  name: string;
  weights: ModelWeights;
  tokenizer(): Tokenizer;
}

const text = (file: OpenedFile) => new TextDecoder().decode(file.bytes);
const isGguf = (file: OpenedFile) => /\.gguf$/i.test(file.name);

/** Picks the model and tokenizer out of `files`; throws a message naming what is missing. */
export function openModel(files: OpenedFile[]): OpenedModel {
  const find = (pattern: RegExp) => files.find((f) => pattern.test(f.name));
  const shards = files.filter((f) => /\.safetensors$/i.test(f.name));
  const tokenizerJson = find(/^tokenizer\.json$/i);
  const tokenizerConfig = find(/^tokenizer_config\.json$/i);
  const tokenizerBin = find(/^(tokenizer|tok\d*)\.bin$/i);
  const tokenizerFromFiles = (vocabSize: number) => () => {
    if (tokenizerJson) {
      return loadTokenizerJson(tokenizerJson.bytes, {
        tokenizerConfig: tokenizerConfig ? JSON.parse(text(tokenizerConfig)) : undefined,
      });
    }
    if (tokenizerBin) return loadLlama2cTokenizer(tokenizerBin.bytes, { vocabSize });
    throw new Error(
      'open the model’s tokenizer with it: tokenizer.json (Hugging Face) or tokenizer.bin (llama2.c)',
    );
  };
  if (shards.length > 0) {
    const config = find(/^config\.json$/i);
    if (!config)
      throw new Error(`${shards[0].name}: open the folder’s config.json with the safetensors files`);
    const weights = parseHuggingFaceModel(
      JSON.parse(text(config)),
      shards.map((s) => s.bytes),
      { source: shards[0].name },
    );
    return { name: shards[0].name, weights, tokenizer: tokenizerFromFiles(weights.config.vocabSize) };
  }
  const model = files.find(isGguf) ?? files.find((f) => f !== tokenizerBin && /\.(bin|onnx)$/i.test(f.name));
  if (!model)
    throw new Error('no model file among the opened files (.gguf, .bin, .safetensors with config.json)');
  const weights = parseModelWeights(model.bytes, { source: model.name });
  const ownVocabulary = isGguf(model) && !tokenizerJson && !tokenizerBin;
  return {
    name: model.name,
    weights,
    tokenizer: ownVocabulary
      ? () => loadGgufTokenizer(new Uint8Array(model.bytes))
      : tokenizerFromFiles(weights.config.vocabSize),
  };
}
