/**
 * Hugging Face `tokenizer.json` decoders: one factory dispatching on the JSON `type`. A
 * decoder maps the list of token strings to a list of strings that are concatenated, with
 * the semantics of `tokenizers`' `decode_chain`.
 */
import { UnsupportedError } from '@rotor/core';
import { decodeUtf8Lossy, decodeUtf8Strict } from '../bytes.js';
import { child, JsonFields, type JsonPlace, jsonFail } from '../loaders/json-fields.js';
import { literalPattern } from '../normalizers/from-json.js';
import { CHAR_TO_BYTE } from '../pre-tokenizers/byte-level.js';

/** Token strings to output strings (concatenated by the caller). */
export type Decoder = (tokens: string[]) => string[];

const utf8 = new TextEncoder();

/** `tokenizers`' `clean_up_tokenization`. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** The ByteLevel decoder: byte-alphabet characters back to bytes, then lossy UTF-8. */
export const byteLevelDecoder: Decoder = (tokens) => {
  let length = 0;
  for (const token of tokens) length += 4 * token.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const token of tokens) {
    const start = at;
    let mapped = true;
    for (let i = 0; i < token.length; i++) {
      const code = token.charCodeAt(i);
      const byte = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
      if (byte < 0) {
        mapped = false;
        break;
      }
      bytes[at++] = byte;
    }
    // A token with a character outside the byte alphabet contributes its own UTF-8.
    if (!mapped) {
      const own = utf8.encode(token);
      bytes.set(own, start);
      at = start + own.length;
    }
  }
  return [decodeUtf8Lossy(bytes.subarray(0, at))];
};

/** `<0xNN>` → byte value, else -1. */
function byteToken(token: string): number {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return -1;
  const value = Number.parseInt(token.slice(3, 5), 16);
  return /^[0-9A-Fa-f]{2}$/.test(token.slice(3, 5)) ? value : -1;
}

const byteFallbackDecoder: Decoder = (tokens) => {
  const out: string[] = [];
  let pending: number[] = [];
  const flushBytes = () => {
    if (pending.length === 0) return;
    const text = decodeUtf8Strict(Uint8Array.from(pending));
    if (text !== undefined) out.push(text);
    else for (let i = 0; i < pending.length; i++) out.push('\uFFFD');
    pending = [];
  };
  for (const token of tokens) {
    const byte = byteToken(token);
    if (byte >= 0) {
      pending.push(byte);
      continue;
    }
    flushBytes();
    out.push(token);
  }
  flushBytes();
  return out;
};

function stripChars(token: string, content: string, start: number, stop: number): string {
  const chars = [...token];
  let from = 0;
  while (from < start && from < chars.length && chars[from] === content) from++;
  let to = chars.length;
  while (chars.length - to < stop && to > from && chars[to - 1] === content) to--;
  return chars.slice(from, to).join('');
}

/**
 * Builds the decoder of a `decoder` JSON value: ByteLevel, Metaspace, WordPiece,
 * ByteFallback, Fuse, Strip, Replace (literal patterns) or a Sequence of them.
 *
 * @throws FormatError for malformed values; UnsupportedError for other types.
 */
export function createDecoder(value: unknown, place: JsonPlace): Decoder {
  const fields = new JsonFields(value, place);
  const type = fields.type();
  switch (type) {
    case 'Sequence': {
      const stages = fields
        .array('decoders')
        .map((item, i) => createDecoder(item, child(fields.at('decoders'), i)));
      return (tokens) => stages.reduce((acc, stage) => stage(acc), tokens);
    }
    case 'ByteLevel':
      return byteLevelDecoder;
    case 'ByteFallback':
      return byteFallbackDecoder;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Metaspace': {
      const replacement = fields.string('replacement', '\u2581');
      const legacy = fields.boolean('add_prefix_space', true);
      const scheme = fields.string('prepend_scheme', legacy ? 'always' : 'never');
      return (tokens) =>
        tokens.map((token, index) => {
          // As tokenizers: in the first token every replacement is dropped unless the scheme is never.
          const space = index === 0 && scheme !== 'never' ? '' : ' ';
          return token.replaceAll(replacement, space);
        });
    }
    case 'WordPiece': {
      const prefix = fields.string('prefix', '##');
      const cleanup = fields.boolean('cleanup', true);
      return (tokens) =>
        tokens.map((token, index) => {
          if (index !== 0) token = token.startsWith(prefix) ? token.slice(prefix.length) : ` ${token}`;
          return cleanup ? cleanUpTokenization(token) : token;
        });
    }
    case 'Strip': {
      const content = fields.string('content');
      if ([...content].length !== 1) jsonFail(fields.at('content'), 'one character', content);
      const start = fields.index('start', 0);
      const stop = fields.index('stop', 0);
      return (tokens) => tokens.map((token) => stripChars(token, content, start, stop));
    }
    case 'Replace': {
      const pattern = literalPattern(fields.required('pattern', 'a pattern'), fields.at('pattern'));
      const content = fields.string('content');
      return (tokens) =>
        pattern === '' ? tokens : tokens.map((token) => token.replaceAll(pattern, content));
    }
    default:
      throw new UnsupportedError(
        `${place.source}: "${fields.at('type').path}": decoder type "${type}" is not supported`,
        {
          details: { source: place.source, type },
        },
      );
  }
}
