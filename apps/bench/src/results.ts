/** What a benchmark run records. */

/** Facts about the machine a run was measured on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  /** Threads the WASM backend, onnxruntime-web and the probes ran on. */
  threads: number;
  /** 1, 5 and 15 minute load averages when the run started (the machine may be shared). */
  loadAverage: number[];
  /** Backends probed, with their description or why they are unavailable. */
  backends: { name: string; available: boolean; detail: string }[];
  /** The headless browser of `--browser` results, when there are any. */
  browser?: { userAgent: string; crossOriginIsolated: boolean; webgpu: string };
}

/** One measured number. */
export interface BenchResult {
  suite: string;
  /** What was measured, e.g. `matvec 768x2048` or `decode stories260K`. */
  name: string;
  /** Backend or implementation measured (`reference`, `wasm`, `onnxruntime-web`, `gpt-tokenizer`, …). */
  backend: string;
  /** Quantity, e.g. `GFLOP/s`, `tokens/s`, `MB/s`, `ms`. */
  metric: string;
  value: number;
  unit: string;
  /** The same quantity for the baseline measured in the same run, when compared. */
  baseline?: number;
  /** `value / baseline` (higher is better for rates, lower for times). */
  ratio?: number;
  /** Name of the baseline compared against. */
  baselineName?: string;
  /** Relative spread of the repeated runs (interquartile range / median). */
  spread?: number;
  runs?: number;
  note?: string;
  /** Where it ran: in Node, or in headless Chromium (`--browser`); absent means Node. */
  environment?: 'node' | 'browser';
  /** Threads it ran on, where that varies (CPU backends and onnxruntime-web). */
  threads?: number;
  /** The GPU adapter a WebGPU result ran on. */
  adapter?: string;
  /** True when measured on a software GPU adapter: it shows the kernels are right, not how fast a GPU is. */
  correctnessOnly?: boolean;
}

/** The JSON a run writes (`--json PATH`). */
export interface BenchReport {
  machine: MachineInfo;
  started: string;
  options: { quick: boolean; filter?: string; browser?: boolean };
  /** Wall time of each task, in run order (to keep `--quick` quick). */
  durations?: { task: string; seconds: number }[];
  results: BenchResult[];
}
