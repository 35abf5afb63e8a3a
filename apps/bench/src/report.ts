/** The Markdown report and charts of a run, written into one folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { barChart, lineChart } from './charts.js';
import { goalsMarkdown } from './goals.js';
import type { BenchReport, BenchResult } from './results.js';

const format = (value: number, unit = '') =>
  unit === 'cosine'
    ? value.toFixed(5)
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 1
        ? value.toFixed(2)
        : value.toPrecision(3);

/** The backend with its thread count, e.g. `wasm, 2 threads`. */
function backendLabel(r: BenchResult): string {
  return r.threads === undefined ? r.backend : `${r.backend}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`;
}

function noteOf(r: BenchResult): string {
  const notes = [r.correctnessOnly ? '**correctness-only** (software adapter)' : '', r.note ?? ''];
  // One table cell: no line breaks, no column separators.
  return notes
    .filter(Boolean)
    .join('; ')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');
}

function table(results: BenchResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${backendLabel(r)} | ${r.metric} | ${format(r.value, r.unit)} ${r.unit} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}× ${r.baselineName ?? ''}`} | ${r.spread === undefined ? '' : `±${(r.spread * 50).toFixed(0)}%`} | ${noteOf(r)} |`,
  );
  return [
    '| benchmark | backend | metric | value | vs baseline | spread | note |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Writes `report.md`, `results.json` and SVG charts into `directory`; returns the report path. */
export async function writeReport(report: BenchReport, directory: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  const charts: [string, Promise<string>][] = [];
  // Charts show speed in Node: no browser rows, no software-GPU rows; one bar per backend and thread count.
  const of = (suite: string, metric: string) =>
    report.results
      .filter(
        (r) => r.suite === suite && r.metric === metric && r.environment !== 'browser' && !r.correctnessOnly,
      )
      .map((r) => ({ ...r, backend: backendLabel(r) }));
  if (of('kernels', 'throughput').length)
    charts.push([
      'kernels-throughput.svg',
      barChart('Kernels (GFLOP/s)', of('kernels', 'throughput'), 'GFLOP/s'),
    ]);
  if (of('tokenizer', 'encode').length)
    charts.push([
      'tokenizer-encode.svg',
      barChart('Tokenizer encode (MB/s)', of('tokenizer', 'encode'), 'MB/s'),
    ]);
  if (of('end-to-end', 'decode').length)
    charts.push([
      'end-to-end-decode.svg',
      barChart('Decode (tokens/s)', of('end-to-end', 'decode'), 'tokens/s'),
    ]);
  if (of('scaling', 'prefill time').length) {
    charts.push([
      'scaling-prefill.svg',
      lineChart(
        'Prefill time against prompt length',
        of('scaling', 'prefill time'),
        (r) => Number(r.name.split('=')[1]),
        'prompt length T',
        'ms',
      ),
    ]);
  }
  if (of('scaling', 'decode time').length) {
    charts.push([
      'scaling-decode.svg',
      lineChart(
        'Decode time per token against position',
        of('scaling', 'decode time'),
        (r) => Number(r.name.split(' ').at(-1)),
        'position',
        'ms/token',
      ),
    ]);
  }
  if (of('positions', 'perplexity').length) {
    charts.push([
      'positions-perplexity.svg',
      lineChart(
        'stories260K (trained on 512 positions): perplexity against context length',
        of('positions', 'perplexity'),
        (r) => Number(r.name.split(' ').at(-1)),
        'context length (tokens)',
        'perplexity (log scale)',
        {
          series: (r) => r.name.slice(0, r.name.lastIndexOf(', context')),
          seriesTitle: 'positions',
          logX: true,
          logY: true,
        },
      ),
    ]);
  }
  for (const [file, svg] of charts) await writeFile(join(directory, file), await svg);

  const machine = report.machine;
  const sectionOf = (r: BenchResult) => (r.environment === 'browser' ? `${r.suite} (browser)` : r.suite);
  const sections = [...new Set(report.results.map(sectionOf))].map((section) => {
    const rows = report.results.filter((r) => sectionOf(r) === section);
    const pictures = charts
      .filter(([file]) => file.startsWith(section))
      .map(([file]) => `![${file}](${file})`);
    const adapters = [
      ...new Set(
        rows
          .filter((r) => r.correctnessOnly)
          .map((r) => (r.adapter ?? 'unknown adapter').replace(/ \(software adapter[^)]*\)$/, '')),
      ),
    ];
    const caveat = adapters.length
      ? [
          `> **Correctness-only:** the WebGPU rows marked so ran on a software adapter, a GPU emulated on the CPU (${adapters.join('; ')}). They show the kernels validate against the reference; their timings say nothing about GPU speed.`,
          '',
        ]
      : [];
    return [`## ${section}`, '', ...caveat, table(rows), '', ...pictures].join('\n');
  });
  const markdown = [
    '# Rotor benchmark report',
    '',
    `Run ${report.started}${report.options.quick ? ' (quick)' : ''}${report.options.filter ? `, filter \`${report.options.filter}\`` : ''}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}; the WASM backend, onnxruntime-web and the probes ran on ${machine.threads} thread${machine.threads > 1 ? 's' : ''}${machine.threads > 1 ? ' and on 1 (rows say which)' : ''}. Load average (1, 5, 15 min) at the start: ${machine.loadAverage.join(', ')}; at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} (the machine is shared, so expect ±20% between runs).`,
    '',
    'Backends:',
    ...machine.backends.map((b) => `- ${b.name}: ${b.available ? b.detail : `unavailable (${b.detail})`}`),
    '',
    ...(machine.browser
      ? [
          `Browser (\`--browser\`, sections marked "(browser)"): ${machine.browser.userAgent}; cross-origin isolated: ${machine.browser.crossOriginIsolated}; WebGPU: ${machine.browser.webgpu}.`,
          '',
        ]
      : []),
    ...(report.durations?.length
      ? [
          `Tasks took ${report.durations.reduce((sum, d) => sum + d.seconds, 0).toFixed(0)} s; the slowest: ${[
            ...report.durations,
          ]
            .sort((a, b) => b.seconds - a.seconds)
            .slice(0, 3)
            .map((d) => `${d.task} (${d.seconds} s)`)
            .join(', ')}.`,
          '',
        ]
      : []),
    'Every variant was validated against the reference backend before it was timed; values are medians of repeated runs, spread is the interquartile range. Ratios compare with the baseline measured in the same run.',
    '',
    ...goalsMarkdown(report.results, machine.threads),
    ...sections,
    '',
  ].join('\n');
  const path = join(directory, 'report.md');
  await writeFile(path, markdown);
  return path;
}
