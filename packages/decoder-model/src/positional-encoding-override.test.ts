import { createDefaultBackendRegistry, referenceBackend } from '@rotor/attention-core';
import { type BackendFactory, type HostTensor, isRotorError, type PositionalEncodingSpec } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { describe, expect, it } from 'vitest';
import { createLanguageModel } from './language-model.js';
import { loadLanguageModelFile } from './node/index.js';
import { randomLlamaWeights } from './random-weights.js';

const OVERRIDES: PositionalEncodingSpec[] = [
  { type: 'none' },
  { type: 'sinusoidal' },
  { type: 'alibi' },
  { type: 'rope', layout: 'half-split' },
  { type: 'rope', scaling: { type: 'linear', factor: 2 } },
  { type: 'rope', scaling: { type: 'ntk', factor: 4 } },
  { type: 'rope', scaling: { type: 'yarn', factor: 4, originalMaxPositions: 128 } },
  { type: 'rope', scaling: { type: 'dynamic-ntk', factor: 2, originalMaxPositions: 16 } },
  { type: 'rope', scaling: { type: 'llama3', factor: 8, originalMaxPositions: 64 } },
];

describeWithFixtures(
  'swapping the positional encoding of stories260K',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    const generate = async (positionalEncoding?: PositionalEncodingSpec) => {
      const model = await loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
        tokenizerPath: fixturePath('stories260K/tok512.bin'),
        backend: 'reference',
        positionalEncoding,
      });
      try {
        return await model.generator.generateText('Once upon a time', { temperature: 0, maxNewTokens: 60 });
      } finally {
        model.dispose();
      }
    };

    it('the explicit default spec reproduces the model’s own encoding', async () => {
      expect(await generate({ type: 'rope', layout: 'interleaved', base: 10000 })).toBe(await generate());
    });

    it.each(OVERRIDES.map((spec) => [JSON.stringify(spec), spec] as const))(
      '%s runs and changes the text',
      async (_, spec) => {
        const baseline = await generate();
        const text = await generate(spec);
        expect(text.length).toBeGreaterThan(0);
        expect(text).not.toBe(baseline);
      },
    );

    it('rejects an invalid spec with an error naming the field', async () => {
      const error = await generate({ type: 'rope', layout: 'diagonal' }).catch((e: unknown) => e);
      expect(isRotorError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(/positionalEncoding\.layout.*"diagonal"/);
      const unknown = await generate({ type: 'spiral' }).catch((e: unknown) => e);
      expect(isRotorError(unknown)).toBe(true);
    });

    it('explains that a learned table is missing from a Llama checkpoint', async () => {
      const error = await generate({ type: 'learned' }).catch((e: unknown) => e);
      expect(isRotorError(error)).toBe(true);
      expect((error as Error).message).toMatch(/wpe/);
    });
  },
);

const registry = createDefaultBackendRegistry();
// Backends this machine cannot run (WebGPU without an adapter) are reported, not failed.
const runnable: string[] = [];
for (const name of registry.names) {
  try {
    (await registry.select(name)).backend.destroy();
    runnable.push(name);
  } catch (error) {
    if (!isRotorError(error, 'BACKEND_UNAVAILABLE')) throw error;
    console.warn(`positional encodings on every backend: skipping ${name}: ${error.message}`);
  }
}

describe('every positional encoding on every backend', () => {
  const shape = {
    modelDim: 32,
    hiddenDim: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    vocabSize: 64,
    maxSequenceLength: 32,
  };
  const base = randomLlamaWeights(shape, 5);
  const tensors = new Map(base.tensors);
  const table = (shape: number[], seed: number): HostTensor<'f32'> => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + seed) * 0.5;
    return { dtype: 'f32', shape, data };
  };
  tensors.set('wpe', table([32, 32], 1));
  tensors.set('relative_attention_bias', table([32, 4], 2));
  const weights = { config: base.config, tensors };
  const specs: PositionalEncodingSpec[] = [
    { type: 'rope' },
    ...OVERRIDES,
    { type: 'learned' },
    { type: 't5-relative' },
  ];
  const ids = [3, 14, 15, 9, 2, 6, 53, 58, 9, 7, 9, 3];
  const tokenizer = { vocabSize: 64 } as never;

  const logitsOf = async (factory: BackendFactory, spec: PositionalEncodingSpec) => {
    const model = await createLanguageModel(weights, tokenizer, {
      backend: await factory.create(),
      positionalEncoding: spec,
    });
    try {
      await model.model.forward(ids.slice(0, 7), 0);
      return model.model.forward(ids.slice(7), 7);
    } finally {
      model.dispose();
    }
  };

  for (const name of runnable) {
    it.each(specs.map((spec) => [JSON.stringify(spec), spec] as const))(
      `${name}: %s matches the reference backend`,
      async (_, spec) => {
        const selection = await registry.select(name);
        const backendFactory: BackendFactory = {
          name,
          probe: async () => ({ available: true }),
          create: async () => selection.backend,
        };
        const expected = await logitsOf(referenceBackend(), spec);
        const actual = await logitsOf(backendFactory, spec);
        const tolerance = Math.max(selection.backend.capabilities.f32Tolerance, 1e-6) * 10;
        for (let i = 0; i < expected.length; i++)
          expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(
            tolerance * Math.max(1, Math.abs(expected[i])),
          );
        selection.backend.destroy();
      },
    );
  }
});
