/**
 * Every backend reproduces llama2.c's greedy text on stories260K, and agrees token for token with
 * the reference backend on prompts llama2.c's outputs do not cover. WebGPU runs on Dawn with
 * SwiftShader here (correctness, not speed).
 */
import { readFileSync } from 'node:fs';
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { expect, it } from 'vitest';

const REFERENCE_PROMPTS: [string, string][] = [
  ['Once upon a time', 'expected_once_upon_a_time_n200.txt'],
  ['', 'expected_noprompt_n200.txt'],
  ['Tom had a red ball', 'expected_tom_had_a_red_ball.txt'],
  ['One day, a little dog', 'expected_one_day_a_little_dog.txt'],
];
const MORE_PROMPTS = [
  'Lily and Ben went to the park',
  'The sun was hot. Sara',
  'Max saw a cat é 😀 in the tree',
  'Zzz qqq xylophone',
];

// Module scope keeps Dawn's instance alive for the whole file.
const gpu = await createNodeGpu().catch(() => undefined);
const registry = () => createDefaultBackendRegistry({ gpu, allowSoftwareAdapter: true });

describeWithFixtures(
  'greedy stories260K on every backend',
  [
    'stories260K/stories260K.bin',
    'stories260K/tok512.bin',
    ...REFERENCE_PROMPTS.map(([, file]) => `stories260K/reference/${file}`),
  ],
  () => {
    const generate = async (backend: string, prompts: string[], batched = false) => {
      const model = await loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
        tokenizerPath: fixturePath('stories260K/tok512.bin'),
        backend,
        backendRegistry: registry(),
      });
      const options = { temperature: 0, maxNewTokens: 200 };
      try {
        if (batched) {
          const continuations = await model.generator.generateBatchText(prompts, options);
          return prompts.map((prompt, i) => prompt + continuations[i]);
        }
        const texts: string[] = [];
        for (const prompt of prompts)
          texts.push(prompt + (await model.generator.generateText(prompt, options)));
        return texts;
      } finally {
        model.dispose();
      }
    };
    const expectLlama2c = (backend: string, texts: string[]) => {
      REFERENCE_PROMPTS.forEach(([, file], i) => {
        const expected = readFileSync(fixturePath(`stories260K/reference/${file}`), 'utf8').replace(
          /\n$/,
          '',
        );
        expect(texts[i].startsWith(expected), `${backend}: ${texts[i]}`).toBe(true);
      });
    };

    it.each(registry().names)('%s reproduces llama2.c and the reference backend', async (backend) => {
      const unavailable = await registry()
        .select(backend)
        .then((selection) => {
          selection.backend.destroy();
          return undefined;
        })
        .catch((error: Error) => error.message);
      if (unavailable !== undefined) {
        // Only a backend this machine cannot run is passed over, and never under CI.
        expect(process.env.CI, `${backend} is unavailable: ${unavailable}`).not.toBe('true');
        console.warn(`skipped by capability: ${backend} is unavailable here: ${unavailable}`);
        return;
      }
      const prompts = REFERENCE_PROMPTS.map(([prompt]) => prompt);
      expectLlama2c(backend, await generate(backend, prompts));
      // All reference prompts in one left-padded batch: one prefill, then one decode step for all.
      expectLlama2c(`${backend} batched`, await generate(backend, prompts, true));
      if (backend !== 'reference')
        expect(await generate(backend, MORE_PROMPTS)).toEqual(await generate('reference', MORE_PROMPTS));
    });
  },
);
