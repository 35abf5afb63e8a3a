/**
 * Fuzzing every loader with mutations of real and synthetic files. Every input must end in a
 * correct load or a typed `RotorError`: no other exception, no hang, and no allocation out of
 * proportion to the bytes actually present. `pnpm fuzz` runs 100,000 cases per format
 * (`ROTOR_FUZZ_CASES`); the test suite runs a few thousand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isRotorError } from '@rotor/core';
import { repositoryRoot } from '@rotor-internal/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { installAllocationTracker } from './allocation-tracker.js';
import { fuzzFormats } from './formats.js';
import { mutate, mutationArbitrary } from './mutations.js';

const CASES = Number(process.env.ROTOR_FUZZ_CASES ?? 2000);
/** A case slower than this is a hang (generous: the machine may be loaded; typical cases take microseconds). */
const HANG_MS = 5000;
/** Largest allocation allowed: this many times the input's size, plus a fixed allowance. */
const ALLOCATION_FACTOR = 16;
const ALLOCATION_ALLOWANCE = 1 << 20;

interface Figures {
  format: string;
  cases: number;
  loaded: number;
  rejected: number;
  failures: number;
  slowestMs: number;
  largestAllocationBytes: number;
  largestAllocationPerInputByte: number;
}

const figures: Figures[] = [];
const measure = installAllocationTracker();

afterAll(() => {
  const lines = figures.map(
    (f) =>
      `${f.format.padEnd(32)} ${String(f.cases).padStart(7)} cases  ${String(f.loaded).padStart(6)} loaded  ${String(f.rejected).padStart(7)} typed errors  ${f.failures} failures  slowest ${f.slowestMs.toFixed(1)} ms  largest allocation ${(f.largestAllocationBytes / 2 ** 20).toFixed(2)} MiB (${f.largestAllocationPerInputByte.toFixed(2)}× input)`,
  );
  console.log(`\nfuzz figures (${CASES} cases per format):\n${lines.join('\n')}`);
  const directory = join(repositoryRoot, 'test-artifacts');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'fuzz.json'), `${JSON.stringify(figures, null, 2)}\n`);
});

describe('fuzzing the loaders', () => {
  for (const format of fuzzFormats()) {
    it(`${format.name}: every mutated input loads or fails with a typed error`, () => {
      expect(format.seeds.length, `${format.name} has no seeds`).toBeGreaterThan(0);
      const total = format.seeds.reduce((sum, s) => sum + s.weight, 0);
      const seedArbitrary = fc.oneof(
        ...format.seeds.map((seed) => ({ arbitrary: fc.constant(seed), weight: seed.weight })),
      );
      const entry: Figures = {
        format: format.name,
        cases: 0,
        loaded: 0,
        rejected: 0,
        failures: 0,
        slowestMs: 0,
        largestAllocationBytes: 0,
        largestAllocationPerInputByte: 0,
      };
      figures.push(entry);
      const problems: string[] = [];
      const caseArbitrary = seedArbitrary.chain((seed) =>
        fc.tuple(fc.constant(seed), mutationArbitrary(seed.bytes.length)),
      );
      fc.assert(
        fc.property(caseArbitrary, ([seed, mutations]) => {
          const input = mutate(seed.bytes, mutations);
          const start = performance.now();
          const outcome = measure(() => format.parse(input));
          const elapsed = performance.now() - start;
          entry.cases++;
          entry.slowestMs = Math.max(entry.slowestMs, elapsed);
          entry.largestAllocationBytes = Math.max(entry.largestAllocationBytes, outcome.largestBytes);
          entry.largestAllocationPerInputByte = Math.max(
            entry.largestAllocationPerInputByte,
            outcome.largestBytes / Math.max(1, input.length),
          );
          const describeCase = () => `${seed.name} with ${JSON.stringify(mutations).slice(0, 300)}`;
          if ('error' in outcome && outcome.error !== undefined) {
            if (isRotorError(outcome.error)) entry.rejected++;
            else {
              entry.failures++;
              problems.push(`untyped ${String(outcome.error).slice(0, 200)} on ${describeCase()}`);
            }
          } else entry.loaded++;
          if (elapsed > HANG_MS) problems.push(`took ${elapsed.toFixed(0)} ms on ${describeCase()}`);
          if (outcome.largestBytes > ALLOCATION_FACTOR * input.length + ALLOCATION_ALLOWANCE) {
            problems.push(
              `allocated ${outcome.largestBytes} bytes for ${input.length} input bytes on ${describeCase()}`,
            );
          }
          return problems.length === 0;
        }),
        { numRuns: Math.max(1, Math.round(CASES)), endOnFailure: true },
      );
      expect(problems).toEqual([]);
      expect(total).toBeGreaterThan(0);
    }, 3_600_000);
  }
});
