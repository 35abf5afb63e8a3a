/**
 * GGUF vocabulary loader: `tokenizer.ggml.*` metadata to a {@link GgufTokenizer}.
 */
import { FormatError, InvalidArgumentError, mismatch, UnsupportedError } from '@rotor/core';
import {
  type GgufFile,
  type GgufStringRanges,
  type GgufValue,
  readGgufStringRanges,
} from '../formats/gguf-reader.js';
import { RankBpeModel } from '../models/rank-bpe.js';
import { ScoreBpeModel } from '../models/score-bpe.js';
import { TokenIndex, type TokenLookup } from '../models/token-index.js';
import { TokenTable } from '../models/token-table.js';
import { WordPieceModel } from '../models/word-piece.js';
import { splitPreset } from '../pre-tokenizers/split-rules.js';
import {
  GGUF_TOKEN_TYPE,
  type GgufSpecialTokenIds,
  GgufTokenizer,
  type GgufTokenizerModel,
} from '../tokenizers/gguf-tokenizer.js';

/** Options of {@link loadGgufTokenizer}. */
export interface GgufTokenizerLoadOptions {
  /** Name of the data in error messages (e.g. a file path). Default `"model.gguf"`. */
  source?: string;
}

const KEY = 'tokenizer.ggml.';

/**
 * Builds a tokenizer from the vocabulary of a GGUF file (raw bytes, or a file already parsed
 * with `readGguf`). Supported `tokenizer.ggml.model` values: `llama` (SentencePiece BPE),
 * `gpt2` (byte-level BPE; the split rules come from `tokenizer.ggml.pre`) and `bert`
 * (WordPiece).
 *
 * @throws FormatError for missing or mistyped keys, arrays of the wrong length, duplicate
 *   tokens or merges naming unknown tokens; UnsupportedError for another model or `pre` type.
 * @example
 * const tokenizer = loadGgufTokenizer(bytes, { source: 'ggml-vocab-gpt-2.gguf' });
 * tokenizer.encode('Hello world'); // [15496, 995]
 */
export function loadGgufTokenizer(
  input: Uint8Array | GgufFile,
  options: GgufTokenizerLoadOptions = {},
): GgufTokenizer {
  let gguf: GgufFile;
  let ranges: Map<string, GgufStringRanges> | undefined;
  if (input instanceof Uint8Array) {
    // Tokens and merges stay bytes: merges are resolved without creating strings.
    ({ file: gguf, ranges } = readGgufStringRanges(
      input,
      options.source ?? 'model.gguf',
      new Map([
        [`${KEY}tokens`, false],
        [`${KEY}merges`, false],
      ]),
    ));
  } else if (typeof input === 'object' && input !== null && input.metadata instanceof Map) {
    gguf = input;
  } else {
    throw new InvalidArgumentError(
      mismatch('input', 'loadGgufTokenizer', 'GGUF bytes (Uint8Array) or a readGguf result', typeof input),
    );
  }
  const source = options.source ?? gguf.source;
  const meta: MetadataReader = new MetadataReader(gguf, source);
  const kind = meta.string('model');
  if (kind !== 'llama' && kind !== 'gpt2' && kind !== 'bert') {
    throw new UnsupportedError(
      `${source}: ${KEY}model "${kind}" is not supported (supported: llama, gpt2, bert)`,
      { details: { source, model: kind } },
    );
  }
  const tokenRanges = ranges?.get(`${KEY}tokens`);
  // From file bytes, tokens stay packed UTF-8; byte-level vocabularies never need their strings.
  const table = tokenRanges === undefined ? undefined : new TokenTable(tokenRanges);
  const listed = table === undefined ? meta.stringArray('tokens') : undefined;
  if (table === undefined && listed === undefined) meta.missing('tokens', 'an array of strings');
  const count = table?.length ?? listed!.length;
  if (count === 0) meta.fail('tokens', 'at least one token', 'an empty array');
  const tokenTypes =
    meta.int32Array('token_type', count) ?? new Int32Array(count).fill(GGUF_TOKEN_TYPE.normal);
  const tokenIds: TokenLookup = table ?? new TokenIndex(listed!);
  const duplicate = table?.duplicate ?? (tokenIds as TokenIndex).duplicate;
  if (duplicate !== undefined) {
    const [previous, id] = duplicate;
    const text = table?.at(id) ?? listed![id];
    meta.fail('tokens', 'unique tokens', `"${text}" at ids ${previous} and ${id}`);
  }
  // SentencePiece and WordPiece vocabularies work on strings.
  const strings = (): readonly string[] => listed ?? table!.strings();

  const defaults: Record<string, Partial<Record<keyof GgufSpecialTokenIds, number>>> = {
    llama: { bos: 1, eos: 2, unknown: 0 },
    gpt2: {},
    bert: { bos: 101, unknown: 100, separator: 102, padding: 0, mask: 103, classifier: 101 },
  };
  const special: Record<string, number | undefined> = {};
  const idKeys: [keyof GgufSpecialTokenIds, string][] = [
    ['bos', 'bos_token_id'],
    ['eos', 'eos_token_id'],
    ['unknown', 'unknown_token_id'],
    ['padding', 'padding_token_id'],
    ['separator', 'seperator_token_id'],
    ['classifier', 'cls_token_id'],
    ['mask', 'mask_token_id'],
  ];
  for (const [name, key] of idKeys) {
    // An id out of range (llama.cpp writes 0xFFFFFFFF for "none") leaves the default.
    const value = meta.integer(key);
    const fallback = defaults[kind][name];
    special[name] =
      value !== undefined && value < count
        ? value
        : fallback !== undefined && fallback < count
          ? fallback
          : undefined;
  }
  if (kind === 'bert' && meta.integer('bos_token_id') === undefined && special.classifier !== undefined) {
    special.bos = special.classifier;
  }
  const specialTokens: GgufSpecialTokenIds = Object.fromEntries(
    Object.entries(special).filter(([, id]) => id !== undefined),
  );

  let model: GgufTokenizerModel;
  let addBosDefault = kind !== 'gpt2';
  if (kind === 'llama') {
    const scores = meta.float32Array('scores', count);
    const mergeScores = new Float32Array(count);
    for (let id = 0; id < count; id++) {
      const type = tokenTypes[id];
      const mergeable = type === GGUF_TOKEN_TYPE.normal || type === GGUF_TOKEN_TYPE.userDefined;
      mergeScores[id] = mergeable ? (scores?.[id] ?? 0) : Number.NEGATIVE_INFINITY;
    }
    model = {
      kind,
      model: new ScoreBpeModel(strings(), mergeScores, { mergeScoreFloor: Number.NEGATIVE_INFINITY }),
      addSpacePrefix: meta.boolean('add_space_prefix') ?? true,
    };
  } else if (kind === 'gpt2') {
    const pre = meta.string('pre', 'default');
    const preset = splitPreset(pre);
    if (preset === undefined) {
      throw new UnsupportedError(`${source}: ${KEY}pre "${pre}" is not a supported pre-tokenizer type`, {
        details: { source, pre },
      });
    }
    addBosDefault = preset.addBos;
    const mergeStrings = meta.stringArray('merges');
    if (mergeStrings === undefined) meta.missing('merges', 'an array of strings "left right"');
    const mergeSource = `${source}: ${KEY}merges`;
    const mergeBytes = ranges?.get(`${KEY}merges`);
    const stringIndex = () => (tokenIds instanceof TokenIndex ? tokenIds : new TokenIndex(strings()));
    const merges =
      table !== undefined && mergeBytes !== undefined
        ? RankBpeModel.fromByteLines(table.index, stringIndex, mergeBytes, mergeSource)
        : RankBpeModel.fromLines(stringIndex(), mergeStrings, mergeSource);
    model = { kind, model: merges, preset, pre };
  } else {
    const unknownId = specialTokens.unknown;
    if (unknownId === undefined) meta.missing('unknown_token_id', 'the id of [UNK]');
    const lowercase = meta.boolean('normalizer.lowercase') ?? true;
    model = {
      kind,
      model: new WordPieceModel(tokenIds, strings(), {
        wordPrefix: '\u2581',
        continuationPrefix: '',
        unknownId,
      }),
      lowercase,
      stripAccents: meta.boolean('normalizer.strip_accents') ?? lowercase,
    };
  }
  const addBos = meta.boolean('add_bos_token') ?? addBosDefault;
  const addEos = meta.boolean('add_eos_token') ?? false;
  const addSep = kind === 'bert' ? (meta.boolean('add_sep_token') ?? true) : false;
  for (const [flag, id, name] of [
    [addBos, specialTokens.bos, 'add_bos_token'],
    [addEos, specialTokens.eos, 'add_eos_token'],
    [addSep, specialTokens.separator, 'add_sep_token'],
  ] as const) {
    if (flag && id === undefined)
      meta.fail(name, `false, or a valid id for its token`, 'true with no such token');
  }
  const tokens = kind === 'gpt2' ? (table ?? listed!) : strings();
  return new GgufTokenizer({ tokens, tokenTypes, tokenIds, specialTokens, addBos, addEos, addSep, model });
}

/** Typed access to `tokenizer.ggml.*` keys with FormatErrors naming the key. */
class MetadataReader {
  constructor(
    private readonly gguf: GgufFile,
    private readonly source: string,
  ) {}

  string(name: string, fallback?: string): string {
    const value = this.get(name);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      return this.missing(name, 'a string');
    }
    if (value.type !== 'string') return this.wrongType(name, 'a string', value);
    return value.value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (value.type !== 'bool') return this.wrongType(name, 'a bool', value);
    return value.value;
  }

  integer(name: string): number | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    switch (value.type) {
      case 'uint64':
      case 'int64':
        return Number(value.value);
      case 'uint8':
      case 'int8':
      case 'uint16':
      case 'int16':
      case 'uint32':
      case 'int32':
        return value.value;
      default:
        return this.wrongType(name, 'an integer', value);
    }
  }

  stringArray(name: string): readonly string[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (value.type !== 'array' || value.elementType !== 'string')
      return this.wrongType(name, 'an array of strings', value);
    return value.value as readonly string[];
  }

  int32Array(name: string, length: number): Int32Array | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (value.type !== 'array' || value.elementType !== 'int32')
      return this.wrongType(name, 'an array of int32', value);
    return this.checkLength(name, value.value as Int32Array, length);
  }

  float32Array(name: string, length: number): Float32Array | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (value.type !== 'array' || (value.elementType !== 'float32' && value.elementType !== 'int32')) {
      return this.wrongType(name, 'an array of float32', value);
    }
    return this.checkLength(name, Float32Array.from(value.value as Float32Array | Int32Array), length);
  }

  missing(name: string, expected: string): never {
    return this.fail(name, expected, 'no such key');
  }

  fail(name: string, expected: string, found: unknown): never {
    throw new FormatError(mismatch(`metadata "${KEY}${name}"`, this.source, expected, found), {
      details: { source: this.source, key: KEY + name },
    });
  }

  private checkLength<T extends { length: number }>(name: string, array: T, length: number): T {
    if (array.length !== length)
      this.fail(name, `${length} entries (one per token)`, `${array.length} entries`);
    return array;
  }

  private wrongType(name: string, expected: string, value: GgufValue): never {
    return this.fail(
      name,
      expected,
      value.type === 'array' ? `an array of ${value.elementType}` : `a ${value.type}`,
    );
  }

  private get(name: string): GgufValue | undefined {
    return this.gguf.metadata.get(KEY + name);
  }
}
