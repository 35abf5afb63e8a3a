/**
 * The GPT-2 tokenizers compared: ours (byte-level BPE from the llama.cpp GGUF vocabulary) and the
 * npm peers named in the tokenizer issue, each behind one small interface. Every peer is imported
 * lazily, so a fresh process that loads one pays for that one only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A loaded tokenizer: text to GPT-2 ids and back. */
export interface PeerTokenizer {
  encode(text: string): ArrayLike<number>;
  decode(ids: ArrayLike<number>): string;
}

/** A named way to load one. */
export interface Peer {
  name: string;
  load(fixtures: string): Promise<PeerTokenizer>;
}

/** The ids as an array, copied only when they are not one (each peer decodes its own encode's ids). */
function asArray(ids: ArrayLike<number>): number[] {
  return Array.isArray(ids) ? ids : Array.from(ids);
}

/** The GPT-2 vocabulary file of the fixtures. */
export const GPT2_GGUF = 'tokenizers/llama-cpp/ggml-vocab-gpt-2.gguf';

const rotor: Peer = {
  name: 'rotor',
  async load(fixtures) {
    const { loadGgufTokenizer } = await import('@rotor/tokenizer');
    const tokenizer = loadGgufTokenizer(await readFile(join(fixtures, GPT2_GGUF)), { source: GPT2_GGUF });
    return { encode: (text) => tokenizer.encode(text), decode: (ids) => tokenizer.decode(ids) };
  },
};

const tiktoken: Peer = {
  name: 'tiktoken',
  async load() {
    const { get_encoding } = await import('tiktoken');
    const encoding = get_encoding('gpt2');
    const utf8 = new TextDecoder();
    return {
      encode: (text) => encoding.encode_ordinary(text),
      decode: (ids) => utf8.decode(encoding.decode(ids instanceof Uint32Array ? ids : Uint32Array.from(ids))),
    };
  },
};

const gptTokenizer: Peer = {
  name: 'gpt-tokenizer',
  async load() {
    // r50k_base is GPT-2's vocabulary and split pattern.
    const { encode, decode } = await import('gpt-tokenizer/encoding/r50k_base');
    // Special-token text is ordinary text here, as in tiktoken's encode_ordinary.
    return {
      encode: (text) => encode(text, { disallowedSpecial: new Set() }),
      decode: (ids) => decode(asArray(ids)),
    };
  },
};

const jsTiktoken: Peer = {
  name: 'js-tiktoken',
  async load() {
    const { Tiktoken } = await import('js-tiktoken/lite');
    const { default: ranks } = await import('js-tiktoken/ranks/gpt2');
    const encoding = new Tiktoken(ranks);
    return {
      encode: (text) => encoding.encode(text, [], []),
      decode: (ids) => encoding.decode(asArray(ids)),
    };
  },
};

const huggingFace: Peer = {
  name: '@huggingface/tokenizers',
  async load(fixtures) {
    // No tokenizer.json can be downloaded here: it is built from the same GGUF vocabulary and
    // merges, with GPT-2's byte-level pre-tokenizer and decoder, as the Hub's gpt2 file has them.
    const [{ Tokenizer }, { readGguf }] = await Promise.all([
      import('@huggingface/tokenizers'),
      import('@rotor/tokenizer'),
    ]);
    const gguf = readGguf(await readFile(join(fixtures, GPT2_GGUF)), { source: GPT2_GGUF });
    const strings = (key: string) => (gguf.metadata.get(key) as unknown as { value: string[] }).value;
    const tokens = strings('tokenizer.ggml.tokens');
    const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
    const json = {
      version: '1.0',
      // No added tokens: `<|endoftext|>` in the text is ordinary text, as for the other peers.
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
      post_processor: null,
      decoder: { type: 'ByteLevel', ...byteLevel },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
        merges: strings('tokenizer.ggml.merges'),
      },
    };
    const tokenizer = new Tokenizer(json, {});
    return {
      encode: (text) => tokenizer.encode(text).ids,
      decode: (ids) => tokenizer.decode(asArray(ids), { clean_up_tokenization_spaces: false }),
    };
  },
};

/** Every tokenizer compared; tiktoken (the OpenAI implementation) first, as the oracle. */
export const PEERS: Peer[] = [tiktoken, rotor, gptTokenizer, jsTiktoken, huggingFace];
