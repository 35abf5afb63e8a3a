/**
 * `pnpm bench --quick` as a smoke test: it runs, validates every variant, and writes the JSON, the
 * report and the charts, with the rows the issues ask for (Q8_0, quantisation quality, thread
 * pairs, onnxruntime-web's MatMul, WebGPU with its adapter). `--browser` on a small filter runs the
 * same kernels and stories260K in headless Chromium. No speed is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from '@rotor-internal/testing';
import { afterAll, describe, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'rotor-bench-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Result {
  suite: string;
  name: string;
  backend: string;
  metric: string;
  value: number;
  unit: string;
  ratio?: number;
  baselineName?: string;
  threads?: number;
  environment?: string;
  adapter?: string;
  correctnessOnly?: boolean;
  note?: string;
}

interface Report {
  machine: {
    cores: number;
    threads: number;
    backends: { name: string; available: boolean }[];
    browser?: { crossOriginIsolated: boolean; webgpu: string };
  };
  results: Result[];
}

function bench(name: string, args: string[]): { report: Report; out: string } {
  const json = join(directory, `${name}.json`);
  const out = join(directory, name);
  const result = spawnSync('pnpm', ['bench', '--quick', '--json', json, '--out', out, ...args], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    timeout: 280_000,
  });
  expect(result.status, result.stderr).toBe(0);
  return { report: JSON.parse(readFileSync(json, 'utf8')) as Report, out };
}

/** Every result is well formed and none is a failed validation. */
function expectWellFormed(report: Report): void {
  for (const r of report.results) {
    expect(r).toMatchObject({
      suite: expect.any(String),
      name: expect.any(String),
      backend: expect.any(String),
      metric: expect.any(String),
      value: expect.any(Number),
      unit: expect.any(String),
    });
    expect(r.metric, `${r.suite}/${r.name} ${r.backend}: ${r.note}`).not.toBe('validation');
  }
}

/** WebGPU rows name their adapter; on a software adapter they are marked correctness-only. */
function expectWebGpuLabelled(results: Result[], reportMarkdown: string): void {
  for (const r of results.filter((r) => r.backend === 'webgpu')) {
    expect(r.adapter, `${r.suite}/${r.name}`).toEqual(expect.any(String));
    if (/swiftshader|llvmpipe|lavapipe|software/i.test(r.adapter ?? ''))
      expect(r.correctnessOnly, `${r.suite}/${r.name}`).toBe(true);
  }
  if (results.some((r) => r.correctnessOnly)) expect(reportMarkdown).toContain('**Correctness-only:**');
}

describe('pnpm bench --quick', () => {
  it('runs every suite and writes results, report and charts', () => {
    const { report, out } = bench('node', []);
    expect(report.machine).toMatchObject({ cores: expect.any(Number), backends: expect.any(Array) });
    const suites = new Set(report.results.map((r) => r.suite));
    for (const suite of ['kernels', 'tokenizer', 'end-to-end', 'scaling', 'positions'])
      expect(suites).toContain(suite);
    expectWellFormed(report);
    expect(report.results.some((r) => typeof r.ratio === 'number')).toBe(true);
    const has = (test: (r: Result) => boolean) => report.results.some(test);
    expect(
      has((r) => r.baselineName === 'onnxruntime-web'),
      'a ratio against onnxruntime-web',
    ).toBe(true);
    expect(
      has((r) => r.backend === 'machine' && r.metric === 'bandwidth'),
      'the bandwidth probe',
    ).toBe(true);
    expect(
      has((r) => r.metric === 'fraction of bandwidth limit'),
      'decode against the limit',
    ).toBe(true);
    for (const peer of ['tiktoken', 'gpt-tokenizer', 'js-tiktoken', 'rotor'])
      expect(
        has((r) => r.backend === peer && r.metric === 'encode'),
        peer,
      ).toBe(true);

    // onnxruntime-web's MatMul in the kernels suite, and our GEMM's ratio against it at equal threads.
    expect(
      has((r) => r.suite === 'kernels' && r.backend === 'onnxruntime-web' && r.name.startsWith('gemm')),
      'onnxruntime-web MatMul',
    ).toBe(true);
    expect(
      has(
        (r) =>
          r.suite === 'kernels' &&
          r.backend === 'wasm' &&
          r.name.startsWith('gemm') &&
          r.baselineName === 'onnxruntime-web' &&
          r.threads === report.machine.threads,
      ),
      'wasm GEMM vs onnxruntime-web MatMul',
    ).toBe(true);

    // Q8_0 decode against onnxruntime-web's f32 decode, and the logits of Q8_0/Q4_0 against f32.
    for (const model of ['stories260K', 'stories15M-shape']) {
      expect(
        has(
          (r) =>
            r.name === `${model} Q8_0` &&
            r.backend === 'wasm' &&
            r.metric === 'decode' &&
            r.baselineName === 'onnxruntime-web',
        ),
        `${model} Q8_0 decode`,
      ).toBe(true);
      for (const type of ['Q8_0', 'Q4_0'])
        for (const metric of ['cosine similarity', 'top-1 agreement'])
          expect(
            has((r) => r.name === `${model} ${type} logits vs f32` && r.metric === metric),
            `${model} ${type} ${metric}`,
          ).toBe(true);
    }
    for (const r of report.results.filter((r) => r.metric === 'cosine similarity')) {
      expect(r.value).toBeGreaterThan(0);
      expect(r.value).toBeLessThanOrEqual(1 + 1e-6);
    }

    // Thread pairs: wasm and onnxruntime-web decode at 1 thread and at the run's count, each against the limit.
    const threadCounts = [...new Set([1, report.machine.threads])];
    for (const backend of ['wasm', 'onnxruntime-web'])
      for (const threads of threadCounts) {
        const decode = (metric: string) =>
          has(
            (r) =>
              r.suite === 'end-to-end' &&
              r.name === 'stories15M-shape' &&
              r.backend === backend &&
              r.threads === threads &&
              r.metric === metric,
          );
        expect(decode('decode'), `${backend} decode on ${threads} thread(s)`).toBe(true);
        expect(decode('fraction of bandwidth limit'), `${backend} limit on ${threads} thread(s)`).toBe(true);
      }

    // WebGPU (Dawn in Node) when the machine has an adapter: kernels and stories260K, labelled.
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    if (report.machine.backends.some((b) => b.name === 'webgpu' && b.available)) {
      expect(has((r) => r.suite === 'kernels' && r.backend === 'webgpu')).toBe(true);
      expect(has((r) => r.name === 'stories260K' && r.backend === 'webgpu' && r.metric === 'decode')).toBe(
        true,
      );
    }
    expectWebGpuLabelled(report.results, markdown);

    for (const file of ['report.md', 'results.json', 'kernels-throughput.svg', 'scaling-prefill.svg'])
      expect(existsSync(join(out, file)), file).toBe(true);
    expect(readFileSync(join(out, 'kernels-throughput.svg'), 'utf8')).toMatch(/^<svg/);
  });
});

/** Debian's Chromium, which the bench drives by default. */
const CHROMIUM = '/usr/bin/chromium';

describe('pnpm bench --quick --browser', () => {
  it('runs kernels and stories260K in headless Chromium, merged into the same report', (context) => {
    if (!existsSync(CHROMIUM) && process.env.CI !== 'true') {
      context.skip(`skipped by capability: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      return;
    }
    const { report, out } = bench('browser', [
      '--browser',
      '--filter',
      '^kernels/gemm 64x64x64$|^end-to-end/stories260K$',
    ]);
    expectWellFormed(report);
    expect(report.machine.browser?.crossOriginIsolated, 'COOP/COEP').toBe(true);
    const browser = report.results.filter((r) => r.environment === 'browser');
    for (const suite of ['kernels', 'end-to-end'])
      for (const backend of ['reference', 'wasm'])
        expect(
          browser.some((r) => r.suite === suite && r.backend === backend),
          `${suite} ${backend} in the browser`,
        ).toBe(true);
    // Threads work in the page: the WASM backend ran on the run's thread count.
    expect(browser.find((r) => r.backend === 'wasm')?.threads).toBe(report.machine.threads);
    if (!report.machine.browser?.webgpu.startsWith('unavailable'))
      expect(browser.some((r) => r.backend === 'webgpu' && r.metric === 'decode')).toBe(true);
    // The same tasks also ran in Node, and the report has a section per environment.
    expect(report.results.some((r) => r.environment === undefined && r.suite === 'end-to-end')).toBe(true);
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('## kernels (browser)');
    expect(markdown).toContain('## end-to-end (browser)');
    expectWebGpuLabelled(browser, markdown);
  });
});
