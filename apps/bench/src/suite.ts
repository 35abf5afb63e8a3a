/** The shape of a benchmark suite: a list of named tasks, each recording results. */
import type { Backend } from '@rotor/core';
import type { BandwidthLimit, MachineLimits } from './limits.js';
import type { BenchResult } from './results.js';

/** What every task gets. */
export interface SuiteContext {
  quick: boolean;
  /** Where the tasks run: Node, or a page in headless Chromium (`--browser`). */
  environment: 'node' | 'browser';
  /**
   * Every available backend, the reference first (it is the oracle and the baseline). A WebGPU
   * backend on a software adapter is among them; see {@link speedBackends}.
   */
  backends: Backend[];
  /** Threads the WASM backend runs on; onnxruntime-web and the probes get as many. */
  threads: number;
  /** The fixtures directory (may not exist). */
  fixtures: string;
  /** The machine limits, probed once per run on first call; undefined where there are no probes. */
  limits(): Promise<MachineLimits | undefined>;
  /**
   * The streaming bandwidth that bounds reading `bytes` on `threads` threads, probed now (the run's
   * probe buffer for that size, in a fresh process), so a decode is held to the bandwidth of the
   * same minute on a machine whose speed drifts; absent where there are no probes.
   */
  bandwidthNow?(threads: number, bytes: number): Promise<BandwidthLimit | undefined>;
  record(result: BenchResult): void;
}

/** One unit of work, named `suite/task` for `--filter`. */
export interface BenchTask {
  name: string;
  run(context: SuiteContext): Promise<void>;
}

/** A named group of tasks. */
export interface Suite {
  name: string;
  tasks(context: SuiteContext): BenchTask[];
}

/** Adds `ratio` against a baseline value (for rates: higher is better). */
export function compared(
  result: BenchResult,
  baseline: number | undefined,
  baselineName: string,
): BenchResult {
  if (baseline === undefined || !(baseline > 0)) return result;
  return { ...result, baseline, baselineName, ratio: result.value / baseline };
}

/** True for a WebGPU backend on a software adapter (SwiftShader, llvmpipe): its timings are not GPU speed. */
export function isCorrectnessOnly(backend: Backend): boolean {
  return (backend as { software?: boolean }).software === true;
}

/** The backends whose timings mean speed: every one but a WebGPU backend on a software adapter. */
export function speedBackends(context: SuiteContext): Backend[] {
  return context.backends.filter((backend) => !isCorrectnessOnly(backend));
}

/**
 * The fields every result of `backend` carries: its thread count (CPU backends), its adapter
 * (WebGPU) and whether it is correctness-only, plus the environment it ran in.
 */
export function backendFacts(
  backend: Backend,
  context: SuiteContext,
): Pick<BenchResult, 'environment' | 'threads' | 'adapter' | 'correctnessOnly'> {
  const facts: Pick<BenchResult, 'environment' | 'threads' | 'adapter' | 'correctnessOnly'> = {};
  if (context.environment === 'browser') facts.environment = 'browser';
  if (backend.name === 'webgpu') {
    facts.adapter = backend.description;
    if (isCorrectnessOnly(backend)) facts.correctnessOnly = true;
  } else if (backend.name !== 'reference') facts.threads = backend.capabilities.threads;
  return facts;
}
