/**
 * Whole models on every backend and on onnxruntime-web (same weights, exported to ONNX): load
 * time, prefill and decode tokens per second, peak memory, and decode as a fraction of the
 * bandwidth limit. Greedy tokens are compared with the reference backend's before anything is
 * reported (llm.c style).
 */
import { weightNames } from '@rotor/decoder-model';
import { ValidationError, validateTokens } from '../harness.js';
import { bandwidthFor, machineLimits } from '../limits.js';
import { type BenchModel, promptIds, randomModel, stories260K } from '../models.js';
import { createOnnxRunner, onnxForms } from '../onnx-baseline.js';
import type { BenchResult } from '../results.js';
import { createRotorRunner, type GreedyRun, type ModelRunner, runGreedy } from '../runner.js';
import { type BenchTask, compared, type Suite, type SuiteContext } from '../suite.js';

const ONNX = 'onnxruntime-web';

interface Measured {
  backend: string;
  threads: number;
  run: GreedyRun;
  loadMs: number;
  rssMiB: number;
  note?: string;
}

/** Bytes of weights one decoded token reads: every matrix once; of the embedding only its classifier use. */
function weightBytesPerToken(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>): number {
  let bytes = 0;
  for (const [name, tensor] of tensors) {
    if (name === weightNames.positionEmbedding) continue;
    if (name === weightNames.tokenEmbedding && tensors.has(weightNames.classifier)) continue;
    bytes += 4 * tensor.data.length;
  }
  return bytes;
}

function modelTask(model: BenchModel, prompt: number, decode: number): BenchTask {
  return {
    name: model.name,
    async run(context: SuiteContext) {
      const weights = await model.load();
      const ids = promptIds(prompt, weights.config.vocabSize);
      const maxSequenceLength = prompt + decode + 1;
      const prefillRuns = context.quick ? 2 : 3;
      const measured: Measured[] = [];
      let reference: number[] | undefined;
      const attempt = async (backend: string, threads: number, create: () => Promise<ModelRunner>) => {
        const runner = await create();
        try {
          const run = await runGreedy(runner, ids, decode, prefillRuns);
          if (!reference) reference = run.tokens;
          else validateTokens(`${model.name} on ${runner.label}`, run.tokens, reference);
          return {
            backend,
            threads,
            run,
            loadMs: runner.loadMs,
            rssMiB: process.memoryUsage().rss / 2 ** 20,
            note: runner.label === backend ? undefined : runner.label,
          };
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          context.record({
            suite: 'end-to-end',
            name: model.name,
            backend,
            metric: 'validation',
            value: 0,
            unit: 'pass',
            note: error.message,
          });
          return undefined;
        } finally {
          await runner.dispose();
        }
      };
      for (const backend of context.backends) {
        const result = await attempt(backend.name, backend.capabilities.threads ?? 1, () =>
          createRotorRunner(weights, backend, maxSequenceLength),
        );
        if (result) measured.push(result);
      }
      // Both export forms where both apply; the faster decode is the baseline.
      const onnx: Measured[] = [];
      for (const form of onnxForms(weights)) {
        const result = await attempt(ONNX, context.threads, () =>
          createOnnxRunner(weights, form, context.threads, maxSequenceLength),
        );
        if (result) onnx.push(result);
      }
      onnx.sort((a, b) => a.run.decodeMs - b.run.decodeMs);
      if (onnx.length > 1)
        onnx[0].note = `${onnx[0].note}; ${onnx[1].note}: ${((decode * 1000) / onnx[1].run.decodeMs).toFixed(1)} decode tokens/s`;
      if (onnx.length) measured.push(onnx[0]);

      const limits = await machineLimits(context);
      const bytesPerToken = weightBytesPerToken(weights.tensors);
      const rate = (m: Measured | undefined, metric: 'prefill' | 'decode') =>
        m && (metric === 'prefill' ? (prompt * 1000) / m.run.prefillMs : (decode * 1000) / m.run.decodeMs);
      const referenceRun = measured.find((m) => m.backend === 'reference');
      const onnxRun = measured.find((m) => m.backend === ONNX);
      for (const m of measured) {
        const base = { suite: 'end-to-end', name: model.name, backend: m.backend };
        for (const metric of ['prefill', 'decode'] as const) {
          const value = rate(m, metric) as number;
          const result: BenchResult = { ...base, metric, value, unit: 'tokens/s', note: m.note };
          const versusReference = rate(referenceRun, metric);
          if (m.backend === 'reference' || m.backend === ONNX || !onnxRun)
            context.record(compared(result, versusReference, 'reference'));
          else {
            const withOnnx = compared(result, rate(onnxRun, metric), ONNX);
            const note = versusReference ? `${(value / versusReference).toFixed(2)}× reference` : undefined;
            context.record({ ...withOnnx, note: [m.note, note].filter(Boolean).join('; ') || undefined });
          }
        }
        const bandwidth = bandwidthFor(limits, bytesPerToken, m.threads);
        const limit = (bandwidth.value * 1e9) / bytesPerToken;
        context.record({
          ...base,
          metric: 'fraction of bandwidth limit',
          value: (rate(m, 'decode') as number) / limit,
          unit: '× limit',
          note: `limit ${limit.toFixed(0)} tokens/s: ${(bytesPerToken / 2 ** 20).toFixed(1)} MiB of weights per token at ${bandwidth.value.toFixed(1)} GB/s (${bandwidth.threads} thread${bandwidth.threads > 1 ? 's' : ''}, ${bandwidth.bytes / 2 ** 20} MiB probe)`,
        });
        context.record({ ...base, metric: 'load', value: m.loadMs, unit: 'ms' });
        context.record({
          ...base,
          metric: 'peak memory',
          value: m.rssMiB,
          unit: 'MiB',
          note: 'process RSS after the run',
        });
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
