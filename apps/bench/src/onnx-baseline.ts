/**
 * onnxruntime-web (its WASM execution provider, in Node) on the same weights as our backends: the
 * model is exported with `exportOnnx` and run with its KV cache fed back, one call per prefill and
 * one per decoded token, as a browser app using onnxruntime-web would.
 */
import { exportOnnx, type ModelWeights, type OnnxExportForm } from '@rotor/decoder-model';
import * as ort from 'onnxruntime-web';
import type { ModelRunner } from './runner.js';

/** Export forms that apply to `weights`: the contrib form's attention kernel wants head sizes that are multiples of 16. */
export function onnxForms(weights: ModelWeights): OnnxExportForm[] {
  return weights.config.headDim % 16 === 0 ? ['standard', 'contrib'] : ['standard'];
}

let configuredThreads: number | undefined;

/**
 * Sets onnxruntime-web's thread count. It reads it once per process, when its WASM module starts,
 * so another count needs another process (see `onnx-process.ts`).
 */
export function configureOnnxRuntime(threads: number): void {
  if (configuredThreads !== undefined && configuredThreads !== threads)
    throw new Error(`onnxruntime-web already runs with ${configuredThreads} threads, not ${threads}`);
  configuredThreads = threads;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
}

/** Exports `weights` in `form` and opens an onnxruntime-web session over it (graph optimisation 'all'). */
export async function createOnnxRunner(
  weights: ModelWeights,
  form: OnnxExportForm,
  threads: number,
  maxSequenceLength: number,
): Promise<ModelRunner> {
  configureOnnxRuntime(threads);
  const { numLayers, numKvHeads, headDim, vocabSize: V } = weights.config;
  const start = performance.now();
  const session = await ort.InferenceSession.create(exportOnnx(weights, { form, maxSequenceLength }), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const loadMs = performance.now() - start;
  let past: Record<string, ort.Tensor> = {};
  const empty = () => {
    const feeds: Record<string, ort.Tensor> = {};
    for (let l = 0; l < numLayers; l++)
      for (const kind of ['key', 'value'])
        feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          numKvHeads,
          0,
          headDim,
        ]);
    return feeds;
  };
  const run = async (ids: ArrayLike<number>, feeds: Record<string, ort.Tensor>) => {
    const count = ids.length;
    const input = new ort.Tensor('int64', BigInt64Array.from(Array.from(ids), BigInt), [1, count]);
    const results = await session.run({ input_ids: input, ...feeds });
    for (const tensor of Object.values(feeds)) tensor.dispose();
    past = {};
    for (let l = 0; l < numLayers; l++)
      for (const kind of ['key', 'value'])
        past[`past_key_values.${l}.${kind}`] = results[`present.${l}.${kind}`];
    const logits = (results.logits.data as Float32Array).slice((count - 1) * V, count * V);
    results.logits.dispose();
    return logits;
  };
  return {
    label: `onnxruntime-web (${form} ops)`,
    loadMs,
    prefill: (ids) => run(ids, empty()),
    step: (id) => run([id], past),
    dispose: async () => {
      for (const tensor of Object.values(past)) tensor.dispose();
      await session.release();
    },
  };
}
