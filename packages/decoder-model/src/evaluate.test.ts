/** Sliding-window perplexity against log-softmax sums computed here, step by step, from `forward` logits. */
import { isRotorError, type RotorErrorCode, type Tokenizer } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { createLanguageModel } from './language-model.js';
import type { DecoderModel } from './model.js';
import { loadLanguageModelFile } from './node/index.js';
import { randomLlamaWeights } from './random-weights.js';

/**
 * Hugging Face's recipe spelled out: each window is decoded one token at a time from position 0;
 * its labels are masked except the last `end - previousEnd`, and label j is scored by the logits
 * of position j - 1.
 */
async function expectedNll(model: DecoderModel, ids: number[], contextLength: number, stride: number) {
  let sum = 0;
  let count = 0;
  let previousEnd = 0;
  for (let begin = 0; begin < ids.length; begin += stride) {
    const end = Math.min(begin + contextLength, ids.length);
    const window = ids.slice(begin, end);
    const labelled = window.map((_, j) => j >= window.length - (end - previousEnd));
    let logits: Float32Array = new Float32Array(0);
    for (let j = 0; j < window.length; j++) {
      if (j > 0 && labelled[j]) {
        const values = Array.from(logits);
        const max = Math.max(...values);
        const logSum = Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
        sum -= values[window[j]] - logSum;
        count++;
      }
      logits = await model.forward([window[j]], j);
    }
    previousEnd = end;
    if (end === ids.length) break;
  }
  return { sum, count };
}

const fixedTokenizer = (ids: number[], vocabSize: number): Tokenizer =>
  ({ vocabSize, specialTokens: { bos: ids[0] }, encode: () => [...ids] }) as unknown as Tokenizer;

const shape = {
  modelDim: 32,
  hiddenDim: 64,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 40,
  maxSequenceLength: 48,
};
const randomIds = Array.from({ length: 37 }, (_, i) => (i === 0 ? 1 : 2 + ((i * 17 + 5) % 38)));

async function randomModel() {
  const weights = randomLlamaWeights(shape, 11);
  return createLanguageModel(weights, fixedTokenizer(randomIds, shape.vocabSize), { backend: 'reference' });
}

describe('evaluate on a random model', () => {
  it.each([
    [16, 8],
    [16, 16],
    [16, 1],
    [16, 5],
    [48, 24],
    [2, 1],
    [2, 2],
    [37, 37],
  ])(
    'contextLength %i, stride %i matches the step-by-step log-softmax sum',
    async (contextLength, stride) => {
      const lm = await randomModel();
      try {
        const result = await evaluate(lm, 'ignored', { contextLength, stride });
        const expected = await expectedNll(lm.model, randomIds, contextLength, stride);
        expect(result.tokens).toBe(randomIds.length);
        expect(result.scoredTokens).toBe(expected.count);
        // Every token but the first is scored unless windows do not overlap.
        if (stride < contextLength) expect(result.scoredTokens).toBe(randomIds.length - 1);
        expect(result.meanNegativeLogLikelihood).toBeCloseTo(expected.sum / expected.count, 5);
        expect(result.perplexity).toBeCloseTo(Math.exp(expected.sum / expected.count), 4);
      } finally {
        lm.dispose();
      }
    },
  );

  it('defaults to the whole context and a stride of half of it, reporting progress per window', async () => {
    const lm = await randomModel();
    try {
      const progress: number[] = [];
      const result = await evaluate(lm, 'ignored', {
        onProgress: ({ scoredTokens, totalTokens }) => {
          expect(totalTokens).toBe(randomIds.length - 1);
          progress.push(scoredTokens);
        },
      });
      const explicit = await evaluate(lm, 'ignored', { contextLength: 48, stride: 24 });
      expect(result).toEqual(explicit);
      expect(progress).toEqual([randomIds.length - 1]);
      const windows: number[] = [];
      await evaluate(lm, 'ignored', {
        contextLength: 16,
        onProgress: ({ scoredTokens }) => windows.push(scoredTokens),
      });
      expect(windows).toEqual([15, 23, 31, 36]);
    } finally {
      lm.dispose();
    }
  });

  it('rejects bad options with typed errors naming the field', async () => {
    const lm = await randomModel();
    try {
      const rejects = async (options: object, code: string, pattern: RegExp) => {
        const error = await evaluate(lm, 'ignored', options).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRotorError(error, code as RotorErrorCode), String(error)).toBe(true);
        expect((error as Error).message).toMatch(pattern);
      };
      await rejects(
        { contextLength: 49 },
        'CONTEXT_OVERFLOW',
        /contextLength: expected at most the model's context of 48 tokens, found 49/,
      );
      await rejects(
        { contextLength: 1 },
        'INVALID_ARGUMENT',
        /contextLength: expected an integer >= 2, found 1/,
      );
      await rejects({ contextLength: 3.5 }, 'INVALID_ARGUMENT', /contextLength/);
      await rejects(
        { contextLength: 16, stride: 0 },
        'INVALID_ARGUMENT',
        /stride: expected an integer in \[1, 16\]/,
      );
      await rejects({ contextLength: 16, stride: 17 }, 'INVALID_ARGUMENT', /stride: .* found 17/);
      await rejects({ stride: Number.NaN }, 'INVALID_ARGUMENT', /stride/);
      const one = { model: lm.model, tokenizer: fixedTokenizer([1], shape.vocabSize) };
      await expect(evaluate(one, 'x')).rejects.toThrow(/text: expected at least 2 tokens/);
    } finally {
      lm.dispose();
    }
  });

  it('stops with AbortedError when aborted before or during the evaluation', async () => {
    const lm = await randomModel();
    try {
      const before = new AbortController();
      before.abort();
      await expect(evaluate(lm, 'ignored', { signal: before.signal })).rejects.toThrow(/evaluate: aborted/);
      const during = new AbortController();
      let windows = 0;
      const error = await evaluate(lm, 'ignored', {
        contextLength: 8,
        signal: during.signal,
        onProgress: () => {
          windows++;
          during.abort();
        },
      }).catch((e: unknown) => e);
      expect(isRotorError(error, 'ABORTED')).toBe(true);
      expect(windows).toBe(1);
    } finally {
      lm.dispose();
    }
  });
});

describeWithFixtures(
  'evaluate on stories260K',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    const text =
      'Once upon a time, there was a little girl named Lily. She loved to play in the park with her ' +
      'red ball. One day, she saw a big dog. The dog was sad because it was lost. Lily said, "Do not ' +
      'be sad. I will help you find your home." They walked and walked until they found a little house.';

    it('matches the sum of per-token log-softmax of its forward logits, and the text is likely', async () => {
      const lm = await loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
        tokenizerPath: fixturePath('stories260K/tok512.bin'),
        backend: 'reference',
      });
      try {
        const ids = lm.tokenizer.encode(text, { addSpecialTokens: true });
        expect(ids[0]).toBe(lm.tokenizer.specialTokens.bos);
        for (const [contextLength, stride] of [
          [512, 256],
          [40, 20],
          [32, 32],
        ]) {
          const result = await evaluate(lm, text, { contextLength, stride });
          const expected = await expectedNll(lm.model, ids, contextLength, stride);
          expect(result.tokens).toBe(ids.length);
          expect(result.scoredTokens).toBe(expected.count);
          expect(result.meanNegativeLogLikelihood).toBeCloseTo(expected.sum / expected.count, 4);
        }
        // A TinyStories-like text is far more likely than a uniform guess over 512 tokens.
        const whole = await evaluate(lm, text);
        expect(whole.perplexity).toBeLessThan(20);
        expect(whole.perplexity).toBeGreaterThan(1);
      } finally {
        lm.dispose();
      }
    });
  },
);
