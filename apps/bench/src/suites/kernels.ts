/**
 * Kernels on every backend: matvec (decode, memory-bound), GEMM (prefill, compute-bound) and
 * decode attention over a KV cache, each validated against the reference before it is timed.
 */
import type { Backend, KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import { measure, ValidationError, validateClose } from '../harness.js';
import { machineLimits } from '../limits.js';
import { type BenchTask, compared, type Suite, type SuiteContext } from '../suite.js';

/** Deterministic pseudo-random values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
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

interface KernelCase {
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

async function runCase(
  backend: Backend,
  c: KernelCase,
): Promise<{ output: Float32Array; time: () => Promise<number>; dispose: () => void }> {
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
    time: async () =>
      (
        await measure(async () => {
          run();
          await backend.sync();
        })
      ).median,
    dispose: () => {
      for (const handle of Object.values(handles)) backend.dispose(handle);
      backend.dispose(out);
    },
  };
}

function kernelTask(c: KernelCase): BenchTask {
  return {
    name: c.name,
    async run(context: SuiteContext) {
      let expected: Float32Array | undefined;
      let baseline: { gflops: number; gbs: number } | undefined;
      for (const backend of context.backends) {
        const variant = await runCase(backend, c);
        try {
          if (!expected) expected = variant.output;
          else
            validateClose(
              `${c.name} on ${backend.name}`,
              variant.output,
              expected,
              Math.max(backend.capabilities.f32Tolerance, 1e-5) * 10,
            );
          const ms = await variant.time();
          const gflops = c.flops / ms / 1e6;
          const gbs = c.bytes / ms / 1e6;
          baseline ??= { gflops, gbs };
          const base = { suite: 'kernels', name: c.name, backend: backend.name };
          context.record(
            compared(
              { ...base, metric: 'throughput', value: gflops, unit: 'GFLOP/s' },
              baseline.gflops,
              'reference',
            ),
          );
          context.record(
            compared({ ...base, metric: 'bandwidth', value: gbs, unit: 'GB/s' }, baseline.gbs, 'reference'),
          );
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          context.record({
            suite: 'kernels',
            name: c.name,
            backend: backend.name,
            metric: 'validation',
            value: 0,
            unit: 'pass',
            note: error.message,
          });
        } finally {
          variant.dispose();
        }
      }
    },
  };
}

function matmulCase(m: number, n: number, k: number): KernelCase {
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

function decodeAttentionCase(heads: number, headDim: number, length: number): KernelCase {
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

export const kernelsSuite: Suite = {
  name: 'kernels',
  tasks({ quick }) {
    const matvecs = quick
      ? [
          [288, 288],
          [768, 768],
        ]
      : [
          [288, 288],
          [768, 768],
          [2048, 768],
          [768, 2048],
          [4096, 4096],
        ];
    const gemms = quick ? [64, 128] : [64, 256, 512];
    const attention = quick ? [256] : [256, 1024];
    return [
      { name: 'machine limits', run: async (context: SuiteContext) => void (await machineLimits(context)) },
      ...matvecs.map(([n, k]) => kernelTask(matmulCase(1, n, k))),
      ...gemms.map((size) => kernelTask(matmulCase(size, size, size))),
      ...attention.map((length) => kernelTask(decodeAttentionCase(12, 64, length))),
    ];
  },
};
