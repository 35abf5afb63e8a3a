/**
 * The machine limits every suite compares with, measured once per run by the probes and recorded
 * as `kernels` results of backend `machine`.
 */
import { MachineProbes } from './probes.js';
import type { SuiteContext } from './suite.js';

/** One streaming-read measurement. */
export interface BandwidthLimit {
  /** Bytes read per pass: a buffer that stays in the last-level cache, or one that does not. */
  bytes: number;
  threads: number;
  /** GB/s */
  value: number;
}

/** What the probes measured. */
export interface MachineLimits {
  bandwidth: BandwidthLimit[];
  /** f32x4 mul+add chains in registers, GFLOP/s per thread count. */
  arithmetic: { threads: number; value: number }[];
}

const MiB = 2 ** 20;
const measured = new WeakMap<SuiteContext, Promise<MachineLimits>>();

async function probe(context: SuiteContext): Promise<MachineLimits> {
  const threadCounts = [...new Set([1, context.threads])];
  const sizes = [64 * MiB, 1024 * MiB];
  const runs = context.quick ? 3 : 7;
  const probes = await MachineProbes.create(context.threads, sizes[sizes.length - 1]);
  const limits: MachineLimits = { bandwidth: [], arithmetic: [] };
  try {
    for (const threads of threadCounts) {
      for (const bytes of sizes) {
        // About 128 MiB read per call, so a call takes tens of milliseconds.
        const reps = Math.max(1, Math.round((128 * MiB) / bytes));
        const { value, spread } = await MachineProbes.median(runs, () =>
          probes.bandwidth(threads, reps, bytes),
        );
        limits.bandwidth.push({ bytes, threads, value });
        context.record({
          suite: 'kernels',
          name: `streaming read ${bytes / MiB} MiB, ${threads} thread${threads > 1 ? 's' : ''}`,
          backend: 'machine',
          metric: 'bandwidth',
          value,
          unit: 'GB/s',
          spread,
          runs,
          note: 'WASM v128 loads into 8 accumulators',
        });
      }
      const { value, spread } = await MachineProbes.median(runs, () => probes.arithmetic(threads, 1_000_000));
      limits.arithmetic.push({ threads, value });
      context.record({
        suite: 'kernels',
        name: `f32x4 mul+add peak, ${threads} thread${threads > 1 ? 's' : ''}`,
        backend: 'machine',
        metric: 'throughput',
        value,
        unit: 'GFLOP/s',
        spread,
        runs,
        note: '10 independent register chains',
      });
    }
  } finally {
    await probes.dispose();
  }
  return limits;
}

/** The limits of this run, probed on first use. */
export function machineLimits(context: SuiteContext): Promise<MachineLimits> {
  let limits = measured.get(context);
  if (!limits) {
    limits = probe(context);
    measured.set(context, limits);
  }
  return limits;
}

/**
 * The bandwidth that bounds streaming `bytes` on `threads` threads: the smallest probe buffer at
 * least that large (so a model that fits the cache is held to the cache's bandwidth), else the largest.
 */
export function bandwidthFor(limits: MachineLimits, bytes: number, threads: number): BandwidthLimit {
  const candidates = limits.bandwidth.filter((b) => b.threads === threads).sort((a, b) => a.bytes - b.bytes);
  return candidates.find((b) => b.bytes >= bytes) ?? candidates[candidates.length - 1];
}
