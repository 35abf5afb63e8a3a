import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCodePoints } from '../unicode/code-points.js';
import { applyRule, gpt2Matcher, llama3Matcher, splitPreset, splitPresetNames } from './split-rules.js';

/** Piece boundaries of a preset on `cps`. */
function boundaries(preset: string, cps: Uint32Array): number[] {
  let pieces = [0, cps.length];
  for (const rule of splitPreset(preset)!.rules) pieces = applyRule(cps, pieces, rule);
  return pieces;
}

/** The pieces a preset cuts `text` into. */
function split(preset: string, text: string): string[] {
  const cps = toCodePoints(text);
  const pieces = boundaries(preset, cps);
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i += 2)
    out.push(String.fromCodePoint(...cps.subarray(pieces[i], pieces[i + 1])));
  return out;
}

/** JavaScript versions of the reference regexes, with `\s` spelled as White_Space. */
const S = '\\p{White_Space}';
const GPT2_REGEX = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${S}\\p{L}\\p{N}]+|[${S}]+(?![^${S}])|[${S}]+`,
  'gu',
);
const LLAMA3_REGEX = new RegExp(
  `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${S}\\p{L}\\p{N}]+[\\r\\n]*|[${S}]*[\\r\\n]+|[${S}]+(?![^${S}])|[${S}]+`,
  'gu',
);

/** Text made of the characters where the engines' classes differ or regexes backtrack. */
const tricky = fc
  .array(
    fc.constantFrom(
      ' ',
      '  ',
      '\t',
      '\n',
      '\r\n',
      '\u0085',
      '\u00a0',
      '\u3000',
      '\ufeff',
      'a',
      'Zé',
      '\u0301',
      '7',
      '²',
      '١٢',
      "'",
      "'s",
      "'LL",
      '!',
      '...',
      '$',
      '😀',
      '中文',
      'x',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('split rules', () => {
  it('agree with the reference regexes (White_Space for \\s) on tricky text', () => {
    fc.assert(
      fc.property(tricky, (text) => {
        expect(split('gpt-2', text)).toEqual(text.match(GPT2_REGEX) ?? []);
        expect(split('llama-bpe', text)).toEqual(text.match(LLAMA3_REGEX) ?? []);
      }),
      { numRuns: 500 },
    );
  });

  it('split GPT-2 and Llama 3 text as the reference tokenizers do', () => {
    expect(split('gpt-2', "Hello world!  It's 2024\n\n")).toEqual([
      'Hello',
      ' world',
      '!',
      ' ',
      ' It',
      "'s",
      ' 2024',
      '\n\n',
    ]);
    expect(split('llama3', "I'LL pay 1234567 now\n\n  x")).toEqual([
      'I',
      "'LL",
      ' pay',
      ' ',
      '123',
      '456',
      '7',
      ' now',
      '\n\n',
      ' ',
      ' x',
    ]);
    expect(split('qwen2', 'a 123')).toEqual(['a', ' ', '1', '2', '3']);
    // U+0085 is White_Space (JavaScript's \s says no); U+FEFF is not (JavaScript says yes).
    expect(split('gpt-2', 'a\u0085b')).toEqual(['a', '\u0085', 'b']);
    expect(split('gpt-2', 'a \ufeffb')).toEqual(['a', ' \ufeff', 'b']);
  });

  it('apply the extra rules of multi-stage presets', () => {
    expect(split('deepseek-coder', 'ab12 中文\n')).toEqual(['ab', '1', '2', ' ', '中文', '\n']);
    expect(split('starcoder', 'x 42')).toEqual(['x', ' ', '4', '2']);
    expect(split('falcon', 'x=1234')).toEqual(['x', '=', '123', '4']);
    expect(split('deepseek-llm', 'Hi there  ')).toEqual(['Hi', ' there', '  ']);
    expect(splitPresetNames()).toEqual(
      expect.arrayContaining(['default', 'gpt-2', 'llama-bpe', 'qwen2', 'refact']),
    );
  });

  it('stay linear on adversarial input (4x input, far less than 16x time)', () => {
    const adversarial = [
      (n: number) => `${' '.repeat(n)}x`,
      (n: number) => `${' \t'.repeat(n)}\n`,
      (n: number) => 'a'.repeat(n),
      (n: number) => "'".repeat(n),
      (n: number) => '1'.repeat(n),
      (n: number) => ' !'.repeat(n),
      (n: number) => `${' '.repeat(n)}1${' '.repeat(n)}`,
    ];
    const presets = ['gpt-2', 'llama3', 'deepseek-llm', 'default'];
    const time = (text: string, preset: string) => {
      const cps = toCodePoints(text);
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 3; run++) {
        const start = performance.now();
        boundaries(preset, cps);
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    for (const make of adversarial) {
      for (const preset of presets) {
        time(make(40_000), preset);
        const small = time(make(10_000), preset);
        const large = time(make(40_000), preset);
        // Quadratic work would take ~16x; the floor keeps timer noise on tiny times out.
        expect(large / Math.max(small, 1), `${preset} on ${JSON.stringify(make(3))}`).toBeLessThan(12);
      }
    }
  }, 60_000);

  it('expose the matchers for custom pipelines', () => {
    const cps = toCodePoints('ab 12');
    expect(applyRule(cps, [0, cps.length], gpt2Matcher)).toEqual([0, 2, 2, 5]);
    expect(applyRule(cps, [0, cps.length], llama3Matcher({ maxDigits: 1 }))).toEqual([
      0, 2, 2, 3, 3, 4, 4, 5,
    ]);
  });
});

describe('cl100k whitespace at the end of the text', () => {
  it('keeps a trailing whitespace run whole (`\\s++$`), unlike Llama 3', () => {
    const cut = (matcher: ReturnType<typeof llama3Matcher>, text: string) => {
      const cps = toCodePoints(text);
      const pieces = applyRule(cps, [0, cps.length], matcher);
      const out: string[] = [];
      for (let i = 0; i < pieces.length; i += 2)
        out.push(String.fromCodePoint(...cps.subarray(pieces[i], pieces[i + 1])));
      return out;
    };
    const cl100k = llama3Matcher({ maxDigits: 3, wholeTrailingWhitespace: true });
    expect(cut(cl100k, 'a\n  ')).toEqual(['a', '\n  ']);
    expect(cut(llama3Matcher({ maxDigits: 3 }), 'a\n  ')).toEqual(['a', '\n', '  ']);
    expect(cut(cl100k, 'a\n  b')).toEqual(['a', '\n', ' ', ' b']);
  });
});
