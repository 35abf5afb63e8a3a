/**
 * The untrusted formats Rotor reads, each with seed files (real fixtures and small synthetic
 * ones) and the call that parses it. A parse must end in a result or a typed `RotorError`.
 */
import { readFileSync } from 'node:fs';
import {
  decodeOnnxModel,
  exportOnnx,
  onnxInitializers,
  parseGgufWeights,
  parseHuggingFaceModel,
  parseLlama2cCheckpoint,
  parseOnnxWeights,
  randomLlamaWeights,
  serializeHuggingFaceModel,
  serializeLlama2cCheckpoint,
} from '@rotor/decoder-model';
import { loadGgufTokenizer, loadLlama2cTokenizer, readGguf } from '@rotor/tokenizer';
import { fixturePath, haveFixtures } from '@rotor-internal/testing';
import { buildGguf } from '../../packages/tokenizer/src/test-utils/gguf-file.js';
import {
  buildLlama2cFile,
  syntheticVocabulary,
} from '../../packages/tokenizer/src/test-utils/llama2c-file.js';

/** One seed file; `weight` is its share of the cases (large real files are slow to copy and parse). */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  weight: number;
}

/** A format under fuzz. */
export interface FuzzFormat {
  name: string;
  seeds: Seed[];
  /** Parses (and exercises) one input; throws on rejection. */
  parse(bytes: Uint8Array): unknown;
}

const fixture = (path: string, weight: number): Seed[] =>
  haveFixtures(path) ? [{ name: path, bytes: new Uint8Array(readFileSync(fixturePath(path))), weight }] : [];

const tiny = randomLlamaWeights(
  {
    modelDim: 16,
    hiddenDim: 24,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    vocabSize: 40,
    maxSequenceLength: 8,
  },
  11,
);
const tinyHuggingFace = serializeHuggingFaceModel(tiny);

/** A small SentencePiece-style GGUF vocabulary. */
function tinyGgufVocabulary(): Uint8Array {
  const pieces = [
    '<unk>',
    '<s>',
    '</s>',
    ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
    '▁',
    'a',
    'b',
    '▁a',
    'ab',
    '▁ab',
  ];
  return buildGguf([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: pieces }],
    ['tokenizer.ggml.scores', { type: 'float32s', value: pieces.map((_, i) => -i) }],
    [
      'tokenizer.ggml.token_type',
      { type: 'int32s', value: pieces.map((p, i) => (i < 3 ? 3 : p.startsWith('<0x') ? 6 : 1)) },
    ],
    ['tokenizer.ggml.bos_token_id', { type: 'uint32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'uint32', value: 2 }],
  ]);
}

const exercise = (tokenizer: { encode(text: string): number[]; decode(ids: number[]): string }) =>
  tokenizer.decode(tokenizer.encode('Hello wörld, 123 🦙!'));

export function fuzzFormats(): FuzzFormat[] {
  return [
    {
      name: 'llama2.c checkpoint',
      seeds: [
        { name: 'random tiny', bytes: serializeLlama2cCheckpoint(tiny), weight: 9 },
        ...fixture('stories260K/stories260K.bin', 1),
      ],
      parse: (bytes) => parseLlama2cCheckpoint(bytes),
    },
    {
      name: 'llama2.c tokenizer.bin',
      seeds: [
        {
          name: 'synthetic',
          bytes: buildLlama2cFile(syntheticVocabulary([' ', 'a', 'b', 'ab', ' ab'])),
          weight: 5,
        },
        ...fixture('stories260K/tok512.bin', 5),
      ],
      parse: (bytes) => exercise(loadLlama2cTokenizer(bytes)),
    },
    {
      name: 'GGUF (reader and model weights)',
      seeds: fixture('stories260K/stories260K.gguf', 1),
      parse: (bytes) => parseGgufWeights(bytes),
    },
    {
      name: 'GGUF vocabulary',
      seeds: [
        { name: 'synthetic spm', bytes: tinyGgufVocabulary(), weight: 40 },
        ...fixture('tokenizers/llama-cpp/ggml-vocab-llama-spm.gguf', 1),
        ...fixture('tokenizers/llama-cpp/ggml-vocab-gpt-2.gguf', 1),
        ...fixture('tokenizers/llama-cpp/ggml-vocab-bert-bge.gguf', 1),
      ],
      parse: (bytes) => exercise(loadGgufTokenizer(readGguf(bytes))),
    },
    {
      name: 'safetensors + config.json',
      seeds: [{ name: 'random tiny llama', bytes: tinyHuggingFace.safetensors, weight: 1 }],
      parse: (bytes) => parseHuggingFaceModel(tinyHuggingFace.config, [bytes]),
    },
    {
      name: 'ONNX initializers',
      seeds: [
        { name: 'exported tiny llama', bytes: exportOnnx(tiny), weight: 9 },
        ...fixture('gpt2-tiny-random/gpt2-tiny-decoder.onnx', 1),
      ],
      parse: (bytes) => {
        onnxInitializers(decodeOnnxModel(bytes));
        return parseOnnxWeights(bytes);
      },
    },
  ];
}
