/** The Markdown report and charts of a run, written into one folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { barChart, lineChart } from './charts.js';
import type { BenchReport, BenchResult } from './results.js';

const format = (value: number) =>
  Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3);

function table(results: BenchResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.backend} | ${r.metric} | ${format(r.value)} ${r.unit} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}× ${r.baselineName ?? ''}`} | ${r.spread === undefined ? '' : `±${(r.spread * 50).toFixed(0)}%`} | ${r.note ?? ''} |`,
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
  const of = (suite: string, metric: string) =>
    report.results.filter((r) => r.suite === suite && r.metric === metric);
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
  const sections = [...new Set(report.results.map((r) => r.suite))].map((suite) => {
    const pictures = charts.filter(([file]) => file.startsWith(suite)).map(([file]) => `![${file}](${file})`);
    return [`## ${suite}`, '', table(report.results.filter((r) => r.suite === suite)), '', ...pictures].join(
      '\n',
    );
  });
  const markdown = [
    '# Rotor benchmark report',
    '',
    `Run ${report.started}${report.options.quick ? ' (quick)' : ''}${report.options.filter ? `, filter \`${report.options.filter}\`` : ''}.`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}; the WASM backend, onnxruntime-web and the probes ran on ${machine.threads} thread${machine.threads > 1 ? 's' : ''}. Load average (1, 5, 15 min) at the start: ${machine.loadAverage.join(', ')}; at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} (the machine is shared, so expect ±20% between runs).`,
    '',
    'Backends:',
    ...machine.backends.map((b) => `- ${b.name}: ${b.available ? b.detail : `unavailable (${b.detail})`}`),
    '',
    'Every variant was validated against the reference backend before it was timed; values are medians of repeated runs, spread is the interquartile range. Ratios compare with the baseline measured in the same run.',
    '',
    ...sections,
    '',
  ].join('\n');
  const path = join(directory, 'report.md');
  await writeFile(path, markdown);
  return path;
}
