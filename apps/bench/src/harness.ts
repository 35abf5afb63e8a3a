/**
 * Timing and validation, llm.c style: every variant is checked against the reference before it is
 * timed, then warmed up, run repeatedly, and summarised by its median and spread. Free of Node
 * APIs (the browser page shares it).
 */
import { argmax } from '@rotor/decoder-model';

/** Repeated timings of one variant, in milliseconds. */
export interface Measurement {
  median: number;
  min: number;
  max: number;
  /** Interquartile range / median. */
  spread: number;
  runs: number;
}

/** How long to measure. */
export interface MeasureOptions {
  warmup?: number;
  minRuns?: number;
  maxRuns?: number;
  /** Keep running until this much time was spent (or maxRuns). */
  minTimeMs?: number;
}

/** Times `run` after `warmup` untimed calls. */
export async function measure(run: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const { warmup = 2, minRuns = 5, maxRuns = 200, minTimeMs = 300 } = options;
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (times.length < maxRuns && performance.now() - start < minTimeMs)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return summarize(times);
}

/** Median, extremes and spread of repeated measurements (any unit). */
export function summarize(values: readonly number[]): Measurement {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const median = at(0.5);
  return {
    median,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    spread: median > 0 ? (at(0.75) - at(0.25)) / median : 0,
    runs: sorted.length,
  };
}

/** Thrown when a variant disagrees with the reference; it is then reported, never timed. */
export class ValidationError extends Error {}

/** Checks `actual` against `expected` element-wise within `tolerance` relative to max(1, |expected|). */
export function validateClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
): void {
  if (actual.length < expected.length)
    throw new ValidationError(`${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = 0;
  let worstAt = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(error <= worst)) {
      worst = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error;
      worstAt = i;
    }
  }
  if (worst > tolerance) {
    throw new ValidationError(
      `${what}: error ${worst.toExponential(2)} at ${worstAt} exceeds ${tolerance.toExponential(1)}`,
    );
  }
}

/** Checks two token sequences are identical. */
export function validateTokens(what: string, actual: readonly number[], expected: readonly number[]): void {
  const at = expected.findIndex((id, i) => actual[i] !== id);
  if (at >= 0 || actual.length !== expected.length) {
    throw new ValidationError(
      `${what}: tokens differ from the reference at ${at >= 0 ? at : Math.min(actual.length, expected.length)}`,
    );
  }
}

/**
 * Why a variant failed, for its `validation` result: a disagreement with the reference, or any
 * other error it threw (reported rather than ending the run, so the other variants still run).
 */
export function failureNote(error: unknown): string {
  if (error instanceof ValidationError) return error.message;
  return `failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
}

/** Mean and worst cosine similarity, and top-1 agreement, of logit rows against baseline rows. */
export function logitAgreement(
  rows: Float32Array[],
  baseline: Float32Array[],
): { cosine: number; worst: number; top1: number } {
  let sum = 0;
  let worst = 1;
  let same = 0;
  for (let p = 0; p < rows.length; p++) {
    let dot = 0;
    let a2 = 0;
    let b2 = 0;
    const a = rows[p];
    const b = baseline[p];
    for (let i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      a2 += a[i] * a[i];
      b2 += b[i] * b[i];
    }
    const cosine = dot / Math.sqrt(a2 * b2);
    sum += cosine;
    worst = Math.min(worst, cosine);
    if (argmax(a) === argmax(b)) same++;
  }
  return { cosine: sum / rows.length, worst, top1: same / rows.length };
}

/** Least cosine similarity of a Q8_0 backend's prompt logits to the reference backend's on the same weights. */
export const Q8_LOGITS_COSINE = 0.999;

/**
 * Checks a quantised model's prompt logits against the reference backend's on the same weights:
 * cosine similarity at least {@link Q8_LOGITS_COSINE} and the same greedy token.
 */
export function validateLogits(
  what: string,
  actual: Float32Array | undefined,
  expected: Float32Array | undefined,
): void {
  if (!actual || !expected) throw new ValidationError(`${what}: no prompt logits to compare`);
  const { cosine } = logitAgreement([actual], [expected]);
  if (!(cosine >= Q8_LOGITS_COSINE))
    throw new ValidationError(
      `${what}: prompt logits' cosine similarity to the reference's ${cosine.toFixed(6)}, expected at least ${Q8_LOGITS_COSINE}`,
    );
  if (argmax(actual) !== argmax(expected))
    throw new ValidationError(`${what}: the prompt's greedy token differs from the reference's`);
}
