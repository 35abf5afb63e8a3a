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
import {
  loadGgufTokenizer,
  loadLlama2cTokenizer,
  loadTiktokenRanks,
  loadTokenizerJson,
  readGguf,
} from '@rotor/tokenizer';
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

/** GPT-2's byte-to-character map (`bytes_to_unicode`), so a small byte-level vocabulary is complete. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}

/** A small byte-level BPE `tokenizer.json` (GPT-2 style) with a few merges and a special token. */
function tinyTokenizerJson(): Uint8Array {
  const alphabet = byteLevelAlphabet();
  const merges = ['Ġ t', 'h e', 'Ġt he', 'i n', 'a n', 'Ġ a'];
  const vocab: Record<string, number> = {};
  for (const piece of [...alphabet, ...merges.map((m) => m.replace(' ', ''))])
    vocab[piece] ??= Object.keys(vocab).length;
  const json = {
    version: '1.0',
    added_tokens: [
      {
        id: Object.keys(vocab).length,
        content: '<|endoftext|>',
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** A small tiktoken rank file: every single byte, then a few merged pieces. */
function tinyTiktokenRanks(): Uint8Array {
  const pieces = [
    ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
    ...[' t', 'he', ' the', 'in', ' a'].map((t) => new TextEncoder().encode(t)),
  ];
  const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  return new TextEncoder().encode(pieces.map((bytes, rank) => `${base64(bytes)} ${rank}`).join('\n'));
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
      name: 'tokenizer.json',
      seeds: [{ name: 'tiny byte-level BPE', bytes: tinyTokenizerJson(), weight: 1 }],
      parse: (bytes) => exercise(loadTokenizerJson(bytes)),
    },
    {
      name: 'tiktoken rank file',
      seeds: [{ name: 'tiny ranks', bytes: tinyTiktokenRanks(), weight: 1 }],
      parse: (bytes) => exercise(loadTiktokenRanks(bytes, { pattern: 'gpt2' })),
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
