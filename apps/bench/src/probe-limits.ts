/**
 * The machine limits measured once per run by the probes (Node worker threads) and recorded as
 * `kernels` results of backend `machine`.
 */
import type { MachineLimits } from './limits.js';
import { MachineProbes } from './probes.js';
import type { SuiteContext } from './suite.js';

const MiB = 2 ** 20;

/** Probes the limits, recording each as a `kernels` result of `context`. */
export async function probeMachineLimits(context: SuiteContext): Promise<MachineLimits> {
  const threadCounts = [...new Set([1, context.threads])];
  const sizes = [64 * MiB, 1024 * MiB];
  const runs = context.quick ? 3 : 7;
  const probes = await MachineProbes.create(context.threads, sizes[sizes.length - 1]);
  const limits: MachineLimits = { bandwidth: [], arithmetic: [] };
  try {
    for (const threads of threadCounts) {
      for (const bytes of sizes) {
        const { value, spread } = await probes.medianBandwidth(threads, bytes, runs);
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
