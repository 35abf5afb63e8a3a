/**
 * Test helpers shared across the workspace (not published).
 *
 * External fixtures are read from `$ROTOR_FIXTURES`, else `../shared/fixtures` beside the
 * repository. When they are absent, tests that need them are skipped with a message naming the
 * variable — except under `CI=true`, where a missing fixture fails the run.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

import { repositoryRoot } from './paths.js';

export { repositoryRoot };

/** Directory holding the external fixtures (it may not exist). */
export const fixturesDirectory = process.env.ROTOR_FIXTURES
  ? resolve(process.env.ROTOR_FIXTURES)
  : resolve(repositoryRoot, '../shared/fixtures');

/** Absolute path of a fixture file, relative to the fixtures directory. */
export function fixturePath(relativePath: string): string {
  return join(fixturesDirectory, relativePath);
}

/** True when every named fixture exists. */
export function haveFixtures(...relativePaths: string[]): boolean {
  return relativePaths.every((p) => existsSync(fixturePath(p)));
}

/**
 * `describe` that needs fixture files: skipped with a message when they are missing, and a
 * failure instead under CI=true.
 */
export function describeWithFixtures(name: string, relativePaths: string[], body: () => void): void {
  const missing = relativePaths.filter((p) => !existsSync(fixturePath(p)));
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const message = `missing fixtures ${missing.join(', ')} in ${fixturesDirectory}: set ROTOR_FIXTURES or run \`pnpm fixtures\``;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has its fixtures', () => {
        throw new Error(message);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${message}`);
  describe.skipIf(true)(name, body);
}

export { expectOneLineError, type RotorRun, rotorBin, runRotor } from './cli.js';
