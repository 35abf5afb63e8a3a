/**
 * stories260K on WebGPU with storage bindings forced down to 16 KiB: the token embedding table
 * [512, 64] (128 KiB, also the tied classifier) and the FFN weights [172, 64] and [64, 172] (44 KiB)
 * are bound in row ranges, one dispatch per range, in a real model. Greedy tokens must equal the
 * reference backend's. The KV cache [1, S, 32] is bound whole, so S = 128 keeps it at 16 KiB.
 */

import { type WebGpuBackend, webgpuBackend } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import type { Backend } from '@rotor/core';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { expect, it } from 'vitest';

const MAX_BINDING_BYTES = 16 * 1024;
const PROMPT = 'Once upon a time';
const NEW_TOKENS = 30;

// Module scope keeps Dawn's instance alive for the whole file.
const gpu = await createNodeGpu().catch(() => undefined);

describeWithFixtures(
  'stories260K on WebGPU with weights split across storage bindings',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    const greedyTokens = async (backend: Backend | string) => {
      const model = await loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
        tokenizerPath: fixturePath('stories260K/tok512.bin'),
        backend,
        maxSequenceLength: 128,
      });
      try {
        const { vocabSize, modelDim, hiddenDim } = model.model.config;
        // The split paths run only if these tensors exceed one binding.
        expect(vocabSize * modelDim * 4).toBeGreaterThan(MAX_BINDING_BYTES);
        expect(hiddenDim * modelDim * 4).toBeGreaterThan(MAX_BINDING_BYTES);
        const tokens: number[] = [];
        for await (const { token } of model.generator.generate(PROMPT, {
          temperature: 0,
          maxNewTokens: NEW_TOKENS,
        })) {
          if (token >= 0) tokens.push(token);
        }
        return tokens;
      } finally {
        model.dispose();
      }
    };

    it('generates the reference backend greedy tokens', async (context) => {
      const factory = webgpuBackend({ gpu, kernelLimits: { maxBindingBytes: MAX_BINDING_BYTES } });
      const probe = await factory.probe();
      if (!probe.available) {
        // Only a machine without a WebGPU adapter passes over it, and never under CI.
        expect(process.env.CI, `webgpu is unavailable: ${probe.reason}`).not.toBe('true');
        context.skip(`skipped by capability: no WebGPU adapter here: ${probe.reason}`);
        return;
      }
      const backend = (await factory.create()) as WebGpuBackend;
      try {
        expect(backend.kernelLimits.maxBindingBytes).toBe(MAX_BINDING_BYTES);
        const expected = await greedyTokens('reference');
        expect(expected).toHaveLength(NEW_TOKENS);
        expect(await greedyTokens(backend)).toEqual(expected);
      } finally {
        backend.destroy();
      }
    });
  },
);
