/**
 * `rotor perplexity`: one line of JSON on stdout, matching `evaluate`; bad input fails in one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithFixtures, expectOneLineError, fixturePath, runRotor } from '@rotor-internal/testing';
import { afterAll, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'rotor-perplexity-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const file = join(directory, 'story.txt');
writeFileSync(
  file,
  'Once upon a time, there was a little girl named Lily. She loved to play in the park with her red ball. ' +
    'One day, she saw a big dog. The dog was sad because it was lost. Lily said, "Do not be sad. I will ' +
    'help you find your home." They walked and walked until they found a little house by the river.',
);

const base = [
  'perplexity',
  '--model',
  fixturePath('stories260K/stories260K.bin'),
  '--tokenizer',
  fixturePath('stories260K/tok512.bin'),
  '--file',
  file,
  '--backend',
  'reference',
];

function perplexity(args: string[]) {
  const result = runRotor([...base, ...args]);
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stdout.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  return JSON.parse(lines[0]) as {
    tokens: number;
    scored_tokens: number;
    mean_nll: number;
    perplexity: number;
  };
}

describeWithFixtures('rotor perplexity', ['stories260K/stories260K.bin', 'stories260K/tok512.bin'], () => {
  it('prints tokens, scored tokens, mean NLL and perplexity as one JSON line', () => {
    const result = perplexity([]);
    expect(Object.keys(result)).toEqual(['tokens', 'scored_tokens', 'mean_nll', 'perplexity']);
    expect(result.scored_tokens).toBe(result.tokens - 1);
    expect(result.perplexity).toBeCloseTo(Math.exp(result.mean_nll), 10);
    // stories260K finds a TinyStories-like text far likelier than a uniform guess over 512 tokens.
    expect(result.perplexity).toBeGreaterThan(1);
    expect(result.perplexity).toBeLessThan(20);
  });

  it('honours --context and --stride, beyond the trained context and with a swapped encoding', () => {
    const whole = perplexity([]);
    const windows = perplexity(['--context', '16', '--stride', '16']);
    expect(windows.tokens).toBe(whole.tokens);
    // Windows that do not overlap leave each window's first token unscored, and see less context.
    expect(windows.scored_tokens).toBe(whole.tokens - Math.ceil(whole.tokens / 16));
    expect(windows.mean_nll).toBeGreaterThan(whole.mean_nll);
    const long = perplexity(['--context', '1024']);
    expect(long.mean_nll).toBeCloseTo(whole.mean_nll, 5);
    const linear = perplexity([
      '--positional-encoding',
      '{"type":"rope","scaling":{"type":"linear","factor":4}}',
    ]);
    expect(linear.mean_nll).not.toBeCloseTo(whole.mean_nll, 3);
  });

  it('fails in one line on bad options and files', () => {
    expectOneLineError(
      runRotor([...base, '--stride', '0']),
      2,
      /--stride: expected an integer >= 1, found "0"/,
    );
    expectOneLineError(runRotor([...base, '--context', '1']), 2, /--context: expected an integer >= 2/);
    expectOneLineError(
      runRotor([...base, '--context', '32', '--stride', '33']),
      1,
      /stride: expected an integer in \[1, 32\].*found 33 \[INVALID_ARGUMENT\]/,
    );
    expectOneLineError(
      runRotor([...base.slice(0, 6), join(directory, 'missing.txt'), '--backend', 'reference']),
      1,
      /--file: cannot read .*missing\.txt.*ENOENT \[IO_ERROR\]/,
    );
    expectOneLineError(
      runRotor([...base, '--positional-encoding', '{"type":']),
      2,
      /--positional-encoding: expected a JSON object/,
    );
    const empty = join(directory, 'empty.txt');
    writeFileSync(empty, '');
    expectOneLineError(
      runRotor([...base.slice(0, 6), empty, '--backend', 'reference']),
      1,
      /text: expected at least 2 tokens/,
    );
  });
});
