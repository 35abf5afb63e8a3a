/**
 * The kernel cases and the task that runs one on every backend (and on peers such as
 * onnxruntime-web's MatMul), validating each against the reference before timing it. Free of Node
 * APIs: the browser page runs the same tasks.
 */
import type { Backend, KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import { failureNote, type Measurement, type MeasureOptions, measure, validateClose } from '../harness.js';
import type { BenchResult } from '../results.js';
import { type BenchTask, backendFacts, compared, isCorrectnessOnly, type SuiteContext } from '../suite.js';

/** Deterministic pseudo-random values in [-1, 1). */
export function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** One kernel call with its inputs, cost and size. */
export interface KernelCase {
  name: string;
  kernel: KernelName;
  /** Inputs as host arrays with shapes. */
  inputs: Record<string, { data: Float32Array; shape: number[] }>;
  attrs: Record<string, unknown>;
  outShape: number[];
  flops: number;
  /** Bytes a single run must read at least (weights for matvec, caches for attention). */
  bytes: number;
}

/** A case ready to time: its output (for validation), a timer and a destructor. */
export interface KernelVariant {
  output: Float32Array;
  /** Repeated runs' times in milliseconds. */
  time(options?: MeasureOptions): Promise<Measurement>;
  dispose(): Promise<void> | void;
}

/** Another implementation of some cases (onnxruntime-web's MatMul), timed beside our backends. */
export interface KernelPeer {
  name: string;
  threads: number;
  supports(c: KernelCase): boolean;
  prepare(c: KernelCase): Promise<KernelVariant>;
}

async function prepareOnBackend(backend: Backend, c: KernelCase): Promise<KernelVariant> {
  const handles: Record<string, TensorHandle> = {};
  for (const [name, input] of Object.entries(c.inputs))
    handles[name] = backend.upload(input.data, input.shape);
  const out = backend.allocate(c.outShape);
  const run = () =>
    backend.run(
      c.kernel,
      handles as unknown as KernelInputs<typeof c.kernel>,
      c.attrs as KernelAttrs<typeof c.kernel>,
      out,
    );
  run();
  const output = await backend.read(out);
  return {
    output,
    time: (options) =>
      measure(async () => {
        run();
        await backend.sync();
      }, options),
    dispose: () => {
      for (const handle of Object.values(handles)) backend.dispose(handle);
      backend.dispose(out);
    },
  };
}

/** A software GPU is timed briefly: its numbers only show the kernels ran. */
const CORRECTNESS_TIMING: MeasureOptions = { warmup: 0, minRuns: 1, minTimeMs: 0 };

/** Cases above this many flops skip software GPUs, which emulate the GPU at tens of MFLOP/s. */
const CORRECTNESS_ONLY_MAX_FLOPS = 1e8;

interface Timed {
  label: string;
  facts: Partial<BenchResult>;
  gflops: number;
  gbs: number;
  spread: number;
  runs: number;
}

/**
 * Runs `c` on every backend and peer, validating each output against the reference backend's,
 * and records GFLOP/s and GB/s. Our non-reference backends are compared with the first peer that
 * ran the case (same threads), else with the reference; peers with the reference.
 */
export function kernelTask(c: KernelCase, peers: readonly KernelPeer[] = []): BenchTask {
  return {
    name: c.name,
    async run(context: SuiteContext) {
      let expected: Float32Array | undefined;
      const timed: Timed[] = [];
      const attempt = async (
        label: string,
        facts: Partial<BenchResult>,
        tolerance: number,
        prepare: () => Promise<KernelVariant>,
        options?: MeasureOptions,
      ) => {
        let variant: KernelVariant | undefined;
        try {
          variant = await prepare();
          if (!expected) expected = variant.output;
          else validateClose(`${c.name} on ${label}`, variant.output, expected, tolerance);
          const { median, spread, runs } = await variant.time(options);
          timed.push({
            label,
            facts,
            gflops: c.flops / median / 1e6,
            gbs: c.bytes / median / 1e6,
            spread,
            runs,
          });
        } catch (error) {
          context.record({
            suite: 'kernels',
            name: c.name,
            backend: label,
            metric: 'validation',
            value: 0,
            unit: 'pass',
            note: failureNote(error),
            ...facts,
          });
        } finally {
          await variant?.dispose();
        }
      };
      for (const backend of context.backends) {
        const software = isCorrectnessOnly(backend);
        if (software && c.flops > CORRECTNESS_ONLY_MAX_FLOPS) continue;
        await attempt(
          backend.name,
          backendFacts(backend, context),
          Math.max(backend.capabilities.f32Tolerance, 1e-5) * 10,
          () => prepareOnBackend(backend, c),
          software ? CORRECTNESS_TIMING : undefined,
        );
      }
      for (const peer of peers.filter((p) => p.supports(c)))
        await attempt(peer.name, { threads: peer.threads }, 1e-4, () => peer.prepare(c));

      const reference = timed.find((t) => t.label === 'reference');
      const peer = timed.find((t) => peers.some((p) => p.name === t.label));
      for (const t of timed) {
        const base = { suite: 'kernels', name: c.name, backend: t.label, ...t.facts };
        const against = t.label === 'reference' || t === peer || t.facts.correctnessOnly ? undefined : peer;
        for (const [metric, unit, key] of [
          ['throughput', 'GFLOP/s', 'gflops'],
          ['bandwidth', 'GB/s', 'gbs'],
        ] as const) {
          const result: BenchResult = {
            ...base,
            metric,
            value: t[key],
            unit,
            spread: t.spread,
            runs: t.runs,
          };
          if (!against) {
            context.record(compared(result, reference?.[key], 'reference'));
            continue;
          }
          const versusReference = reference
            ? `${(t[key] / reference[key]).toFixed(2)}× reference`
            : undefined;
          context.record({ ...compared(result, against[key], against.label), note: versusReference });
        }
      }
    },
  };
}

/** `x [m, k] · wᵀ` with `w [n, k]`: a matvec when m = 1 (decode), else a GEMM (prefill). */
export function matmulCase(m: number, n: number, k: number): KernelCase {
  return {
    name: m === 1 ? `matvec ${n}x${k}` : `gemm ${m}x${n}x${k}`,
    kernel: 'matmul',
    inputs: { x: { data: values(m * k, 1), shape: [m, k] }, w: { data: values(n * k, 2), shape: [n, k] } },
    attrs: {},
    outShape: [m, n],
    flops: 2 * m * n * k,
    bytes: 4 * (n * k + m * k + m * n),
  };
}

/** One query over a KV cache of `length` positions (decode attention). */
export function decodeAttentionCase(heads: number, headDim: number, length: number): KernelCase {
  const width = heads * headDim;
  return {
    name: `attention decode H${heads} Dh${headDim} S${length}`,
    kernel: 'attention',
    inputs: {
      q: { data: values(width, 3), shape: [1, 1, width] },
      k: { data: values(length * width, 4), shape: [1, length, width] },
      v: { data: values(length * width, 5), shape: [1, length, width] },
    },
    attrs: { numHeads: heads, numKvHeads: heads, headDim, kvOffset: length - 1, causal: true },
    outShape: [1, 1, width],
    flops: 4 * heads * length * headDim,
    bytes: 8 * length * width,
  };
}

/** The cases of the kernels suite: `[n, k]` matvecs, `[m, n, k]` GEMMs, attention cache lengths. */
export function kernelSizes(quick: boolean): { matvecs: number[][]; gemms: number[][]; attention: number[] } {
  return quick
    ? {
        matvecs: [
          [288, 288],
          [768, 768],
        ],
        gemms: [
          [64, 64, 64],
          [128, 128, 128],
          [32, 768, 288],
        ],
        attention: [256],
      }
    : {
        matvecs: [
          [288, 288],
          [768, 768],
          [2048, 768],
          [768, 2048],
          [4096, 4096],
        ],
        // Cubes, then prefill shapes of the 110M model (128 prompt tokens): q/k/v/o, w1/w3, w2.
        gemms: [
          [64, 64, 64],
          [256, 256, 256],
          [512, 512, 512],
          [128, 768, 768],
          [128, 2048, 768],
          [128, 768, 2048],
        ],
        attention: [256, 1024],
      };
}

/** Every kernel case of a run, in order. */
export function kernelCases(quick: boolean): KernelCase[] {
  const { matvecs, gemms, attention } = kernelSizes(quick);
  return [
    ...matvecs.map(([n, k]) => matmulCase(1, n, k)),
    ...gemms.map(([m, n, k]) => matmulCase(m, n, k)),
    ...attention.map((length) => decodeAttentionCase(12, 64, length)),
  ];
}
