/**
 * The WASM backend issue's speed goals, checked against one run's results (Node rows only): a
 * Markdown table of goal, measured value and whether it was met, for the goals the run measured.
 */
import type { BenchResult } from './results.js';

/** One goal as measured. */
export interface GoalCheck {
  goal: string;
  measured: string;
  met: boolean;
}

const ONNX = 'onnxruntime-web';

/** Checks every goal the results allow; goals whose rows are missing (quick runs, filters) are left out. */
export function checkGoals(results: readonly BenchResult[], threads: number): GoalCheck[] {
  const rows = results.filter((r) => r.environment !== 'browser');
  const find = (test: (r: BenchResult) => boolean) => rows.find(test);
  const checks: GoalCheck[] = [];
  const fraction = (name: string, backend: string, t: number) =>
    find(
      (r) =>
        r.suite === 'end-to-end' &&
        r.name === name &&
        r.backend === backend &&
        r.threads === t &&
        r.metric === 'fraction of bandwidth limit',
    );
  const decode = (name: string, backend: string, t: number) =>
    find(
      (r) =>
        r.suite === 'end-to-end' &&
        r.name === name &&
        r.backend === backend &&
        r.threads === t &&
        r.metric === 'decode',
    );

  for (const model of ['stories42M-shape', 'stories110M-shape']) {
    const ours = fraction(model, 'wasm', threads);
    if (ours)
      checks.push({
        goal: `f32 decode ≥ 0.90× the bandwidth limit, ${model}, ${threads} threads`,
        measured: `${ours.value.toFixed(2)}× (onnxruntime-web ${fraction(model, ONNX, threads)?.value.toFixed(2) ?? '?'}×)`,
        met: ours.value >= 0.9,
      });
  }
  for (const model of ['stories15M-shape', 'stories42M-shape', 'stories110M-shape']) {
    for (const t of [...new Set([1, threads])]) {
      const peer = fraction(model, ONNX, t);
      const ours = decode(model, 'wasm', t);
      if (peer && peer.value < 0.7 && ours?.ratio !== undefined && ours.baselineName === ONNX)
        checks.push({
          goal: `f32 decode ≥ 1.25× onnxruntime-web where it is below 0.70× the limit: ${model}, ${t} thread${t > 1 ? 's' : ''}`,
          measured: `${ours.ratio.toFixed(2)}× (onnxruntime-web at ${peer.value.toFixed(2)}× the limit)`,
          met: ours.ratio >= 1.25,
        });
    }
  }
  const small = decode('stories260K', 'wasm', 1);
  if (small?.ratio !== undefined && small.baselineName === ONNX)
    checks.push({
      goal: 'stories260K decode ≥ 3× onnxruntime-web, 1 thread',
      measured: `${small.ratio.toFixed(2)}×`,
      met: small.ratio >= 3,
    });
  if (small)
    checks.push({
      goal: 'stories260K decode ≥ 10,000 tokens/s, 1 thread (1.5× native llama2.c)',
      measured: `${small.value.toFixed(0)} tokens/s`,
      met: small.value >= 10_000,
    });
  const q8 = decode('stories110M-shape Q8_0', 'wasm', threads);
  if (q8?.ratio !== undefined && q8.baselineName === ONNX)
    checks.push({
      goal: `Q8_0 decode ≥ 2.5× onnxruntime-web's f32 decode, stories110M-shape, ${threads} threads`,
      measured: `${q8.ratio.toFixed(2)}×`,
      met: q8.ratio >= 2.5,
    });
  const gemms = rows.filter(
    (r) =>
      r.suite === 'kernels' &&
      r.name.startsWith('gemm') &&
      r.backend === 'wasm' &&
      r.metric === 'throughput' &&
      r.baselineName === ONNX &&
      r.ratio !== undefined,
  );
  if (gemms.length) {
    const worst = gemms.reduce((a, b) => ((b.ratio as number) < (a.ratio as number) ? b : a));
    checks.push({
      goal: 'prefill GEMM ≥ onnxruntime-web MatMul GFLOP/s at equal threads (every GEMM case)',
      measured: `worst ${(worst.ratio as number).toFixed(2)}× (${worst.name}); ${gemms.filter((r) => (r.ratio as number) >= 1).length} of ${gemms.length} cases at or above`,
      met: (worst.ratio as number) >= 1,
    });
  }
  return checks;
}

/** The goals as a Markdown section, or nothing when the run measured none of them. */
export function goalsMarkdown(results: readonly BenchResult[], threads: number): string[] {
  const checks = checkGoals(results, threads);
  if (!checks.length) return [];
  return [
    '## Goals (WASM backend issue)',
    '',
    'Checked against this run only; the machine may be shared, so a goal missed by a few percent may be noise.',
    '',
    '| goal | measured | met |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.goal} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`),
    '',
  ];
}
