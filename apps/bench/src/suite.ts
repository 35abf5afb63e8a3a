/** The shape of a benchmark suite: a list of named tasks, each recording results. */
import type { Backend } from '@rotor/core';
import type { BenchResult } from './results.js';

/** What every task gets. */
export interface SuiteContext {
  quick: boolean;
  /** Every available backend, the reference first (it is the oracle and the baseline). */
  backends: Backend[];
  /** Threads the WASM backend runs on; onnxruntime-web and the probes get as many. */
  threads: number;
  /** The fixtures directory (may not exist). */
  fixtures: string;
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
