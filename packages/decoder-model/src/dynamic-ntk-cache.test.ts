import { createReferenceBackend, createWasmBackend } from '@rotor/attention-core';
import type { Backend } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderModel } from './model.js';
import { randomLlamaWeights } from './random-weights.js';

// Dynamic NTK past 16 positions: the rotary base grows with the sequence length, so keys cached at
// a shorter length must be turned to the new angles. With one layer, keys depend on nothing but
// the token and its angles, so decoding step by step must then equal one pass over the text.
const spec = {
  type: 'rope',
  layout: 'interleaved',
  base: 10000,
  scaling: { type: 'dynamic-ntk', factor: 2, originalMaxPositions: 16 },
};
const weights = randomLlamaWeights({
  modelDim: 32,
  hiddenDim: 64,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 40,
  maxSequenceLength: 64,
});
const positionalEncoding = createDefaultPositionalEncodingRegistry().create(spec, {
  modelDim: 32,
  numHeads: 4,
  headDim: 8,
  maxPositions: 64,
});
const ids = Array.from({ length: 44 }, (_, i) => (i * 7 + 3) % 40);

const backends: [string, Backend][] = [
  ['reference', createReferenceBackend()],
  ['wasm', await createWasmBackend({ threads: 1 })],
];
afterAll(() => {
  for (const [, backend] of backends) backend.destroy();
});

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe.each(backends)('dynamic NTK over a KV cache (%s backend)', (_, backend) => {
  const create = () => DecoderModel.create(weights, { backend, positionalEncoding });
  const onePass = async (tokens: number[]) => {
    const model = await create();
    try {
      return await model.forward(tokens, 0);
    } finally {
      model.dispose();
    }
  };

  it('decoding token by token past the original context equals one pass', async () => {
    const model = await create();
    try {
      let logits: Float32Array = new Float32Array(0);
      for (let i = 0; i < ids.length; i++) logits = await model.forward([ids[i]], i);
      const expected = await onePass(ids);
      expect(maxAbsDifference(logits, expected)).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });

  it('a prompt in chunks, then a shorter prefix reused: each equals one pass', async () => {
    const model = await create();
    try {
      await model.forward(ids.slice(0, 10), 0);
      const grown = await model.forward(ids.slice(10, 30), 10);
      expect(maxAbsDifference(grown, await onePass(ids.slice(0, 30)))).toBeLessThan(1e-4);
      // Rows [0, 5) were turned to the angles of length 30; back under 16 they must turn back.
      const shrunk = await model.forward(ids.slice(5, 12), 5);
      expect(maxAbsDifference(shrunk, await onePass(ids.slice(0, 12)))).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });
});
