/**
 * Tokenizer throughput on text that never repeats (so no cache can memorise it): encode and
 * decode MB/s of UTF-8 and the time to load the vocabulary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadLlama2cTokenizer } from '@rotor/tokenizer';
import { measure } from '../harness.js';
import type { Suite, SuiteContext } from '../suite.js';

const WORDS =
  'the a little girl boy dog cat ball tree park sun day happy sad big small red blue went saw played wanted said mom dad friend house garden bird fish cake toy car jumped ran looked found was were had her his they she he it and but so then because very too with to in on at of'.split(
    ' ',
  );

/** Seeded prose of `bytes` length: sentences of random words, never a repeating block. */
export function storyCorpus(bytes: number, seed = 1): string {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const count = 4 + (next() % 10);
    const words = Array.from({ length: count }, () => WORDS[next() % WORDS.length]);
    const sentence = `${words[0][0].toUpperCase()}${words.join(' ').slice(1)}${next() % 7 === 0 ? '!' : '.'}${next() % 5 === 0 ? '\n' : ' '}`;
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').slice(0, bytes);
}

export const tokenizerSuite: Suite = {
  name: 'tokenizer',
  tasks({ fixtures }) {
    const path = join(fixtures, 'stories260K/tok512.bin');
    return [
      {
        name: 'llama2.c tok512',
        async run(context: SuiteContext) {
          if (!existsSync(path)) {
            context.record({
              suite: 'tokenizer',
              name: 'llama2.c tok512',
              backend: 'rotor',
              metric: 'skipped',
              value: 0,
              unit: '',
              note: `${path} is missing`,
            });
            return;
          }
          const bytes = readFileSync(path);
          const loadStart = performance.now();
          const tokenizer = loadLlama2cTokenizer(bytes, { vocabSize: 512 });
          const loadMs = performance.now() - loadStart;
          const size = context.quick ? 200_000 : 2_000_000;
          let round = 0;
          // A fresh corpus per run: nothing is encoded twice.
          const encode = await measure(() => tokenizer.encode(storyCorpus(size, ++round)), {
            warmup: 1,
            minRuns: 3,
            minTimeMs: 200,
          });
          const corpusStart = performance.now();
          storyCorpus(size, 999);
          const corpusMs = performance.now() - corpusStart;
          const ids = tokenizer.encode(storyCorpus(size, 12345));
          const decode = await measure(() => tokenizer.decode(ids), {
            warmup: 1,
            minRuns: 3,
            minTimeMs: 200,
          });
          const base = { suite: 'tokenizer', name: 'llama2.c tok512, English prose', backend: 'rotor' };
          const megabytes = size / 1e6;
          context.record({
            ...base,
            metric: 'encode',
            value: megabytes / ((encode.median - corpusMs) / 1000),
            unit: 'MB/s',
            spread: encode.spread,
            runs: encode.runs,
          });
          context.record({
            ...base,
            metric: 'decode',
            value: megabytes / (decode.median / 1000),
            unit: 'MB/s',
            spread: decode.spread,
            runs: decode.runs,
          });
          context.record({ ...base, metric: 'load', value: loadMs, unit: 'ms' });
        },
      },
    ];
  },
};
