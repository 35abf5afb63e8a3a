/**
 * Whole models on every backend and on onnxruntime-web (same weights, exported to ONNX): load
 * time, prefill and decode tokens per second, peak memory, and f32 decode as a fraction of the
 * bandwidth limit (probed just before and after each decode). The WASM backend and
 * onnxruntime-web run at 1 thread and at the run's thread count (onnxruntime-web's other count in
 * a child process); the WASM backend also with Q8_0 weights, compared with onnxruntime-web's f32
 * decode at the same threads. Greedy tokens are compared with the reference backend's (Q8_0:
 * with the reference backend's on the same Q8_0 weights) before anything is reported (llm.c
 * style). A separate task reports the logits of Q8_0 and Q4_0 against f32 (cosine similarity,
 * top-1 agreement).
 */
import { createWasmBackend } from '@rotor/attention-core';
import type { Backend } from '@rotor/core';
import { argmax, type ModelWeights, type OnnxExportForm, weightNames } from '@rotor/decoder-model';
import { runChild } from '../child-process.js';
import { failureNote, logitAgreement, validateLogits, validateTokens } from '../harness.js';
import { type BandwidthLimit, bandwidthFor } from '../limits.js';
import { type BenchModel, instantiate, promptIds, randomModel } from '../models.js';
import { stories260K } from '../node-models.js';
import { createOnnxRunner, onnxForms } from '../onnx-baseline.js';
import type { OnnxProcessRequest, OnnxProcessResult } from '../onnx-process.js';
import type { BenchResult } from '../results.js';
import { createRotorRunner, type GreedyRun, type ModelRunner, runGreedy } from '../runner.js';
import {
  type BenchTask,
  backendFacts,
  compared,
  isCorrectnessOnly,
  type Suite,
  type SuiteContext,
} from '../suite.js';

const ONNX = 'onnxruntime-web';

interface Measured {
  backend: string;
  weights: 'f32' | 'q8_0';
  facts: Partial<BenchResult>;
  run: GreedyRun;
  loadMs: number;
  rssMiB: number;
  note?: string;
  /** f32 CPU decodes: the bandwidth probed just before and after the run (their mean). */
  bandwidth?: BandwidthLimit;
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

/** onnxruntime-web in a fresh Node process (`dist/onnx-process.js`), for another thread count. */
function onnxInChildProcess(request: OnnxProcessRequest): Promise<OnnxProcessResult> {
  return runChild<OnnxProcessResult>('onnx-process.js', request);
}

/** Software GPUs run only models this small (they emulate the GPU on the CPU, slowly). */
const CORRECTNESS_ONLY_MAX_PARAMETERS = 1_000_000;

function parameterCount(weights: ModelWeights): number {
  let count = 0;
  for (const tensor of weights.tensors.values()) count += tensor.data.length;
  return count;
}

function modelTask(model: BenchModel, prompt: number, decode: number): BenchTask {
  return {
    name: model.name,
    async run(context: SuiteContext) {
      const weights = await model.load();
      const ids = promptIds(prompt, weights.config.vocabSize);
      const maxSequenceLength = prompt + decode + 1;
      const prefillRuns = context.quick ? 2 : 3;
      const warmupMs = context.quick ? 100 : 1000;
      const measured: Measured[] = [];
      let referenceTokens: number[] | undefined;
      let q8ReferenceLogits: Float32Array | undefined;
      const fail = (backend: string, facts: Partial<BenchResult>, message: string) =>
        context.record({
          suite: 'end-to-end',
          name: model.name,
          backend,
          metric: 'validation',
          value: 0,
          unit: 'pass',
          note: message,
          ...facts,
        });
      /**
       * Validates a run against the reference backend on the same weights: f32 greedy tokens must be
       * identical to its run's (the first f32 run); Q8_0 backends may round activations to int8 too
       * (see the quantized matmul conformance bound), so greedy paths may fork after a while, and
       * the prompt's logits must agree with the reference's on the same Q8_0 weights instead.
       */
      const accept = (m: Measured, label: string) => {
        if (m.weights === 'q8_0')
          validateLogits(`${model.name} Q8_0 on ${label}`, m.run.prefillLogits, q8ReferenceLogits);
        else if (!referenceTokens) referenceTokens = m.run.tokens;
        else validateTokens(`${model.name} on ${label}`, m.run.tokens, referenceTokens);
        measured.push(m);
      };
      const bytesPerToken = weightBytesPerToken(weights.tensors);
      /**
       * `run`, an f32 decode on a CPU backend at `threads` threads, between two bandwidth probes:
       * its limit is their mean, the bandwidth of the same minute (this machine drifts by 2×).
       */
      const between = async (
        threads: number,
        run: () => Promise<Measured | undefined>,
      ): Promise<Measured | undefined> => {
        const probe = async () => {
          try {
            return await context.bandwidthNow?.(threads, bytesPerToken);
          } catch {
            return undefined;
          }
        };
        const before = await probe();
        const m = await run();
        const after = await probe();
        if (m && before && after) m.bandwidth = { ...after, value: (before.value + after.value) / 2 };
        return m;
      };
      const attempt = (
        backend: string,
        quantized: Measured['weights'],
        facts: Partial<BenchResult>,
        create: () => Promise<ModelRunner>,
      ) =>
        quantized === 'f32' && backend !== 'webgpu'
          ? between(facts.threads ?? 1, () => measure(backend, quantized, facts, create))
          : measure(backend, quantized, facts, create);
      /** Runs and validates one model runner; records a failure and returns undefined when it fails. */
      const measure = async (
        backend: string,
        quantized: Measured['weights'],
        facts: Partial<BenchResult>,
        create: () => Promise<ModelRunner>,
      ) => {
        let runner: ModelRunner | undefined;
        try {
          runner = await create();
          const run = await runGreedy(runner, ids, decode, prefillRuns, warmupMs);
          const m: Measured = {
            backend,
            weights: quantized,
            facts,
            run,
            loadMs: runner.loadMs,
            rssMiB: process.memoryUsage().rss / 2 ** 20,
            note: runner.label === backend ? undefined : runner.label,
          };
          accept(m, runner.label);
          return m;
        } catch (error) {
          fail(backend, facts, failureNote(error));
          return undefined;
        } finally {
          await runner?.dispose();
        }
      };
      const rotor = (backend: Backend, quantize?: 'q8_0') =>
        attempt(backend.name, quantize ?? 'f32', backendFacts(backend, context), () =>
          createRotorRunner(weights, backend, maxSequenceLength, quantize),
        );

      const small = parameterCount(weights) <= CORRECTNESS_ONLY_MAX_PARAMETERS;
      for (const backend of context.backends) if (small || !isCorrectnessOnly(backend)) await rotor(backend);
      const reference = context.backends.find((b) => b.name === 'reference');
      const wasm = context.backends.find((b) => b.name === 'wasm');
      // Q8_0: the reference on the same quantised weights is the oracle.
      // The Q8_0 oracle: the reference backend's prompt logits on the same quantised weights (untimed).
      if (reference && wasm) {
        try {
          const runner = await createRotorRunner(weights, reference, maxSequenceLength, 'q8_0');
          try {
            q8ReferenceLogits = (await runner.prefill(ids)).slice();
          } finally {
            await runner.dispose();
          }
        } catch (error) {
          fail('reference', {}, `Q8_0: ${failureNote(error)}`);
        }
      }
      const q8Reference = q8ReferenceLogits !== undefined;
      if (wasm && q8Reference) await rotor(wasm, 'q8_0');
      if (wasm && context.threads > 1) {
        const single = await createWasmBackend({ threads: 1 });
        try {
          await rotor(single);
          if (q8Reference) await rotor(single, 'q8_0');
        } finally {
          single.destroy();
        }
      }

      // Both export forms where both apply; the faster decode is the baseline, and the form run at 1 thread.
      const onnx: { form: OnnxExportForm; m: Measured }[] = [];
      for (const form of onnxForms(weights)) {
        const m = await attempt(ONNX, 'f32', { threads: context.threads }, () =>
          createOnnxRunner(weights, form, context.threads, maxSequenceLength),
        );
        if (m) onnx.push({ form, m });
      }
      onnx.sort((a, b) => a.m.run.decodeMs - b.m.run.decodeMs);
      for (const { m } of onnx.slice(1)) measured.splice(measured.indexOf(m), 1);
      if (onnx.length > 1) {
        const slower = onnx[1].m;
        onnx[0].m.note = `${onnx[0].m.note}; ${slower.note}: ${((decode * 1000) / slower.run.decodeMs).toFixed(1)} decode tokens/s`;
      }
      if (onnx.length && context.threads > 1) {
        await between(1, async () => {
          try {
            const child = await onnxInChildProcess({
              spec: model.spec,
              form: onnx[0].form,
              threads: 1,
              prompt,
              decode,
              prefillRuns,
              warmupMs,
              maxSequenceLength,
            });
            const m: Measured = {
              backend: ONNX,
              weights: 'f32',
              facts: { threads: 1 },
              run: child.run,
              loadMs: child.loadMs,
              rssMiB: child.rssMiB,
              note: `${child.label}, own process`,
            };
            accept(m, `${child.label}, 1 thread`);
            return m;
          } catch (error) {
            fail(ONNX, { threads: 1 }, failureNote(error));
            return undefined;
          }
        });
      }
      await recordModel(context, model.name, weights, prompt, decode, measured);
    },
  };
}

async function recordModel(
  context: SuiteContext,
  name: string,
  weights: ModelWeights,
  prompt: number,
  decode: number,
  measured: Measured[],
): Promise<void> {
  const limits = await context.limits();
  const bytesPerToken = weightBytesPerToken(weights.tensors);
  const rate = (m: Measured | undefined, metric: 'prefill' | 'decode') =>
    m && (metric === 'prefill' ? (prompt * 1000) / m.run.prefillMs : (decode * 1000) / m.run.decodeMs);
  const reference = measured.find((m) => m.backend === 'reference');
  const f32Of = (q: Measured) =>
    measured.find(
      (m) => m.weights === 'f32' && m.backend === q.backend && m.facts.threads === q.facts.threads,
    );
  const onnxAt = (threads: number | undefined) =>
    measured.find((m) => m.backend === ONNX && m.facts.threads === threads);
  for (const m of measured) {
    const label = m.weights === 'q8_0' ? `${name} Q8_0` : name;
    const base = { suite: 'end-to-end', name: label, backend: m.backend, ...m.facts };
    const onnx = m.backend === ONNX || m.backend === 'reference' ? undefined : onnxAt(m.facts.threads);
    for (const metric of ['prefill', 'decode'] as const) {
      const value = rate(m, metric) as number;
      const result: BenchResult = { ...base, metric, value, unit: 'tokens/s', note: m.note };
      const versusReference = rate(reference, metric);
      if (!onnx || m.facts.correctnessOnly) {
        context.record(compared(result, versusReference, 'reference'));
        continue;
      }
      const versusF32 = m.weights === 'q8_0' ? rate(f32Of(m), metric) : undefined;
      const notes = [
        m.note,
        m.weights === 'q8_0' ? `vs ${ONNX} on f32 weights` : undefined,
        versusF32 ? `${(value / versusF32).toFixed(2)}× our f32` : undefined,
        versusReference && m.weights === 'f32'
          ? `${(value / versusReference).toFixed(2)}× reference`
          : undefined,
      ];
      context.record({
        ...compared(result, rate(onnx, metric), ONNX),
        note: notes.filter(Boolean).join('; ') || undefined,
      });
    }
    const runProbe =
      limits && m.weights === 'f32' && m.backend !== 'webgpu'
        ? bandwidthFor(limits, bytesPerToken, m.facts.threads ?? 1)
        : undefined;
    const bandwidth = m.bandwidth ?? runProbe;
    if (bandwidth) {
      const limit = (bandwidth.value * 1e9) / bytesPerToken;
      const when = m.bandwidth
        ? `mean of probes just before and after this run; the run's first probe: ${runProbe?.value.toFixed(1)} GB/s`
        : "the run's first probe";
      context.record({
        ...base,
        metric: 'fraction of bandwidth limit',
        value: (rate(m, 'decode') as number) / limit,
        unit: '× limit',
        note: `limit ${limit.toFixed(0)} tokens/s: ${(bytesPerToken / 2 ** 20).toFixed(1)} MiB of weights per token at ${bandwidth.value.toFixed(1)} GB/s (${bandwidth.threads} thread${bandwidth.threads > 1 ? 's' : ''}, ${bandwidth.bytes / 2 ** 20} MiB probe, ${when})`,
      });
    }
    context.record({ ...base, metric: 'load', value: m.loadMs, unit: 'ms' });
    context.record({
      ...base,
      metric: 'peak memory',
      value: m.rssMiB,
      unit: 'MiB',
      note: m.note?.endsWith('own process')
        ? 'RSS of its own process after the run'
        : 'process RSS after the run',
    });
  }
}

/**
 * Logits of Q8_0 and Q4_0 weights against f32 on the same backend (WASM, else the reference),
 * teacher-forced one position at a time along the f32 model's greedy continuation of a prompt.
 */
function quantizationQualityTask(models: BenchModel[], positions: number): BenchTask {
  return {
    name: 'quantization quality',
    async run(context: SuiteContext) {
      const backend = context.backends.find((b) => b.name === 'wasm') ?? context.backends[0];
      for (const model of models) {
        const weights = await model.load();
        const f32 = await instantiate(weights, backend, positions);
        const ids = promptIds(8, weights.config.vocabSize);
        const baseline: Float32Array[] = [];
        for (let p = 0; p < positions; p++) {
          const logits = (await f32.forward([ids[p]], p)).slice();
          baseline.push(logits);
          if (p + 1 >= ids.length) ids.push(argmax(logits));
        }
        f32.dispose();
        for (const type of ['q8_0', 'q4_0'] as const) {
          const quantized = await instantiate(weights, backend, positions, type);
          const rows: Float32Array[] = [];
          for (let p = 0; p < positions; p++) rows.push((await quantized.forward([ids[p]], p)).slice());
          quantized.dispose();
          const { cosine, worst, top1 } = logitAgreement(rows, baseline);
          const base = {
            suite: 'end-to-end',
            name: `${model.name} ${type.toUpperCase()} logits vs f32`,
            backend: backend.name,
            ...backendFacts(backend, context),
            runs: positions,
          };
          context.record({
            ...base,
            metric: 'cosine similarity',
            value: cosine,
            unit: 'cosine',
            note: `mean over ${positions} positions; worst ${worst.toFixed(5)}`,
          });
          context.record({
            ...base,
            metric: 'top-1 agreement',
            value: top1,
            unit: 'fraction',
            note: `greedy token equal to f32's at ${Math.round(top1 * positions)} of ${positions} positions`,
          });
        }
      }
    },
  };
}

export const endToEndSuite: Suite = {
  name: 'end-to-end',
  tasks({ quick, fixtures }) {
    const tasks = [
      modelTask(stories260K(fixtures), 32, quick ? 32 : 256),
      modelTask(randomModel('stories15M-shape'), 16, quick ? 8 : 32),
    ];
    // Decodes of about half a second at 2 threads: a pass of 8 or 16 tokens (~0.1 s) put the 42M
    // shape anywhere from 0.63× to 1.00× the bandwidth limit from one run to the next.
    if (!quick)
      tasks.push(
        modelTask(randomModel('stories42M-shape'), 16, 48),
        modelTask(randomModel('stories110M-shape'), 8, 24),
      );
    tasks.push(
      quantizationQualityTask([stories260K(fixtures), randomModel('stories15M-shape', 64)], quick ? 16 : 64),
    );
    return tasks;
  },
};
