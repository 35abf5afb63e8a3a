import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from './report.js';
import type { BenchReport } from './results.js';

const directory = mkdtempSync(join(tmpdir(), 'rotor-bench-report-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const report: BenchReport = {
  machine: {
    cpu: 'test cpu',
    cores: 2,
    memoryGiB: 1,
    platform: 'test',
    node: 'v20',
    threads: 2,
    loadAverage: [0, 0, 0],
    backends: [{ name: 'wasm', available: true, detail: 'WASM' }],
    browser: { userAgent: 'HeadlessChrome', crossOriginIsolated: true, webgpu: 'SwiftShader' },
  },
  started: '2026-01-01T00:00:00.000Z',
  options: { quick: true, browser: true },
  results: [
    {
      suite: 'kernels',
      name: 'gemm 64x64x64',
      backend: 'wasm',
      metric: 'throughput',
      value: 20,
      unit: 'GFLOP/s',
      threads: 2,
    },
    {
      suite: 'kernels',
      name: 'gemm 64x64x64',
      backend: 'webgpu',
      metric: 'throughput',
      value: 0.1,
      unit: 'GFLOP/s',
      adapter: 'WebGPU on SwiftShader (software adapter: correctness only, not speed)',
      correctnessOnly: true,
    },
    {
      suite: 'end-to-end',
      name: 'stories260K',
      backend: 'wasm',
      metric: 'decode',
      value: 1000,
      unit: 'tokens/s',
      threads: 1,
      environment: 'browser',
      note: 'first line\n  second | line',
    },
    {
      suite: 'end-to-end',
      name: 'stories260K Q8_0 logits vs f32',
      backend: 'wasm',
      metric: 'cosine similarity',
      value: 0.999987,
      unit: 'cosine',
    },
  ],
};

describe('writeReport', () => {
  it('labels threads, correctness-only rows and browser sections', async () => {
    const path = await writeReport(report, directory);
    const markdown = readFileSync(path, 'utf8');
    expect(markdown).toContain('| gemm 64x64x64 | wasm, 2 threads | throughput | 20.00 GFLOP/s |');
    expect(markdown).toContain('> **Correctness-only:**');
    expect(markdown).toContain('(WebGPU on SwiftShader)');
    expect(markdown).toMatch(
      /\| webgpu \| throughput \| .* \| \*\*correctness-only\*\* \(software adapter\) \|/,
    );
    expect(markdown).toContain('## end-to-end (browser)');
    expect(markdown).toContain('Browser (`--browser`');
    // A note stays in its cell.
    expect(markdown).toContain('| first line second \\| line |');
    expect(markdown).toContain('0.99999 cosine');
    // Software-GPU rows stay out of the speed charts.
    expect(readFileSync(join(directory, 'kernels-throughput.svg'), 'utf8')).not.toContain('webgpu');
  });
});
