import { readFile } from 'node:fs/promises';
import { createReferenceBackend } from '@rotor/attention-core';
import type { Backend } from '@rotor/core';
import { isRotorError } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { DecoderModel } from './model.js';
import { readModelWeightsFile } from './node/index.js';
import { randomLlamaWeights } from './random-weights.js';
import type { ModelWeights } from './weights.js';

async function buildModel(weights: ModelWeights, backend: Backend, maxPrefillRows?: number) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
  });
  return DecoderModel.create(weights, { backend, positionalEncoding, maxPrefillRows });
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describeWithFixtures(
  'stories260K against llama2.c',
  [
    'stories260K/stories260K.bin',
    'stories260K/reference/logits_once_upon_a_time_n200.f32',
    'stories260K/reference/trace_once_upon_a_time_n200.txt',
  ],
  () => {
    it('gives llama2.c logits within 1e-4 at each of 200 positions, decoding one token at a time', async () => {
      const weights = await readModelWeightsFile(fixturePath('stories260K/stories260K.bin'));
      const model = await buildModel(weights, createReferenceBackend());
      const trace = await readFile(
        fixturePath('stories260K/reference/trace_once_upon_a_time_n200.txt'),
        'utf8',
      );
      const tokens = trace
        .match(/TOKEN_IDS:([\d ]+)/)![1]
        .trim()
        .split(/\s+/)
        .map(Number);
      const expected = new Float32Array(
        (await readFile(fixturePath('stories260K/reference/logits_once_upon_a_time_n200.f32'))).buffer.slice(
          0,
        ),
      );
      const V = weights.config.vocabSize;
      expect(expected.length).toBe(200 * V);
      const inputs = [1, ...tokens];
      const logits = new Float32Array(V);
      let worst = 0;
      for (let p = 0; p < 200; p++) {
        await model.forward([inputs[p]], p, logits);
        worst = Math.max(worst, maxAbsDifference(logits, expected.subarray(p * V, (p + 1) * V)));
      }
      expect(worst).toBeLessThan(1e-4);
    });

    it('prefills a prompt in one pass, or in chunks, with the same logits as stepping', async () => {
      const weights = await readModelWeightsFile(fixturePath('stories260K/stories260K.bin'));
      const ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298];
      const stepped = await buildModel(weights, createReferenceBackend());
      let last: Float32Array = new Float32Array(0);
      for (let p = 0; p < ids.length; p++) last = await stepped.forward([ids[p]], p);
      for (const rows of [undefined, 4, 1]) {
        const batched = await buildModel(weights, createReferenceBackend(), rows);
        expect(maxAbsDifference(await batched.forward(ids, 0), last)).toBeLessThan(1e-5);
      }
    });
  },
);

describe('DecoderModel on random weights', () => {
  const weights = randomLlamaWeights(
    {
      modelDim: 24,
      hiddenDim: 40,
      numLayers: 2,
      numHeads: 6,
      numKvHeads: 2,
      vocabSize: 50,
      maxSequenceLength: 16,
      tiedEmbeddings: false,
    },
    9,
  );

  it('allocates no tensors during a decode step', async () => {
    const backend = createReferenceBackend();
    const model = await buildModel(weights, backend);
    await model.forward([1, 2, 3], 0);
    const counts = { allocate: 0, upload: 0, view: 0 };
    for (const method of Object.keys(counts) as (keyof typeof counts)[]) {
      const original = backend[method].bind(backend) as (...args: unknown[]) => unknown;
      (backend as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        counts[method]++;
        return original(...args);
      };
    }
    const logits = new Float32Array(50);
    const id = new Int32Array(1);
    for (let p = 3; p < 10; p++) {
      id[0] = p;
      await model.forward(id, p, logits);
    }
    expect(counts).toEqual({ allocate: 0, upload: 0, view: 0 });
  });

  it('rejects bad ids, positions and context overflow with typed errors', async () => {
    const model = await buildModel(weights, createReferenceBackend());
    const failures = [
      () => model.forward([50], 0),
      () => model.forward([-1], 0),
      () => model.forward([1.5], 0),
      () => model.forward([], 0),
      () => model.forward([1], -1),
      () => model.forward([1, 2], 15),
    ];
    for (const failure of failures) {
      const error = await failure().catch((e: unknown) => e);
      expect(isRotorError(error), String(error)).toBe(true);
    }
    await expect(model.forward([1, 2], 15)).rejects.toThrow(/exceed the context of 16 tokens/);
    model.dispose();
    await expect(model.forward([1], 0)).rejects.toThrow(/after dispose/);
  });
});
