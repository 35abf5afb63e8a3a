/**
 * What a positional encoding does to a trained model: perplexity of stories260K (trained on 512
 * positions with RoPE) on the project's story text against the context length, for its own RoPE,
 * RoPE scaled four times (linear, NTK-aware, dynamic NTK, YaRN), and encodings it never saw.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PositionalEncodingSpec } from '@rotor/core';
import { evaluate } from '@rotor/decoder-model';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import type { Suite, SuiteContext } from '../suite.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The evaluation text, beside the bundle (`dist/`) in `data/`. */
const STORIES = resolve(here, '../data/stories.txt');
const MODEL = 'stories260K/stories260K.bin';
const TOKENIZER = 'stories260K/tok512.bin';
const TRAINED_POSITIONS = 512;

/** stories260K's own encoding, which every scaling keeps apart from the scaling itself. */
const NATIVE: PositionalEncodingSpec = { type: 'rope', layout: 'interleaved', base: 10000 };
const scaled = (scaling: Record<string, unknown>): PositionalEncodingSpec => ({ ...NATIVE, scaling });

/** The strategies compared, labelled as in the report; `quick` marks the ones the quick run keeps. */
const STRATEGIES: { label: string; spec?: PositionalEncodingSpec; quick?: boolean }[] = [
  { label: 'RoPE (native)', quick: true },
  { label: 'RoPE linear x4', spec: scaled({ type: 'linear', factor: 4 }) },
  { label: 'RoPE NTK-aware x4', spec: scaled({ type: 'ntk', factor: 4 }) },
  {
    label: 'RoPE dynamic NTK x4',
    spec: scaled({ type: 'dynamic-ntk', factor: 4, originalMaxPositions: TRAINED_POSITIONS }),
  },
  {
    label: 'RoPE YaRN x4',
    spec: scaled({ type: 'yarn', factor: 4, originalMaxPositions: TRAINED_POSITIONS }),
    quick: true,
  },
  { label: 'none', spec: { type: 'none' }, quick: true },
  { label: 'sinusoidal', spec: { type: 'sinusoidal' } },
  { label: 'ALiBi', spec: { type: 'alibi' } },
];

/** Characters of the text the quick run scores (about 1,500 tokens of stories260K's vocabulary). */
const QUICK_CHARACTERS = 3000;

export const positionsSuite: Suite = {
  name: 'positions',
  tasks({ quick }) {
    const contextLengths = quick ? [128, 512] : [128, 256, 512, 1024, 2048];
    return STRATEGIES.filter((s) => !quick || s.quick).map((strategy) => ({
      name: strategy.label,
      async run(context: SuiteContext) {
        const modelPath = join(context.fixtures, MODEL);
        if (!existsSync(modelPath)) {
          context.record({
            suite: 'positions',
            name: strategy.label,
            backend: 'wasm',
            metric: 'skipped',
            value: 0,
            unit: '',
            note: `${modelPath} is missing`,
          });
          return;
        }
        // The fastest CPU backend; numbers do not depend on it beyond float rounding.
        const backend = context.backends.find((b) => b.name === 'wasm') ?? context.backends[0];
        const text = readFileSync(STORIES, 'utf8');
        const lm = await loadLanguageModelFile(modelPath, {
          tokenizerPath: join(context.fixtures, TOKENIZER),
          backend,
          positionalEncoding: strategy.spec,
          maxSequenceLength: Math.max(...contextLengths),
        });
        try {
          for (const contextLength of contextLengths) {
            const result = await evaluate(lm, quick ? text.slice(0, QUICK_CHARACTERS) : text, {
              contextLength,
            });
            context.record({
              suite: 'positions',
              name: `${strategy.label}, context ${contextLength}`,
              backend: backend.name,
              metric: 'perplexity',
              value: result.perplexity,
              unit: '',
              note: `mean NLL ${result.meanNegativeLogLikelihood.toFixed(4)} nats over ${result.scoredTokens} tokens, stride ${contextLength / 2}`,
            });
          }
        } finally {
          lm.dispose();
        }
      },
    }));
  },
};
