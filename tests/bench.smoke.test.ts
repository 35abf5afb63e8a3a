/**
 * `pnpm bench --quick` as a smoke test: it runs, validates every variant, and writes the JSON, the
 * report and the charts. No speed is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from '@rotor-internal/testing';
import { afterAll, describe, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'rotor-bench-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('pnpm bench --quick', () => {
  it('runs every suite and writes results, report and charts', () => {
    const json = join(directory, 'out.json');
    const out = join(directory, 'results');
    const result = spawnSync('pnpm', ['bench', '--quick', '--json', json, '--out', out], {
      cwd: repositoryRoot,
      encoding: 'utf8',
      timeout: 280_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.machine).toMatchObject({ cores: expect.any(Number), backends: expect.any(Array) });
    const suites = new Set(report.results.map((r: { suite: string }) => r.suite));
    for (const suite of ['kernels', 'tokenizer', 'end-to-end', 'scaling', 'positions'])
      expect(suites).toContain(suite);
    for (const r of report.results) {
      expect(r).toMatchObject({
        suite: expect.any(String),
        name: expect.any(String),
        backend: expect.any(String),
        metric: expect.any(String),
        value: expect.any(Number),
        unit: expect.any(String),
      });
      expect(r.metric).not.toBe('validation');
    }
    expect(report.results.some((r: { ratio?: number }) => typeof r.ratio === 'number')).toBe(true);
    type Result = { backend: string; metric: string; baselineName?: string };
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
    for (const file of ['report.md', 'results.json', 'kernels-throughput.svg', 'scaling-prefill.svg'])
      expect(existsSync(join(out, file)), file).toBe(true);
    expect(readFileSync(join(out, 'kernels-throughput.svg'), 'utf8')).toMatch(/^<svg/);
  });
});
