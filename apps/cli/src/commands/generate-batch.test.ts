/**
 * `rotor generate` with several prompts: one batch, each result after its own header, the same
 * text each prompt gets alone. Runs the built command (`pnpm turbo run build --filter=@rotor/cli`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithFixtures, expectOneLineError, fixturePath, runRotor } from '@rotor-internal/testing';
import { afterAll, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'rotor-generate-batch-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const base = [
  'generate',
  '--model',
  fixturePath('stories260K/stories260K.bin'),
  '--tokenizer',
  fixturePath('stories260K/tok512.bin'),
  '--backend',
  'reference',
  '--temperature',
  '0',
  '--max-new-tokens',
  '30',
];

const PROMPTS = ['Once upon a time', 'Tom had a red ball', 'Lily'];

/** stdout of one prompt alone. */
function alone(prompt: string): string {
  const result = runRotor([...base, '--prompt', prompt]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** The blocks of a batch's stdout: `--- sequence i of n ---` then the prompt and its continuation. */
function blocks(n: number, outputs: string[]): string {
  return outputs.map((out, b) => `--- sequence ${b + 1} of ${n} ---\n${out}`).join('\n');
}

describeWithFixtures(
  'rotor generate with several prompts',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    it('runs repeated --prompt values as one batch, each result as it is alone', () => {
      const expected = PROMPTS.map(alone);
      const result = runRotor([...base, ...PROMPTS.flatMap((p) => ['--prompt', p]), '--stats', 'json']);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe(blocks(PROMPTS.length, expected));
      const stats = JSON.parse(result.stderr.trimEnd().split('\n').at(-1)!);
      expect(stats).toMatchObject({
        batch_size: 3,
        generated_tokens: [30, 30, 30],
        stop_reasons: ['max-tokens', 'max-tokens', 'max-tokens'],
        backend: 'reference',
      });
    }, 60_000);

    it('reads --prompts-file, one prompt per line, after any --prompt', () => {
      const file = join(directory, 'prompts.txt');
      writeFileSync(file, 'Tom had a red ball\r\n\nLily\n');
      const result = runRotor([...base, '--prompt', 'Once upon a time', '--prompts-file', file]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe(blocks(3, PROMPTS.map(alone)));
      // A file of one prompt is a batch of one, printed the same way.
      writeFileSync(file, 'Lily\n');
      const one = runRotor([...base, '--prompts-file', file]);
      expect(one.stdout).toBe(blocks(1, [alone('Lily')]));
    }, 60_000);

    it('fails in one line on a missing or empty prompts file and on unsupported batch options', () => {
      expectOneLineError(
        runRotor([...base, '--prompts-file', join(directory, 'missing.txt')]),
        1,
        /--prompts-file: cannot read .*missing\.txt.*ENOENT \[IO_ERROR\]/,
      );
      const blank = join(directory, 'blank.txt');
      writeFileSync(blank, '\n  \n');
      expectOneLineError(
        runRotor([...base, '--prompts-file', blank]),
        2,
        /--prompts-file: expected at least one non-blank line/,
      );
      const many = join(directory, 'many.txt');
      writeFileSync(many, 'a\n'.repeat(257));
      expectOneLineError(runRotor([...base, '--prompts-file', many]), 2, /at most 256 prompts.*found 257/);
      expectOneLineError(
        runRotor([...base, '--prompt', 'a', '--prompt', 'b', '--context-overflow', 'sliding']),
        1,
        /only "error" is supported for a batch.*\[UNSUPPORTED\]/,
      );
    }, 60_000);
  },
);
