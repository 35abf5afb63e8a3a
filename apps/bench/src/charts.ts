/** SVG charts of a run, rendered headless with Vega-Lite. */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './results.js';

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Bars of `value` per name, one colour per backend. */
export function barChart(title: string, results: BenchResult[], unit: string): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    data: { values: results.map((r) => ({ name: r.name, backend: r.backend, value: r.value })) },
    mark: 'bar',
    encoding: {
      y: { field: 'name', type: 'nominal', title: null, axis: { labelLimit: 280 } },
      yOffset: { field: 'backend' },
      x: { field: 'value', type: 'quantitative', title: unit },
      color: { field: 'backend', type: 'nominal' },
    },
  });
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** The line each result belongs to; default its backend. */
  series?: (r: BenchResult) => string;
  /** Legend title of the lines; default `backend`. */
  seriesTitle?: string;
  /** A base-2 logarithmic x axis, for sizes that double. */
  logX?: boolean;
  /** A logarithmic y axis, for values spanning orders of magnitude. */
  logY?: boolean;
}

/** Lines of `value` against a numeric x read from each result's name, one per backend (or series). */
export function lineChart(
  title: string,
  results: BenchResult[],
  x: (r: BenchResult) => number,
  xTitle: string,
  unit: string,
  { series = (r) => r.backend, seriesTitle = 'backend', logX = false, logY = false }: LineChartOptions = {},
): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 260,
    data: { values: results.map((r) => ({ x: x(r), series: series(r), value: r.value })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: xTitle,
        // Ticks at the measured sizes: a base-2 log axis otherwise labels round decimals.
        ...(logX
          ? { scale: { type: 'log' as const, base: 2 }, axis: { values: [...new Set(results.map(x))] } }
          : {}),
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: unit,
        ...(logY ? { scale: { type: 'log' as const } } : {}),
      },
      color: { field: 'series', type: 'nominal', title: seriesTitle, sort: null },
    },
  });
}
