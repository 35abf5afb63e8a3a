/**
 * Whole models on every backend: load time, prefill and decode tokens per second, peak memory.
 * Greedy tokens are compared with the reference backend's before anything is timed.
 */
import { performance } from 'node:perf_hooks';
import { argmax } from '@rotor/decoder-model';
import { ValidationError, validateTokens } from '../harness.js';
import { type BenchModel, instantiate, promptIds, randomModel, stories260K } from '../models.js';
import { type BenchTask, compared, type Suite, type SuiteContext } from '../suite.js';

function modelTask(model: BenchModel, prompt: number, decode: number): BenchTask {
  return {
    name: model.name,
    async run(context: SuiteContext) {
      const weights = await model.load();
      const V = weights.config.vocabSize;
      const ids = promptIds(prompt, V);
      let reference: number[] | undefined;
      let baseline: Record<string, number> | undefined;
      for (const backend of context.backends) {
        const base = { suite: 'end-to-end', name: model.name, backend: backend.name };
        const loadStart = performance.now();
        const instance = await instantiate(weights, backend, prompt + decode + 1);
        const loadMs = performance.now() - loadStart;
        try {
          const logits = new Float32Array(V);
          const prefillStart = performance.now();
          await instance.forward(ids, 0, logits);
          const prefillMs = performance.now() - prefillStart;
          const generated: number[] = [];
          const next = new Int32Array(1);
          const decodeStart = performance.now();
          for (let step = 0; step < decode; step++) {
            next[0] = argmax(logits);
            generated.push(next[0]);
            await instance.forward(next, prompt + step, logits);
          }
          const decodeMs = performance.now() - decodeStart;
          if (!reference) reference = generated;
          else validateTokens(`${model.name} on ${backend.name}`, generated, reference);
          const rates = {
            prefill: (prompt * 1000) / prefillMs,
            decode: (decode * 1000) / decodeMs,
          };
          baseline ??= rates;
          context.record(
            compared(
              { ...base, metric: 'prefill', value: rates.prefill, unit: 'tokens/s' },
              baseline.prefill,
              'reference',
            ),
          );
          context.record(
            compared(
              { ...base, metric: 'decode', value: rates.decode, unit: 'tokens/s' },
              baseline.decode,
              'reference',
            ),
          );
          context.record({ ...base, metric: 'load', value: loadMs, unit: 'ms' });
          context.record({
            ...base,
            metric: 'peak memory',
            value: process.memoryUsage().rss / 2 ** 20,
            unit: 'MiB',
            note: 'process RSS after the run',
          });
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          context.record({ ...base, metric: 'validation', value: 0, unit: 'pass', note: error.message });
        } finally {
          instance.dispose();
        }
      }
    },
  };
}

export const endToEndSuite: Suite = {
  name: 'end-to-end',
  tasks({ quick, fixtures }) {
    const tasks = [
      modelTask(stories260K(fixtures), 32, quick ? 64 : 256),
      modelTask(randomModel('stories15M-shape'), 16, quick ? 8 : 32),
    ];
    if (!quick)
      tasks.push(
        modelTask(randomModel('stories42M-shape'), 16, 16),
        modelTask(randomModel('stories110M-shape'), 8, 8),
      );
    return tasks;
  },
};
