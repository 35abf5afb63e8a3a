/**
 * The page side of `--browser` (bundled by tsup for the browser as `dist/browser-page.js`): runs
 * the kernels suite's cases and stories260K end to end on the reference, WASM (threaded when the
 * page is cross-origin isolated) and WebGPU backends inside headless Chromium, with the same
 * validation and timing as in Node, and hands the results back to `run.ts`.
 */
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import type { Backend } from '@rotor/core';
import { type ModelWeights, parseLlama2cCheckpoint, randomLlamaWeights } from '@rotor/decoder-model';
import { failureNote, validateTokens } from '../harness.js';
import { promptIds, STORIES260K_SHAPE } from '../models.js';
import type { BenchResult } from '../results.js';
import { createRotorRunner, type ModelRunner, runGreedy } from '../runner.js';
import { type BenchTask, backendFacts, compared, type SuiteContext } from '../suite.js';
import { kernelCases, kernelTask } from '../suites/kernel-cases.js';

/** What `run.ts` asks the page for. */
export interface BrowserBenchOptions {
  quick: boolean;
  filter?: string;
  threads: number;
  /** Where the page fetches stories260K's checkpoint; random weights of its shape when absent. */
  modelUrl?: string;
}

/** What the page answers. */
export interface BrowserBenchReport {
  userAgent: string;
  crossOriginIsolated: boolean;
  /** The WebGPU adapter's description, or why there is none. */
  webgpu: string;
  results: BenchResult[];
}

async function loadStories260K(url: string | undefined): Promise<ModelWeights> {
  if (url) {
    const response = await fetch(url);
    if (response.ok) return parseLlama2cCheckpoint(new Uint8Array(await response.arrayBuffer()));
  }
  return randomLlamaWeights(STORIES260K_SHAPE);
}

/** stories260K greedy on every backend, validated against the reference's tokens, then timed. */
function stories260KTask(url: string | undefined, quick: boolean): BenchTask {
  const prompt = 32;
  const decode = quick ? 32 : 256;
  return {
    name: 'stories260K',
    async run(context: SuiteContext) {
      const weights = await loadStories260K(url);
      const ids = promptIds(prompt, weights.config.vocabSize);
      const rates: { backend: Backend; prefill: number; decode: number; loadMs: number }[] = [];
      let reference: number[] | undefined;
      for (const backend of context.backends) {
        let runner: ModelRunner | undefined;
        try {
          runner = await createRotorRunner(weights, backend, prompt + decode + 1);
          const run = await runGreedy(runner, ids, decode, quick ? 2 : 3, quick ? 100 : 1000);
          if (!reference) reference = run.tokens;
          else validateTokens(`stories260K on ${backend.name}`, run.tokens, reference);
          rates.push({
            backend,
            prefill: (prompt * 1000) / run.prefillMs,
            decode: (decode * 1000) / run.decodeMs,
            loadMs: runner.loadMs,
          });
        } catch (error) {
          context.record({
            suite: 'end-to-end',
            name: 'stories260K',
            backend: backend.name,
            metric: 'validation',
            value: 0,
            unit: 'pass',
            note: failureNote(error),
            ...backendFacts(backend, context),
          });
        } finally {
          await runner?.dispose();
        }
      }
      const baseline = rates.find((r) => r.backend.name === 'reference');
      for (const r of rates) {
        const base = { suite: 'end-to-end', name: 'stories260K', backend: r.backend.name };
        const facts = backendFacts(r.backend, context);
        for (const metric of ['prefill', 'decode'] as const)
          context.record({
            ...compared(
              { ...base, ...facts, metric, value: r[metric], unit: 'tokens/s' },
              baseline?.[metric],
              'reference',
            ),
          });
        context.record({ ...base, ...facts, metric: 'load', value: r.loadMs, unit: 'ms' });
      }
    },
  };
}

/** Runs the browser suites; `globalThis.rotorBench` for `run.ts`. */
export async function runBrowserBench(options: BrowserBenchOptions): Promise<BrowserBenchReport> {
  const registry = createDefaultBackendRegistry({ allowSoftwareAdapter: true });
  const backends: Backend[] = [];
  let webgpu = 'not probed';
  for (const name of ['reference', ...registry.names.filter((n) => n !== 'reference')]) {
    try {
      const backend = (await registry.select(name, { threads: options.threads })).backend;
      backends.push(backend);
      if (name === 'webgpu') webgpu = backend.description;
    } catch (error) {
      if (name === 'webgpu')
        webgpu = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  const results: BenchResult[] = [];
  const context: SuiteContext = {
    quick: options.quick,
    environment: 'browser',
    backends,
    threads: options.threads,
    fixtures: '',
    limits: async () => undefined,
    record: (result) => results.push({ ...result, environment: 'browser' }),
  };
  const filter = options.filter ? new RegExp(options.filter) : undefined;
  const tasks = [
    ...kernelCases(options.quick).map((c) => ({ id: `kernels/${c.name}`, task: kernelTask(c) })),
    { id: 'end-to-end/stories260K', task: stories260KTask(options.modelUrl, options.quick) },
  ].filter(({ id }) => !filter || filter.test(id));
  try {
    for (const { task } of tasks) await task.run(context);
  } finally {
    for (const backend of backends) backend.destroy();
  }
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    webgpu,
    results,
  };
}

(globalThis as { rotorBench?: typeof runBrowserBench }).rotorBench = runBrowserBench;
