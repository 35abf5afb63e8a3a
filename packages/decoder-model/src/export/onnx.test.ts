import { createReferenceBackend } from '@rotor/attention-core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { parseOnnxWeights } from '../loaders/onnx.js';
import { DecoderModel } from '../model.js';
import { readModelWeightsFile } from '../node/index.js';
import { randomGpt2Weights, randomLlamaWeights } from '../random-weights.js';
import type { ModelWeights } from '../weights.js';
import { exportOnnx, type OnnxExportForm } from './onnx.js';

async function build(weights: ModelWeights) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
  });
  return DecoderModel.create(weights, { backend: createReferenceBackend(), positionalEncoding });
}

/**
 * Runs the exported graph with onnxruntime-web over `ids`: the first `prefill` tokens in one call,
 * then one token per call with the KV cache fed back; returns the worst |logit difference| to ours.
 */
async function worstDifference(
  weights: ModelWeights,
  ids: number[],
  prefill: number,
  form: OnnxExportForm = 'standard',
): Promise<number> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(exportOnnx(weights, { form }));
  const model = await build(weights);
  const { numLayers, numKvHeads, headDim, vocabSize: V } = weights.config;
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        numKvHeads,
        0,
        headDim,
      ]);
    }
  }
  let worst = 0;
  let start = 0;
  while (start < ids.length) {
    const chunk = ids.slice(start, start === 0 ? prefill : start + 1);
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(chunk, BigInt), [1, chunk.length]),
      ...past,
    };
    const results = await session.run(feeds);
    const logits = results.logits.data as Float32Array;
    for (let t = 0; t < chunk.length; t++) {
      const ours = await model.forward([chunk[t]], start + t);
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(ours[i] - logits[t * V + i]));
    }
    past = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value'])
        past[`past_key_values.${l}.${kind}`] = results[`present.${l}.${kind}`];
    }
    start += chunk.length;
  }
  await session.release();
  return worst;
}

describeWithFixtures('ONNX export of stories260K', ['stories260K/stories260K.bin'], () => {
  it('runs in onnxruntime-web with logits within 1e-4 of ours, prefill then decode with the KV cache', async () => {
    const weights = await readModelWeightsFile(fixturePath('stories260K/stories260K.bin'));
    const ids = [
      1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 1, 5, 97, 300, 301, 17, 44, 12, 9, 500, 2, 33, 34,
    ];
    const worst = await worstDifference(weights, ids, 6);
    console.info(`stories260K ONNX export vs ours: max |logit difference| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 120_000);
});

describe('ONNX export', () => {
  it('handles half-split RoPE, separate classifiers and GQA', async () => {
    const base = randomLlamaWeights(
      {
        modelDim: 32,
        hiddenDim: 40,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 1,
        vocabSize: 30,
        maxSequenceLength: 24,
        tiedEmbeddings: false,
      },
      3,
    );
    const halfSplit = {
      ...base,
      config: { ...base.config, positionalEncoding: { type: 'rope', layout: 'half-split', base: 500000 } },
    };
    const ids = [1, 7, 3, 29, 0, 14, 14, 2, 8, 21];
    const worst = [await worstDifference(base, ids, 4), await worstDifference(halfSplit, ids, 1)];
    console.info(
      `random Llama ONNX export (interleaved, half-split) vs ours: ${worst.map((w) => w.toExponential(2))}`,
    );
    for (const w of worst) expect(w).toBeLessThan(1e-4);
  }, 120_000);

  it('writes the onnxruntime contrib-op form (GroupQueryAttention, SkipSimplifiedLayerNormalization) that matches too', async () => {
    // onnxruntime's CPU GroupQueryAttention wants head sizes that are multiples of 16.
    const base = randomLlamaWeights(
      {
        modelDim: 64,
        hiddenDim: 80,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        vocabSize: 50,
        maxSequenceLength: 32,
      },
      4,
    );
    const halfSplit = {
      ...base,
      config: { ...base.config, positionalEncoding: { type: 'rope', layout: 'half-split', base: 10000 } },
    };
    const ids = [1, 7, 3, 49, 0, 14, 14, 2, 8, 21, 33, 5];
    const worst = [
      await worstDifference(base, ids, 5, 'contrib'),
      await worstDifference(halfSplit, ids, 1, 'contrib'),
      await worstDifference(base, ids, 5, 'standard'),
    ];
    console.info(
      `contrib-op ONNX export (interleaved, half-split) and standard vs ours: ${worst.map((w) => w.toExponential(2))}`,
    );
    for (const w of worst) expect(w).toBeLessThan(1e-4);
  }, 120_000);

  it('rejects architectures it does not export with typed errors, and round-trips through the loader schema', () => {
    const gpt2 = randomGpt2Weights({
      modelDim: 16,
      hiddenDim: 16,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 2,
      vocabSize: 10,
      maxSequenceLength: 8,
    });
    expect(() => exportOnnx(gpt2)).toThrow(/only the Llama block/);
    const llama = randomLlamaWeights({
      modelDim: 16,
      hiddenDim: 16,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 2,
      vocabSize: 10,
      maxSequenceLength: 8,
    });
    const alibi = { ...llama, config: { ...llama.config, positionalEncoding: { type: 'alibi' } } };
    expect(() => exportOnnx(alibi)).toThrow(/positional encoding "alibi" is not exported/);
    // Our own loader reads the export's protobuf (it is not a GPT-2 graph, which it says).
    expect(() => parseOnnxWeights(exportOnnx(llama))).toThrow(/expected a GPT-2 export/);
  });
});
