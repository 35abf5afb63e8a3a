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

/** Lines of `value` against a numeric x read from each result's name, one per backend. */
export function lineChart(
  title: string,
  results: BenchResult[],
  x: (r: BenchResult) => number,
  xTitle: string,
  unit: string,
): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 260,
    data: { values: results.map((r) => ({ x: x(r), backend: r.backend, value: r.value })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle },
      y: { field: 'value', type: 'quantitative', title: unit },
      color: { field: 'backend', type: 'nominal' },
    },
  });
}
