import { describe, expect, it } from 'vitest';
import { checkGoals, goalsMarkdown } from './goals.js';
import type { BenchResult } from './results.js';

const row = (r: Partial<BenchResult>): BenchResult => ({
  suite: 'end-to-end',
  name: 'stories110M-shape',
  backend: 'wasm',
  metric: 'decode',
  value: 1,
  unit: 'tokens/s',
  ...r,
});

describe('checkGoals', () => {
  it('checks the goals the run measured, at the right thread counts', () => {
    const results = [
      row({ metric: 'fraction of bandwidth limit', value: 0.93, threads: 2 }),
      row({ backend: 'onnxruntime-web', metric: 'fraction of bandwidth limit', value: 0.6, threads: 1 }),
      row({ value: 40, threads: 1, ratio: 1.1, baselineName: 'onnxruntime-web' }),
      row({
        name: 'stories110M-shape Q8_0',
        value: 150,
        threads: 2,
        ratio: 2.6,
        baselineName: 'onnxruntime-web',
      }),
      row({ name: 'stories260K', value: 2500, threads: 1, ratio: 4, baselineName: 'onnxruntime-web' }),
      row({
        suite: 'kernels',
        name: 'gemm 64x64x64',
        metric: 'throughput',
        value: 20,
        threads: 2,
        ratio: 1.5,
        baselineName: 'onnxruntime-web',
      }),
      row({
        suite: 'kernels',
        name: 'gemm 512x512x512',
        metric: 'throughput',
        value: 20,
        threads: 2,
        ratio: 0.8,
        baselineName: 'onnxruntime-web',
      }),
      // Browser rows never count.
      row({ name: 'stories260K', value: 20_000, threads: 1, environment: 'browser' }),
    ];
    const checks = checkGoals(results, 2);
    const met = Object.fromEntries(checks.map((c) => [c.goal, c.met]));
    expect(met).toEqual({
      'f32 decode ≥ 0.90× the bandwidth limit, stories110M-shape, 2 threads': true,
      'f32 decode ≥ 1.25× onnxruntime-web where it is below 0.70× the limit: stories110M-shape, 1 thread': false,
      'stories260K decode ≥ 3× onnxruntime-web, 1 thread': true,
      'stories260K decode ≥ 10,000 tokens/s, 1 thread (1.5× native llama2.c)': false,
      "Q8_0 decode ≥ 2.5× onnxruntime-web's f32 decode, stories110M-shape, 2 threads": true,
      'prefill GEMM ≥ onnxruntime-web MatMul GFLOP/s at equal threads (every GEMM case)': false,
    });
    expect(checks.at(-1)?.measured).toBe('worst 0.80× (gemm 512x512x512); 1 of 2 cases at or above');
  });

  it('writes no section when nothing was measured', () => {
    expect(goalsMarkdown([], 2)).toEqual([]);
  });
});
