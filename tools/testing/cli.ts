/**
 * Running the built `rotor` command in a child process, as a user would.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { repositoryRoot } from './paths.js';

/** Path of the built CLI entry. */
export const rotorBin = join(repositoryRoot, 'apps/cli/dist/rotor.js');

/** What one run of the command produced. */
export interface RotorRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rotor ...args` with optional stdin. */
export function runRotor(args: string[], input?: string): RotorRun {
  const result = spawnSync('node', [rotorBin, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts a failure reported as one line on stderr (`rotor: error: …`), never a stack trace. */
export function expectOneLineError(result: RotorRun, status: number, pattern: RegExp): void {
  expect(result.status).toBe(status);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rotor: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
