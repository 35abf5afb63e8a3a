import { readFile } from 'node:fs/promises';
import { isRotorError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { expect, it } from 'vitest';
import { loadLanguageModelFile } from './node/index.js';

/** llama2.c's reference outputs: prompt → file with its exact stdout. */
const REFERENCE_PROMPTS: [string, string][] = [
  ['Once upon a time', 'expected_once_upon_a_time_n200.txt'],
  ['', 'expected_noprompt_n200.txt'],
  ['Tom had a red ball', 'expected_tom_had_a_red_ball.txt'],
  ['One day, a little dog', 'expected_one_day_a_little_dog.txt'],
];

const load = () =>
  loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
    tokenizerPath: fixturePath('stories260K/tok512.bin'),
    backend: 'reference',
  });

describeWithFixtures(
  'generation on stories260K',
  [
    'stories260K/stories260K.bin',
    'stories260K/tok512.bin',
    ...REFERENCE_PROMPTS.map(([, f]) => `stories260K/reference/${f}`),
  ],
  () => {
    it.each(REFERENCE_PROMPTS)('greedy text for %j has llama2.c output as a prefix', async (prompt, file) => {
      const expected = (await readFile(fixturePath(`stories260K/reference/${file}`), 'utf8')).replace(
        /\n$/,
        '',
      );
      const { generator, dispose } = await load();
      const text = prompt + (await generator.generateText(prompt, { temperature: 0, maxNewTokens: 200 }));
      dispose();
      expect(text.startsWith(expected), `got:\n${text}`).toBe(true);
    });

    it('reproduces seeded sampling and reports statistics', async () => {
      const { generator, dispose } = await load();
      const options = { temperature: 0.9, topP: 0.9, topK: 40, seed: 1234, maxNewTokens: 40 };
      const first = await generator.generateText('Lily', options);
      expect(await generator.generateText('Lily', options)).toBe(first);
      expect(generator.lastStats).toMatchObject({
        seed: 1234,
        promptTokens: expect.any(Number),
        generatedTokens: 40,
      });
      dispose();
    });

    it('never reuses cache rows that another caller of the model overwrote', async () => {
      const { generator, model, dispose } = await load();
      const prompt = 'Once upon a time';
      const expected = await generator.generateText(prompt, { temperature: 0, maxNewTokens: 30 });
      // Direct use of the model (evaluation, inspection) rewrites the cache behind the generator's back.
      await model.forward([1, 300, 301, 302, 303, 304], 0);
      expect(await generator.generateText(prompt, { temperature: 0, maxNewTokens: 30 })).toBe(expected);
      expect(generator.lastStats?.cachedTokens).toBe(1);
      await expect(model.forward([5], 50)).rejects.toThrow(/start: expected at most/);
      dispose();
    });

    it('aborts mid-stream with a typed error and stays usable', async () => {
      const { generator, dispose } = await load();
      const controller = new AbortController();
      let count = 0;
      const error = await (async () => {
        for await (const _ of generator.generate('Once upon a time', {
          temperature: 0,
          signal: controller.signal,
        })) {
          if (++count === 5) controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(isRotorError(error, 'ABORTED')).toBe(true);
      expect(count).toBe(5);
      const text = await generator.generateText('Once upon a time', { temperature: 0, maxNewTokens: 5 });
      expect(text.length).toBeGreaterThan(0);
      dispose();
    });

    it('rejects a second concurrent generation and context overflow', async () => {
      const { generator, dispose } = await load();
      const running = generator.generate('Once', { temperature: 0, maxNewTokens: 3 });
      await running.next();
      await expect(generator.generateText('Twice')).rejects.toThrow(/already running/);
      await running.return(undefined);
      await expect(generator.generateText('Once', { maxNewTokens: 600 })).rejects.toThrow(
        /exceeds the context of 512 tokens/,
      );
      await expect(generator.generateText('x'.repeat(2000))).rejects.toThrow(/no room/);
      dispose();
    });
  },
);
