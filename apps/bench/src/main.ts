/**
 * `pnpm bench [--quick] [--filter REGEX] [--json PATH] [--out DIR] [--browser]`: runs the suites,
 * prints a progress bar, and writes a JSON file, a Markdown report and SVG charts.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import type { Backend } from '@rotor/core';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import type { BandwidthProbeRequest, BandwidthProbeResult } from './bandwidth-probe.js';
import { runInBrowser } from './browser/run.js';
import { runChild } from './child-process.js';
import { bandwidthFor, type MachineLimits } from './limits.js';
import { machineInfo } from './machine.js';
import { probeMachineLimits } from './probe-limits.js';
import { writeReport } from './report.js';
import type { BenchReport, BenchResult } from './results.js';
import type { Suite, SuiteContext } from './suite.js';
import { batchingSuite } from './suites/batching.js';
import { endToEndSuite } from './suites/end-to-end.js';
import { kernelsSuite } from './suites/kernels.js';
import { positionsSuite } from './suites/positions.js';
import { scalingSuite } from './suites/scaling.js';
import { tokenizerSuite } from './suites/tokenizer.js';

/** Every suite, in run order; a new suite is one more entry. */
const SUITES: Suite[] = [
  kernelsSuite,
  tokenizerSuite,
  endToEndSuite,
  scalingSuite,
  positionsSuite,
  batchingSuite,
];
const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const options = new Command('rotor-bench')
  .description('Benchmarks of Rotor against its peers and the machine’s limits.')
  .option('--quick', 'small sizes and fewer repetitions (a smoke test)')
  .option('--filter <regex>', 'only tasks whose "suite/task" name matches')
  .option('--json <path>', 'also write the results JSON here')
  .option('--browser', 'also run the kernels and end-to-end suites in headless Chromium')
  .option(
    '--out <dir>',
    'results folder',
    join(repositoryRoot, 'bench-results', new Date().toISOString().replace(/[:.]/g, '-')),
  )
  .parse()
  .opts<{ quick?: boolean; filter?: string; json?: string; out: string; browser?: boolean }>();

/** One thread per core (at most 4), for the WASM backend and every peer alike. */
const threads = Math.max(1, Math.min(4, availableParallelism()));

/** Dawn's WebGPU for Node (SwiftShader when there is no GPU), or nothing when it cannot start. */
async function nodeGpu(): Promise<Awaited<ReturnType<typeof createNodeGpu>> | undefined> {
  try {
    return await createNodeGpu();
  } catch {
    return undefined;
  }
}

const registryOptions = { gpu: await nodeGpu(), allowSoftwareAdapter: true };

async function availableBackends(): Promise<Backend[]> {
  const registry = createDefaultBackendRegistry(registryOptions);
  const names = ['reference', ...registry.names.filter((n) => n !== 'reference')];
  const backends: Backend[] = [];
  for (const name of names) {
    try {
      backends.push((await registry.select(name, { threads })).backend);
    } catch {
      // Unavailable backends are listed in the machine section of the report.
    }
  }
  return backends;
}

const filter = options.filter ? new RegExp(options.filter) : undefined;
const results: BenchResult[] = [];
let limits: Promise<MachineLimits> | undefined;
const machineLimits = (): Promise<MachineLimits> => {
  limits ??= probeMachineLimits(context);
  return limits;
};
const context: SuiteContext = {
  quick: options.quick ?? false,
  environment: 'node',
  backends: await availableBackends(),
  threads,
  fixtures: process.env.ROTOR_FIXTURES
    ? resolve(process.env.ROTOR_FIXTURES)
    : resolve(repositoryRoot, '../shared/fixtures'),
  limits: machineLimits,
  bandwidthNow: async (probeThreads, bytes) => {
    const planned = bandwidthFor(await machineLimits(), bytes, probeThreads);
    if (!planned) return undefined;
    const request: BandwidthProbeRequest = {
      threads: probeThreads,
      bytes: planned.bytes,
      runs: context.quick ? 3 : 5,
    };
    const { value } = await runChild<BandwidthProbeResult>('bandwidth-probe.js', request);
    return { ...planned, value };
  },
  record: (result) => results.push(result),
};
const tasks = SUITES.flatMap((suite) =>
  suite.tasks(context).map((task) => ({ id: `${suite.name}/${task.name}`, run: () => task.run(context) })),
).filter(({ id }) => !filter || filter.test(id));
const report: BenchReport = {
  machine: await machineInfo(threads, registryOptions),
  started: new Date().toISOString(),
  options: { quick: context.quick, filter: options.filter, browser: options.browser },
  durations: [],
  results,
};
if (options.browser)
  tasks.push({
    id: 'browser (kernels, end-to-end)',
    run: async () => {
      const browser = await runInBrowser({
        quick: context.quick,
        filter: options.filter,
        threads,
        fixtures: context.fixtures,
      });
      report.machine.browser = browser.info;
      results.push(...browser.results);
    },
  });

const bar = new SingleBar({
  format: 'bench [{bar}] {value}/{total} {task}',
  stream: process.stderr,
  hideCursor: true,
});
bar.start(tasks.length, 0, { task: '' });
for (const { id, run } of tasks) {
  bar.update({ task: id });
  const start = performance.now();
  await run();
  report.durations?.push({ task: id, seconds: Math.round((performance.now() - start) / 100) / 10 });
  bar.increment();
}
bar.stop();
for (const backend of context.backends) backend.destroy();

const path = await writeReport(report, options.out);
if (options.json) await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
const failed = results.filter((r) => r.metric === 'validation');
process.stderr.write(
  `bench: ${results.length} results, ${failed.length} validation failures; report ${path}\n`,
);
for (const r of results.filter((r) => r.ratio !== undefined && r.backend !== 'reference')) {
  const where = [r.environment === 'browser' ? 'browser' : '', r.threads ? `${r.threads}T` : '']
    .filter(Boolean)
    .join(', ');
  process.stdout.write(
    `${r.suite}/${r.name} ${r.backend}${where ? ` (${where})` : ''} ${r.metric}: ${r.value.toFixed(2)} ${r.unit} (${r.ratio!.toFixed(2)}× ${r.baselineName})\n`,
  );
}
for (const r of failed)
  process.stderr.write(`validation failed: ${r.suite}/${r.name} ${r.backend}: ${r.note}\n`);
// Dawn's instance and onnxruntime-web's workers would keep the process alive.
process.exit(failed.length > 0 ? 1 : 0);
