/**
 * Hugging Face `tokenizer.json` normalizers: one factory dispatching on the JSON `type`.
 * A normalizer maps one text segment (between added tokens) to its normalized form.
 */
import { UnsupportedError } from '@rotor/core';
import { child, JsonFields, type JsonPlace, jsonFail } from '../loaders/json-fields.js';
import { codePointFlags, codePointsToString, MARK, toCodePoints } from '../unicode/code-points.js';
import { AlignedBuilder, type AlignedText, mapEachCharacter, spanOf } from './aligned-text.js';
import { normalizeBert } from './bert-normalizer.js';

/** Text to normalized text; `align` does the same keeping each code point's source range. */
export interface Normalizer {
  (text: string): string;
  align(text: AlignedText): AlignedText;
}

function normalizer(
  normalize: (text: string) => string,
  align: (text: AlignedText) => AlignedText,
): Normalizer {
  return Object.assign(normalize, { align });
}

/**
 * Unicode normalization with source ranges: each base character with the marks after it is
 * normalized alone (the usual extent of composition); when that differs from normalizing the
 * whole text (Hangul jamo, reordering across clusters), everything maps to the whole range.
 */
function alignUnicode(text: AlignedText, form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): AlignedText {
  const out = new AlignedBuilder();
  const whole = codePointsToString(text.cps).normalize(form);
  let joined = '';
  let i = 0;
  while (i < text.cps.length) {
    let j = i + 1;
    while (j < text.cps.length && codePointFlags(text.cps[j]) & MARK) j++;
    const cluster = codePointsToString(text.cps, i, j).normalize(form);
    const [start, end] = spanOf(text, i, j);
    out.pushText(cluster, start, end);
    joined += cluster;
    i = j;
  }
  if (joined === whole) return out.build();
  const all = new AlignedBuilder();
  const [start, end] = spanOf(text, 0, text.cps.length);
  all.pushText(whole, start, end);
  return all.build();
}

/** `text` with `pattern` replaced by `content`; the replacement comes from the whole match. */
function alignReplace(text: AlignedText, pattern: string, content: string): AlignedText {
  const needle = Uint32Array.from(pattern, (char) => char.codePointAt(0)!);
  const out = new AlignedBuilder();
  const { cps, spans } = text;
  let i = 0;
  while (i < cps.length) {
    let k = 0;
    while (k < needle.length && i + k < cps.length && cps[i + k] === needle[k]) k++;
    if (needle.length > 0 && k === needle.length) {
      const [start, end] = spanOf(text, i, i + k);
      out.pushText(content, start, end);
      i += k;
    } else {
      out.push(cps[i], spans[2 * i], spans[2 * i + 1]);
      i++;
    }
  }
  return out.build();
}

const NONSPACING_MARK = /\p{Mn}/u;

/** Lowercases one code point at a time (Rust `char::to_lowercase`: no final-sigma rule). */
function lowercase(text: string): string {
  let out = '';
  for (const char of text) out += char.toLowerCase();
  return out;
}

/** Drops nonspacing marks (`Mn`), as Hugging Face `StripAccents` does (usually after NFD). */
function stripNonspacingMarks(text: string): string {
  let out = '';
  for (const char of text) if (!NONSPACING_MARK.test(char)) out += char;
  return out;
}

/** Ranges of `BertNormalizer`'s `is_chinese_char` (including its 0x2B920 quirk). */
const CJK_RANGES = [
  0x4e00, 0x9fff, 0x3400, 0x4dbf, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b920, 0x2ceaf,
  0xf900, 0xfaff, 0x2f800, 0x2fa1f,
];

function padChineseChars(text: string): string {
  let out = '';
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    let cjk = false;
    for (let i = 0; i < CJK_RANGES.length; i += 2)
      if (cp >= CJK_RANGES[i] && cp <= CJK_RANGES[i + 1]) cjk = true;
    out += cjk ? ` ${char} ` : char;
  }
  return out;
}

/** A `{ String: s }` / `{ Regex: r }` pattern that can be applied as a literal, or UnsupportedError. */
export function literalPattern(value: unknown, place: JsonPlace): string {
  const pattern = new JsonFields(value, place);
  const literal = pattern.string('String', undefined);
  if (literal !== undefined) return literal;
  const regex = pattern.string('Regex', undefined);
  if (regex === undefined) jsonFail(place, 'an object with "String" or "Regex"', 'neither');
  // A regex without metacharacters is a literal; others would need a regex engine.
  if (!/[\\^$.|?*+()[\]{}]/.test(regex)) return regex;
  throw new UnsupportedError(
    `${place.source}: "${place.path}": regex pattern ${JSON.stringify(regex)} is not supported (only literal patterns)`,
    { details: { source: place.source, path: place.path, pattern: regex } },
  );
}

/**
 * Builds the normalizer of a `normalizer` JSON value. Types: Sequence, NFC, NFD, NFKC, NFKD,
 * Lowercase, StripAccents, Prepend, Replace (literal patterns), BertNormalizer.
 *
 * @throws FormatError for malformed values; UnsupportedError for other types.
 */
export function createNormalizer(value: unknown, place: JsonPlace): Normalizer {
  const fields = new JsonFields(value, place);
  const type = fields.type();
  switch (type) {
    case 'Sequence': {
      const stages = fields
        .array('normalizers')
        .map((item, i) => createNormalizer(item, child(fields.at('normalizers'), i)));
      return normalizer(
        (text) => stages.reduce((acc, stage) => stage(acc), text),
        (text) => stages.reduce((acc, stage) => stage.align(acc), text),
      );
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return normalizer(
        (text) => text.normalize(type),
        (text) => alignUnicode(text, type),
      );
    case 'Lowercase':
      return normalizer(lowercase, (text) => mapEachCharacter(text, (char) => char.toLowerCase()));
    case 'StripAccents':
      return normalizer(stripNonspacingMarks, (text) => mapEachCharacter(text, stripNonspacingMarks));
    case 'Prepend': {
      const prefix = fields.string('prepend');
      return normalizer(
        (text) => (text.length > 0 ? prefix + text : text),
        (text) => {
          if (text.cps.length === 0) return text;
          const out = new AlignedBuilder();
          out.pushText(prefix, text.spans[0], text.spans[0]);
          for (let i = 0; i < text.cps.length; i++)
            out.push(text.cps[i], text.spans[2 * i], text.spans[2 * i + 1]);
          return out.build();
        },
      );
    }
    case 'Replace': {
      const pattern = literalPattern(fields.required('pattern', 'a pattern'), fields.at('pattern'));
      const content = fields.string('content');
      return normalizer(
        (text) => (pattern === '' ? text : text.replaceAll(pattern, content)),
        (text) => (pattern === '' ? text : alignReplace(text, pattern, content)),
      );
    }
    case 'BertNormalizer': {
      const clean = fields.boolean('clean_text', true);
      const chinese = fields.boolean('handle_chinese_chars', true);
      const lower = fields.boolean('lowercase', true);
      const strip = fields.boolean('strip_accents', lower);
      const normalize = (text: string) => {
        if (chinese) text = padChineseChars(text);
        if (clean) {
          const normalized = normalizeBert(toCodePoints(text), { lowercase: lower, stripAccents: strip });
          return codePointsToString(normalized.codePoints);
        }
        if (strip) text = stripNonspacingMarks(text.normalize('NFD'));
        return lower ? lowercase(text) : text;
      };
      // Per character: every step above maps one character to a string of its own.
      return normalizer(normalize, (text) => mapEachCharacter(text, normalize));
    }
    default:
      throw new UnsupportedError(
        `${place.source}: "${fields.at('type').path}": normalizer type "${type}" is not supported`,
        {
          details: { source: place.source, type },
        },
      );
  }
}
