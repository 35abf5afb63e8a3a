/**
 * Hugging Face `tokenizer.json` loader: the JSON pipeline mapped onto the stage factories
 * (`normalizers/`, `pre-tokenizers/`, `models/`, `post-processors/`, `decoders/`).
 */
import { FormatError, InvalidArgumentError, mismatch, type SpecialTokenIds } from '@rotor/core';
import { createDecoder } from '../decoders/from-json.js';
import { createModel } from '../models/from-json.js';
import { createNormalizer } from '../normalizers/from-json.js';
import { createPostProcessor, NO_POST_PROCESSING, type PostProcessor } from '../post-processors/from-json.js';
import { createPreTokenizer } from '../pre-tokenizers/from-json.js';
import { type AddedToken, PipelineTokenizer } from '../tokenizers/pipeline-tokenizer.js';
import { asArray, child, describeJson, JsonFields, type JsonPlace, jsonFail } from './json-fields.js';

/** A JSON document given as text, UTF-8 bytes or an already parsed value. */
export type JsonInput = string | Uint8Array | object;

/** Options of {@link loadTokenizerJson}. */
export interface TokenizerJsonLoadOptions {
  /**
   * `tokenizer_config.json`: its `bos_token`, `eos_token`, `unk_token`, `pad_token` name the
   * special ids, and `add_bos_token`/`add_eos_token`, when present, replace the
   * post-processor by BOS/EOS around the text (as `transformers` does for Llama-style tokenizers).
   */
  tokenizerConfig?: JsonInput;
  /** Name of the data in error messages. Default `"tokenizer.json"`. */
  source?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a {@link JsonInput}; malformed text or bytes are a FormatError. */
export function parseJsonInput(input: JsonInput, source: string): unknown {
  if (typeof input === 'object' && input !== null && !(input instanceof Uint8Array)) return input;
  let text: string;
  if (input instanceof Uint8Array) {
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new FormatError(mismatch('encoding', source, 'UTF-8 JSON', 'invalid UTF-8'), {
        cause,
        details: { source },
      });
    }
  } else if (typeof input === 'string') {
    text = input;
  } else {
    throw new InvalidArgumentError(
      mismatch('input', source, 'JSON text, bytes or a parsed object', typeof input),
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FormatError(mismatch('JSON', source, 'well-formed JSON', (cause as Error).message), {
      cause,
      details: { source },
    });
  }
}

function readAddedTokens(value: unknown, place: JsonPlace): AddedToken[] {
  if (value === undefined || value === null) return [];
  return asArray(value, place).map((item, index) => {
    const fields = new JsonFields(item, child(place, index));
    return {
      id: fields.index('id'),
      content: fields.string('content'),
      special: fields.boolean('special', false),
      leftStrip: fields.boolean('lstrip', false),
      rightStrip: fields.boolean('rstrip', false),
      singleWord: fields.boolean('single_word', false),
    };
  });
}

/** A special token of `tokenizer_config.json`: a string or an AddedToken object `{content}`. */
function configToken(config: JsonFields, key: string): string | undefined {
  const value = config.raw(key);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return new JsonFields(value, config.at(key)).string('content');
}

/**
 * Builds a tokenizer from a Hugging Face `tokenizer.json` (text, UTF-8 bytes or parsed).
 *
 * Supported stages: normalizers Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents,
 * Prepend, Replace, BertNormalizer; pre-tokenizers Sequence, ByteLevel, Split (literal or
 * the GPT-2/Llama 3/Qwen2 regexes), Metaspace, BertPreTokenizer, Whitespace,
 * WhitespaceSplit, Digits, Punctuation, CharDelimiterSplit; models BPE and WordPiece;
 * post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel,
 * Sequence; decoders ByteLevel, Metaspace, WordPiece, ByteFallback, Fuse, Strip, Replace,
 * Sequence.
 *
 * @throws FormatError for malformed JSON, missing keys, wrong types, merges or special tokens
 *   naming unknown tokens; UnsupportedError for stage types or regexes not supported.
 * @example
 * const tokenizer = loadTokenizerJson(await (await fetch(url)).text());
 * tokenizer.encode('Hello world'); // GPT-2: [15496, 995]
 */
export function loadTokenizerJson(
  input: JsonInput,
  options: TokenizerJsonLoadOptions = {},
): PipelineTokenizer {
  const source = options.source ?? 'tokenizer.json';
  const root = new JsonFields(parseJsonInput(input, source), { source, path: '' });
  const model = createModel(root.required('model', 'a model object'), root.at('model'));
  const addedTokens = readAddedTokens(root.raw('added_tokens'), root.at('added_tokens'));

  const tokenIds = new Map(model.vocabulary);
  let size = 0;
  for (const id of tokenIds.values()) size = Math.max(size, id + 1);
  for (const token of addedTokens) size = Math.max(size, token.id + 1);
  const tokens: (string | undefined)[] = new Array(size).fill(undefined);
  for (const [token, id] of model.vocabulary) tokens[id] ??= token;
  for (const token of addedTokens) {
    tokens[token.id] = token.content;
    tokenIds.set(token.content, token.id);
  }

  const stage = <T>(key: string, factory: (value: unknown, place: JsonPlace) => T): T | undefined => {
    const value = root.raw(key);
    return value === undefined ? undefined : factory(value, root.at(key));
  };
  let postProcessor: PostProcessor = stage('post_processor', createPostProcessor) ?? NO_POST_PROCESSING;

  const special: { -readonly [K in keyof SpecialTokenIds]: number } = {};
  const unknownToken = model.unknownToken;
  if (unknownToken !== undefined) special.unknown = tokenIds.get(unknownToken);
  if (options.tokenizerConfig !== undefined) {
    const configSource = 'tokenizer_config.json';
    const config = new JsonFields(parseJsonInput(options.tokenizerConfig, configSource), {
      source: configSource,
      path: '',
    });
    const names = [
      ['bos', 'bos_token'],
      ['eos', 'eos_token'],
      ['unknown', 'unk_token'],
      ['padding', 'pad_token'],
    ] as const;
    for (const [name, key] of names) {
      const token = configToken(config, key);
      if (token === undefined) continue;
      const id = tokenIds.get(token);
      if (id === undefined) jsonFail(config.at(key), `a token of ${source}`, token);
      special[name] = id;
    }
    const addBos = config.raw('add_bos_token');
    const addEos = config.raw('add_eos_token');
    if (addBos !== undefined || addEos !== undefined) {
      const flag = (value: unknown, key: string, id: number | undefined): number[] => {
        if (value === undefined) return [];
        if (typeof value !== 'boolean') jsonFail(config.at(key), 'true or false', describeJson(value));
        if (value && id === undefined)
          jsonFail(config.at(key), 'false, or a token named by its *_token key', 'true');
        return value ? [id!] : [];
      };
      postProcessor = {
        prefix: flag(addBos, 'add_bos_token', special.bos),
        suffix: flag(addEos, 'add_eos_token', special.eos),
      };
    }
  }
  return new PipelineTokenizer({
    tokens,
    tokenIds,
    addedTokens,
    specialTokens: special,
    normalizer: stage('normalizer', createNormalizer),
    preTokenizer: stage('pre_tokenizer', createPreTokenizer),
    model,
    postProcessor,
    decoder: stage('decoder', createDecoder),
  });
}
