/**
 * `rotor generate --positional-encoding`: every strategy swaps in without touching model code.
 */
import { describeWithFixtures, expectOneLineError, fixturePath, runRotor } from '@rotor-internal/testing';
import { expect, it } from 'vitest';

const base = [
  'generate',
  '--model',
  fixturePath('stories260K/stories260K.bin'),
  '--tokenizer',
  fixturePath('stories260K/tok512.bin'),
  '--prompt',
  'Once upon a time',
  '--temperature',
  '0',
  '--max-new-tokens',
  '80',
];

describeWithFixtures(
  'rotor generate --positional-encoding',
  ['stories260K/stories260K.bin', 'stories260K/tok512.bin'],
  () => {
    const baseline = runRotor(base);

    it.each([
      '{"type":"none"}',
      '{"type":"sinusoidal"}',
      '{"type":"alibi"}',
      '{"type":"rope","scaling":{"type":"linear","factor":2}}',
      '{"type":"rope","scaling":{"type":"yarn","factor":4,"originalMaxPositions":128}}',
      '{"type":"rope","scaling":{"type":"dynamic-ntk","factor":2,"originalMaxPositions":16}}',
    ])('%s runs and changes the output', (spec) => {
      expect(baseline.status, baseline.stderr).toBe(0);
      const result = runRotor([...base, '--positional-encoding', spec]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.startsWith('Once upon a time')).toBe(true);
      expect(result.stdout).not.toBe(baseline.stdout);
    });

    it('fails in one line naming the field of an invalid spec', () => {
      expectOneLineError(
        runRotor([...base, '--positional-encoding', '{"type":"rope","layout":"diagonal"}']),
        1,
        /positionalEncoding\.layout: expected "interleaved" or "half-split", found "diagonal"/,
      );
    });
  },
);
