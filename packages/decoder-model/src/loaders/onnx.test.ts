import { readFile } from 'node:fs/promises';
import { createReferenceBackend } from '@rotor/attention-core';
import { isRotorError } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import * as ort from 'onnxruntime-web';
import { expect, it } from 'vitest';
import { DecoderModel } from '../model.js';
import { XorShiftRandom } from '../sampling.js';
import type { ModelWeights } from '../weights.js';
import { parseOnnxWeights } from './onnx.js';

const FIXTURE = 'gpt2-tiny-random/gpt2-tiny-decoder.onnx';

async function build(weights: ModelWeights) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
    weight: (name) => weights.tensors.get(name)?.data,
  });
  return DecoderModel.create(weights, { backend: createReferenceBackend(), positionalEncoding });
}

function expectRotorError(run: () => unknown, pattern: RegExp) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isRotorError(caught), `expected a RotorError, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describeWithFixtures('GPT-2 from ONNX initializers against onnxruntime-web', [FIXTURE], () => {
  it('reads the config from the graph', async () => {
    const weights = parseOnnxWeights(await readFile(fixturePath(FIXTURE)), { source: 'gpt2-tiny' });
    expect(weights.config).toMatchObject({
      architecture: 'gpt2',
      vocabSize: 1000,
      numLayers: 5,
      numHeads: 4,
      headDim: 8,
      modelDim: 32,
      hiddenDim: 128,
      maxSequenceLength: 512,
      tiedEmbeddings: true,
    });
  });

  it('gives logits within 1e-4 of onnxruntime-web at each of 32 positions decoded with the KV cache', async () => {
    const bytes = await readFile(fixturePath(FIXTURE));
    const weights = parseOnnxWeights(bytes);
    const model = await build(weights);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(new Uint8Array(bytes));
    const random = new XorShiftRandom(7);
    const ids = Array.from({ length: 32 }, () => random.nextUint32() % 1000);
    const V = 1000;
    let worst = 0;
    for (let p = 0; p < ids.length; p++) {
      const ours = await model.forward([ids[p]], p);
      const length = p + 1;
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.slice(0, length), BigInt), [1, length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
      };
      const { logits } = await session.run(feeds, ['logits']);
      const theirs = (logits.data as Float32Array).subarray(p * V, (p + 1) * V);
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    }
    await session.release();
    console.info(`GPT-2 ONNX: max |logit difference| over 32 positions = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 120_000);

  it('rejects truncated, stripped and reshaped models with typed errors', async () => {
    const bytes = new Uint8Array(await readFile(fixturePath(FIXTURE)));
    expectRotorError(
      () => parseOnnxWeights(bytes.subarray(0, bytes.byteLength - 1000)),
      /not a valid ONNX protobuf|raw_data/,
    );
    expectRotorError(() => parseOnnxWeights(bytes.subarray(0, 100)), /ONNX/);
    expectRotorError(() => parseOnnxWeights(new Uint8Array([1, 2, 3])), /ONNX/);
    const weights = parseOnnxWeights(bytes);
    expect(weights.tensors.get('layers.4.wq')?.shape).toEqual([32, 32]);
    // Rename one initializer (every occurrence of its name, same length): the loader must name it.
    const text = new TextDecoder('latin1').decode(bytes);
    const renamed = bytes.slice();
    const name = 'transformer.h.2.mlp.c_fc.weight';
    for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
      renamed.set(new TextEncoder().encode('transformer.h.2.mlp.c_fc.weighX'), at);
    }
    expectRotorError(() => parseOnnxWeights(renamed), /"transformer\.h\.2\.mlp\.c_fc\.weight" is missing/);
    expectRotorError(
      () => parseOnnxWeights(bytes, { numHeads: 5 }),
      /numHeads: expected a divisor of the width 32, found 5/,
    );
  });
});
