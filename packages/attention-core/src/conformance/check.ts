/** Comparing outputs and matching cases to a backend's declared capabilities. */
import type { BackendCapabilities } from '@rotor/core';
import type { ConformanceCase } from './types.js';

/** A conformance expectation that a backend did not meet. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

/**
 * Throws a {@link ConformanceFailure} unless every `actual[e]` is within
 * `tolerance * max(1, |expected[e]|)` (plus `errorBound[e]` when given) of `expected[e]` (the
 * `f32Tolerance` convention). NaN never matches; infinities must be equal. The message names the
 * worst element and how many failed.
 */
export function compareOutputs(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  errorBound?: ArrayLike<number>,
): void {
  if (actual.length !== expected.length) {
    throw new ConformanceFailure(
      `${label}: expected ${expected.length} output elements, found ${actual.length}`,
    );
  }
  let failures = 0;
  let worst = -1;
  let worstExcess = -1;
  for (let e = 0; e < expected.length; e++) {
    const want = expected[e];
    const got = actual[e];
    if (got === want) continue;
    const allowed = tolerance * Math.max(1, Math.abs(want)) + (errorBound?.[e] ?? 0);
    const error = Math.abs(got - want);
    if (error <= allowed) continue;
    failures++;
    const excess = Number.isNaN(error) || !Number.isFinite(allowed) ? Infinity : error - allowed;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = e;
    }
  }
  if (failures > 0) {
    throw new ConformanceFailure(
      `${label}: ${failures} of ${expected.length} elements differ beyond tolerance ${tolerance} (relative to max(1, |expected|))${errorBound ? ' plus the per-element error bound' : ''}; ` +
        `worst at element ${worst}: expected ${expected[worst]}, found ${actual[worst]}`,
    );
  }
}

/** Why `testCase` cannot run on a backend with `capabilities`, or undefined when it can. */
export function missingCapability(
  testCase: ConformanceCase,
  capabilities: BackendCapabilities,
): string | undefined {
  if (!capabilities.kernels.includes(testCase.kernel)) {
    return `needs kernel ${testCase.kernel}, which capabilities.kernels does not declare`;
  }
  for (const tensor of Object.values(testCase.inputs)) {
    const dtype = tensor.dtype ?? 'f32';
    if (!capabilities.dtypes.includes(dtype))
      return `needs dtype ${dtype}, which capabilities.dtypes does not declare`;
  }
  const attrs = testCase.attrs as { scoreBias?: { type?: unknown }; layout?: unknown };
  const biasType = attrs.scoreBias?.type;
  if (testCase.kernel === 'attention' && (biasType === 'alibi' || biasType === 't5')) {
    if (!capabilities.scoreBias.includes(biasType)) {
      return `needs score bias ${biasType}, which capabilities.scoreBias does not declare`;
    }
  }
  const layout = attrs.layout;
  if (testCase.kernel === 'applyRotary' && (layout === 'interleaved' || layout === 'half-split')) {
    if (!capabilities.rotaryLayouts.includes(layout)) {
      return `needs rotary layout ${layout}, which capabilities.rotaryLayouts does not declare`;
    }
  }
  return undefined;
}
