/**
 * A property suite every positional-encoding strategy must pass, independent of the test runner:
 * pass your runner's `describe`, `it` and `expect` (vitest, jest and mocha+chai-style `expect`
 * with `toEqual` all fit).
 *
 * @example
 * import { describe, expect, it } from 'vitest';
 * import { runPositionalEncodingConformance } from '@rotor/positional-encodings/conformance';
 * runPositionalEncodingConformance(myFactory, [{ spec: { type: 'mine' }, context }], { describe, expect, it });
 */
import {
  isRotorError,
  type PositionalEncoding,
  type PositionalEncodingContext,
  type PositionalEncodingFactory,
  type PositionalEncodingSpec,
  type RotaryTables,
  type ScoreBiasDescriptor,
} from '@rotor/core';

/** The parts of a test runner the suite uses. */
export interface ConformanceTestApi {
  /** Groups tests. */
  describe(name: string, body: () => void): void;
  /** Declares one test. */
  it(name: string, body: () => void): void;
  /** Assertion entry; only `toEqual` is used (on a list of failures, expected empty). */
  expect(actual: unknown): { toEqual(expected: unknown): void };
}

/** One configuration to check: a spec and the context to bind it to. */
export interface ConformanceCase {
  /** Label in test names; defaults to the spec as JSON. */
  readonly name?: string;
  readonly spec: PositionalEncodingSpec;
  readonly context: PositionalEncodingContext;
}

/** Positions checked near the start of the sequence (fewer when `maxPositions` is smaller). */
const NEAR_POSITIONS = 40;
/** A window far from the start, when the strategy reaches that far. */
const FAR_START = 1000;

type Failures = string[];

/** Windows `[p, p + n)` to compare with the matching slice of `[0, p + n)`. */
function windows(maxPositions: number): Array<[number, number]> {
  const total = Math.min(maxPositions, NEAR_POSITIONS);
  const list: Array<[number, number]> = [
    [0, total],
    [0, 1],
    [total - 1, 1],
    [1, total - 1],
    [Math.floor(total / 2), total - Math.floor(total / 2)],
  ];
  if (total >= 8) list.push([3, 5]);
  if (maxPositions >= FAR_START + 3) list.push([FAR_START, 3]);
  return list;
}

function firstDifference(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): string | undefined {
  if (actual.length !== expected.length)
    return `${label}: length ${actual.length}, expected ${expected.length}`;
  for (let k = 0; k < actual.length; k++) {
    if (!Object.is(actual[k], expected[k]))
      return `${label}: index ${k} is ${actual[k]}, expected ${expected[k]}`;
  }
  return undefined;
}

function checkFinite(label: string, values: ArrayLike<number>, failures: Failures): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      failures.push(`${label}: index ${k} is ${values[k]}, expected a finite value`);
      return;
    }
  }
}

function checkIdentity(
  factory: PositionalEncodingFactory,
  encoding: PositionalEncoding,
  failures: Failures,
): void {
  if (encoding.type !== factory.type) failures.push(`type is "${encoding.type}", expected "${factory.type}"`);
  if (encoding.spec?.type !== factory.type)
    failures.push(`spec.type is "${encoding.spec?.type}", expected "${factory.type}"`);
  let json: string | undefined;
  try {
    json = JSON.stringify(encoding.spec);
  } catch (error) {
    failures.push(`spec is not JSON: ${String(error)}`);
  }
  if (json !== undefined) {
    const roundTrip = JSON.stringify(JSON.parse(json));
    if (roundTrip !== json) failures.push(`spec does not survive JSON: ${json} became ${roundTrip}`);
  }
  const hookNames = ['additive', 'rotary', 'scoreBias'] as const;
  for (const hook of hookNames) {
    const flag = encoding.hooks?.[hook];
    if (typeof flag !== 'boolean') failures.push(`hooks.${hook} is ${String(flag)}, expected a boolean`);
    if (flag && typeof encoding[hook] !== 'function')
      failures.push(`hooks.${hook} is true but ${hook}() is missing`);
  }
  const max = encoding.maxPositions;
  if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && max >= 1))) {
    failures.push(`maxPositions is ${max}, expected an integer >= 1 or Infinity`);
  }
}

function checkAdditive(
  encoding: PositionalEncoding,
  context: PositionalEncodingContext,
  failures: Failures,
): void {
  const additive = encoding.additive?.bind(encoding);
  if (!additive) return;
  for (const [start, count] of windows(encoding.maxPositions)) {
    const label = `additive(${start}, ${count})`;
    const window = Float32Array.from(additive(start, count));
    if (window.length !== count * context.modelDim) {
      failures.push(`${label}: ${window.length} values, expected ${count} x modelDim ${context.modelDim}`);
      continue;
    }
    checkFinite(label, window, failures);
    const full = additive(0, start + count);
    const difference = firstDifference(
      `${label} vs slice of additive(0, ${start + count})`,
      window,
      full.subarray(start * context.modelDim),
    );
    if (difference) failures.push(difference);
    const again = firstDifference(`${label} called again`, additive(start, count), window);
    if (again) failures.push(again);
  }
}

function checkRotaryShape(
  label: string,
  tables: RotaryTables,
  start: number,
  count: number,
  context: PositionalEncodingContext,
  failures: Failures,
): boolean {
  const { rotaryDim } = tables;
  if (
    !(
      Number.isSafeInteger(rotaryDim) &&
      rotaryDim >= 2 &&
      rotaryDim % 2 === 0 &&
      rotaryDim <= context.headDim
    )
  ) {
    failures.push(
      `${label}: rotaryDim ${rotaryDim}, expected an even integer in [2, headDim ${context.headDim}]`,
    );
    return false;
  }
  if (tables.layout !== 'interleaved' && tables.layout !== 'half-split') {
    failures.push(`${label}: layout ${String(tables.layout)}, expected "interleaved" or "half-split"`);
  }
  if (tables.start !== start) failures.push(`${label}: start ${tables.start}, expected ${start}`);
  if (!(Number.isFinite(tables.attentionFactor) && tables.attentionFactor > 0)) {
    failures.push(`${label}: attentionFactor ${tables.attentionFactor}, expected a finite number > 0`);
  }
  const expected = (count * rotaryDim) / 2;
  for (const name of ['cos', 'sin'] as const) {
    if (!(tables[name] instanceof Float32Array) || tables[name].length !== expected) {
      failures.push(
        `${label}: ${name} has ${tables[name]?.length} values, expected a Float32Array of ${expected}`,
      );
      return false;
    }
    checkFinite(`${label}.${name}`, tables[name], failures);
  }
  for (let k = 0; k < expected; k++) {
    const norm = tables.cos[k] ** 2 + tables.sin[k] ** 2;
    if (Math.abs(norm - 1) > 1e-5) {
      failures.push(`${label}: cos^2 + sin^2 at index ${k} is ${norm}, expected 1`);
      break;
    }
  }
  return true;
}

function checkRotary(
  encoding: PositionalEncoding,
  context: PositionalEncodingContext,
  failures: Failures,
): void {
  const rotary = encoding.rotary?.bind(encoding);
  if (!rotary) return;
  for (const [start, count] of windows(encoding.maxPositions)) {
    const label = `rotary(${start}, ${count})`;
    // Copies, so a later call that grows a cache cannot change what is compared.
    const first = rotary(start, count);
    if (!checkRotaryShape(label, first, start, count, context, failures)) continue;
    const windowCos = Float32Array.from(first.cos);
    const windowSin = Float32Array.from(first.sin);
    const full = rotary(0, start + count);
    if (!checkRotaryShape(`rotary(0, ${start + count})`, full, 0, start + count, context, failures)) continue;
    const half = full.rotaryDim / 2;
    for (const [name, window, whole] of [
      ['cos', windowCos, full.cos],
      ['sin', windowSin, full.sin],
    ] as const) {
      const difference = firstDifference(
        `${label}.${name} vs slice of rotary(0, ${start + count})`,
        window,
        whole.subarray(start * half),
      );
      if (difference) failures.push(difference);
    }
    if (full.attentionFactor !== first.attentionFactor || full.layout !== first.layout) {
      failures.push(`${label}: layout or attentionFactor differ from rotary(0, ${start + count})`);
    }
    const again = rotary(start, count);
    const difference = firstDifference(`${label}.cos called again`, again.cos, windowCos);
    if (difference) failures.push(difference);
  }
}

function checkDescriptor(
  descriptor: ScoreBiasDescriptor,
  context: PositionalEncodingContext,
  failures: Failures,
): void {
  if (descriptor.type === 'alibi') {
    if (!(descriptor.slopes instanceof Float32Array) || descriptor.slopes.length !== context.numHeads) {
      failures.push(
        `alibi slopes: ${descriptor.slopes?.length} values, expected a Float32Array of numHeads ${context.numHeads}`,
      );
      return;
    }
    checkFinite('alibi slopes', descriptor.slopes, failures);
    if (descriptor.slopes.some((slope) => !(slope > 0)))
      failures.push('alibi slopes: expected every slope > 0');
    return;
  }
  if (descriptor.type === 't5') {
    const { numBuckets, maxDistance, bidirectional, table } = descriptor;
    if (!(Number.isSafeInteger(numBuckets) && numBuckets >= (bidirectional ? 4 : 2))) {
      failures.push(`t5 numBuckets ${numBuckets}, expected an integer >= ${bidirectional ? 4 : 2}`);
    }
    if (!(Number.isSafeInteger(maxDistance) && maxDistance >= 1)) {
      failures.push(`t5 maxDistance ${maxDistance}, expected an integer >= 1`);
    }
    if (typeof bidirectional !== 'boolean')
      failures.push(`t5 bidirectional ${String(bidirectional)}, expected a boolean`);
    if (!(table instanceof Float32Array) || table.length !== numBuckets * context.numHeads) {
      failures.push(
        `t5 table: ${table?.length} values, expected a Float32Array of ${numBuckets} x ${context.numHeads}`,
      );
      return;
    }
    checkFinite('t5 table', table, failures);
    return;
  }
  failures.push(
    `score-bias type ${String((descriptor as { type?: unknown }).type)}, expected "alibi" or "t5"`,
  );
}

function checkScoreBias(
  encoding: PositionalEncoding,
  context: PositionalEncodingContext,
  failures: Failures,
): void {
  const scoreBias = encoding.scoreBias?.bind(encoding);
  if (!scoreBias) return;
  const descriptor = scoreBias();
  if (typeof descriptor !== 'object' || descriptor === null) {
    failures.push(`scoreBias() returned ${String(descriptor)}, expected a descriptor`);
    return;
  }
  checkDescriptor(descriptor, context, failures);
  if (JSON.stringify(descriptorSummary(scoreBias())) !== JSON.stringify(descriptorSummary(descriptor))) {
    failures.push('scoreBias(): a second call returned a different descriptor');
  }
}

function descriptorSummary(descriptor: ScoreBiasDescriptor): unknown {
  return descriptor.type === 'alibi'
    ? { type: descriptor.type, slopes: Array.from(descriptor.slopes ?? []) }
    : { ...descriptor, table: Array.from(descriptor.table ?? []) };
}

function checkRejections(encoding: PositionalEncoding, failures: Failures): void {
  const hooks: Array<[string, (start: number, count: number) => unknown]> = [];
  if (encoding.additive) hooks.push(['additive', encoding.additive.bind(encoding)]);
  if (encoding.rotary) hooks.push(['rotary', encoding.rotary.bind(encoding)]);
  const bad: Array<[number, number]> = [
    [-1, 1],
    [0, -1],
    [0.5, 1],
    [0, 1.5],
    [Number.NaN, 1],
    [0, Number.POSITIVE_INFINITY],
  ];
  if (Number.isFinite(encoding.maxPositions))
    bad.push([encoding.maxPositions, 1], [0, encoding.maxPositions + 1]);
  for (const [name, hook] of hooks) {
    for (const [start, count] of bad) {
      try {
        hook(start, count);
        failures.push(`${name}(${start}, ${count}) returned, expected a RotorError`);
      } catch (error) {
        const overflow =
          Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0;
        if (!isRotorError(error)) {
          failures.push(`${name}(${start}, ${count}) threw ${String(error)}, expected a RotorError`);
        } else if (overflow && error.code !== 'CONTEXT_OVERFLOW') {
          failures.push(`${name}(${start}, ${count}) threw ${error.code}, expected CONTEXT_OVERFLOW`);
        }
      }
    }
  }
}

function run(check: (failures: Failures) => void, api: ConformanceTestApi): void {
  const failures: Failures = [];
  check(failures);
  api.expect(failures).toEqual([]);
}

/**
 * Declares the conformance tests of `factory` for each case:
 * - identity: `type`s match the factory, the normalised spec is plain JSON, every hook flagged
 *   exists, `maxPositions` is a positive integer or `Infinity`;
 * - the normalised spec is a fixed point: creating from it gives the same spec;
 * - additive tables: `[count, modelDim]`, finite, and the window `[p, p + n)` equals the matching
 *   slice of `[0, p + n)`, also when asked again;
 * - rotary tables: shapes, layout, `start`, finite `attentionFactor > 0`, `cos^2 + sin^2 = 1`,
 *   and windows equal the matching slices of `[0, p + n)` (also after a cache grew);
 * - score-bias descriptors are well formed for `context.numHeads` and stable across calls;
 * - bad windows (negative, fractional, NaN, past `maxPositions`) throw a `RotorError`, past
 *   `maxPositions` a `CONTEXT_OVERFLOW` one.
 */
export function runPositionalEncodingConformance(
  factory: PositionalEncodingFactory,
  cases: readonly ConformanceCase[],
  api: ConformanceTestApi,
): void {
  api.describe(`positional-encoding conformance: ${factory.type}`, () => {
    for (const testCase of cases) {
      const name = testCase.name ?? JSON.stringify(testCase.spec);
      const create = () => factory.create(testCase.spec, testCase.context);
      api.describe(name, () => {
        api.it('describes itself consistently', () =>
          run((failures) => checkIdentity(factory, create(), failures), api),
        );
        api.it('accepts its own normalised spec unchanged', () =>
          run((failures) => {
            const spec = create().spec;
            const again = factory.create(JSON.parse(JSON.stringify(spec)), testCase.context).spec;
            if (JSON.stringify(again) !== JSON.stringify(spec)) {
              failures.push(`re-creating from ${JSON.stringify(spec)} gave ${JSON.stringify(again)}`);
            }
          }, api),
        );
        api.it('gives additive windows equal to slices of longer tables', () =>
          run((failures) => checkAdditive(create(), testCase.context, failures), api),
        );
        api.it('gives rotary windows equal to slices of longer tables', () =>
          run((failures) => checkRotary(create(), testCase.context, failures), api),
        );
        api.it('gives a well-formed score-bias descriptor', () =>
          run((failures) => checkScoreBias(create(), testCase.context, failures), api),
        );
        api.it('rejects bad position windows with typed errors', () =>
          run((failures) => checkRejections(create(), failures), api),
        );
      });
    }
  });
}
