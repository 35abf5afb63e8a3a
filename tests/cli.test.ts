/**
 * The `rotor` command end to end, as a user runs it (the built CLI in a child process).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithFixtures, fixturePath, repositoryRoot } from '@rotor-internal/testing';
import { afterAll, describe, expect, it } from 'vitest';

const rotorBin = join(repositoryRoot, 'apps/cli/dist/rotor.js');
const model = fixturePath('stories260K/stories260K.bin');
const tokenizer = fixturePath('stories260K/tok512.bin');

function rotor(args: string[], input?: string) {
  const result = spawnSync('node', [rotorBin, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A failure is one line on stderr, never a stack trace. */
function expectOneLineError(result: ReturnType<typeof rotor>, status: number, pattern: RegExp) {
  expect(result.status).toBe(status);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rotor: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const temporary = mkdtempSync(join(tmpdir(), 'rotor-cli-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

describeWithFixtures(
  'rotor generate',
  [
    'stories260K/stories260K.bin',
    'stories260K/tok512.bin',
    'stories260K/reference/expected_once_upon_a_time_n200.txt',
    'stories260K/reference/expected_noprompt_n200.txt',
  ],
  () => {
    it('via `pnpm rotor`, prints the prompt and llama2.c greedy text on stdout', () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      const args = [
        'rotor',
        'generate',
        '--model',
        model,
        '--tokenizer',
        tokenizer,
        '--prompt',
        'Once upon a time',
        '--max-new-tokens',
        '200',
        '--temperature',
        '0',
        '--backend',
        'reference',
      ];
      const result = spawnSync('pnpm', args, { cwd: repositoryRoot, encoding: 'utf8', timeout: 180_000 });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.startsWith(expected), result.stdout).toBe(true);
    });

    it('uses the default model, with statistics as one JSON line on stderr', () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_noprompt_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      const result = rotor(['generate', '--temperature', '0', '--max-new-tokens', '200', '--stats', 'json']);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.startsWith(expected)).toBe(true);
      const statsLine = result.stderr.trim().split('\n').at(-1)!;
      const stats = JSON.parse(statsLine);
      expect(stats).toMatchObject({
        prompt_tokens: 1,
        generated_tokens: 200,
        load_ms: expect.any(Number),
        prefill_ms: expect.any(Number),
        decode_tokens_per_s: expect.any(Number),
        backend: 'wasm',
      });
    });

    it("with --backend webgpu (Dawn, SwiftShader here) prints llama2.c text and the reference backend's", () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      const generate = (backend: string, prompt: string) =>
        rotor([
          'generate',
          '--model',
          model,
          '--tokenizer',
          tokenizer,
          '--prompt',
          prompt,
          '--max-new-tokens',
          '200',
          '--temperature',
          '0',
          '--backend',
          backend,
        ]);
      const once = generate('webgpu', 'Once upon a time');
      expect(once.status, once.stderr).toBe(0);
      expect(once.stdout.startsWith(expected), once.stdout).toBe(true);
      const prompt = 'Lily and Ben went to the park';
      const onGpu = generate('webgpu', prompt);
      expect(onGpu.status, onGpu.stderr).toBe(0);
      expect(onGpu.stdout).toBe(generate('reference', prompt).stdout);
    }, 300_000);

    it('samples reproducibly with a seed', () => {
      const args = [
        'generate',
        '--model',
        model,
        '--prompt',
        'Tom',
        '--temperature',
        '0.8',
        '--top-k',
        '20',
        '--seed',
        '42',
        '--max-new-tokens',
        '30',
      ];
      const first = rotor(args);
      expect(first.status, first.stderr).toBe(0);
      expect(rotor(args).stdout).toBe(first.stdout);
    });

    it('fails in one line on hostile model and tokenizer files', () => {
      const bytes = readFileSync(model);
      const truncated = join(temporary, 'truncated.bin');
      writeFileSync(truncated, bytes.subarray(0, 1000));
      expectOneLineError(rotor(['generate', '--model', truncated, '--tokenizer', tokenizer]), 1, /truncated/);
      const huge = join(temporary, 'huge.bin');
      const hugeBytes = bytes.slice();
      new DataView(hugeBytes.buffer).setInt32(0, 1 << 24, true);
      writeFileSync(huge, hugeBytes);
      expectOneLineError(
        rotor(['generate', '--model', huge, '--tokenizer', tokenizer]),
        1,
        /header field|truncated/,
      );
      const brokenTokenizer = join(temporary, 'tok.bin');
      writeFileSync(brokenTokenizer, readFileSync(tokenizer).subarray(0, 100));
      expectOneLineError(
        rotor(['generate', '--model', model, '--tokenizer', brokenTokenizer]),
        1,
        /tok\.bin|token/,
      );
    });

    it('fails in one line on bad flags and values', () => {
      expectOneLineError(rotor(['generate', '--model', model, '--bogus']), 2, /unknown option '--bogus'/);
      expectOneLineError(
        rotor(['generate', '--model', model, '--temperature', 'hot']),
        2,
        /--temperature: expected a number/,
      );
      expectOneLineError(
        rotor(['generate', '--model', model, '--max-new-tokens', '-1']),
        2,
        /--max-new-tokens/,
      );
      expectOneLineError(
        rotor(['generate', '--model', model, '--positional-encoding', '{oops']),
        2,
        /--positional-encoding/,
      );
      expectOneLineError(
        rotor(['generate', '--model', join(temporary, 'missing.bin')]),
        1,
        /missing\.bin: cannot read \(no such file\)/,
      );
      expectOneLineError(
        rotor(['generate', '--model', model, '--backend', 'quantum']),
        1,
        /backend: expected one of auto/,
      );
      expectOneLineError(
        rotor(['generate', '--model', model, '--max-new-tokens', '9999']),
        1,
        /exceeds the context/,
      );
      expectOneLineError(rotor(['frobnicate']), 2, /unknown command/);
    });
  },
);

describeWithFixtures('rotor tokenize', ['stories260K/tok512.bin'], () => {
  it('prints ids separated by single spaces', () => {
    const result = rotor(['tokenize', '--tokenizer', tokenizer, '--add-special'], 'Once upon a time');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('1 403 407 261 378\n');
  });

  it('reads and writes JSON lines', () => {
    const result = rotor(
      ['tokenize', '--tokenizer', tokenizer, '--jsonl'],
      '"Once upon a time"\n""\n"Lily and Tom"\n',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('[403,407,261,378]\n[]\n[317,269,274,287]\n');
  });

  it('fails in one line on a line that is not a JSON string', () => {
    expectOneLineError(
      rotor(['tokenize', '--tokenizer', tokenizer, '--jsonl'], '"ok"\nnope\n'),
      2,
      /stdin line 2/,
    );
    expectOneLineError(rotor(['tokenize'], ''), 2, /--tokenizer/);
  });
});

const LLAMA_CPP_VOCABULARIES = ['llama-spm', 'gpt-2', 'bert-bge'];

describeWithFixtures(
  'rotor tokenize on GGUF vocabularies',
  LLAMA_CPP_VOCABULARIES.flatMap((name) => [
    `tokenizers/llama-cpp/ggml-vocab-${name}.gguf`,
    `tokenizers/llama-cpp/ggml-vocab-${name}.gguf.inp`,
    `tokenizers/llama-cpp/ggml-vocab-${name}.gguf.out`,
  ]),
  () => {
    for (const name of LLAMA_CPP_VOCABULARIES) {
      const vocabulary = fixturePath(`tokenizers/llama-cpp/ggml-vocab-${name}.gguf`);
      it(`passes every llama.cpp vector of ${name} with --jsonl`, () => {
        const inputs = readFileSync(`${vocabulary}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
        inputs.pop();
        const expected = readFileSync(`${vocabulary}.out`, 'utf8')
          .split('\n')
          .slice(0, inputs.length)
          .map((line) => `[${line.trim().split(' ').filter(Boolean).join(',')}]`);
        const result = rotor(
          ['tokenize', '--tokenizer', vocabulary, '--jsonl'],
          `${inputs.map((text) => JSON.stringify(text)).join('\n')}\n`,
        );
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout.trimEnd().split('\n')).toEqual(expected);
      });
    }

    it('adds the special tokens of each vocabulary with --add-special', () => {
      const expectations: [string, string][] = [
        ['llama-spm', '1 15043 3186\n'],
        ['gpt-2', '15496 995\n'],
        ['bert-bge', '101 7592 2088 102\n'],
      ];
      for (const [name, ids] of expectations) {
        const vocabulary = fixturePath(`tokenizers/llama-cpp/ggml-vocab-${name}.gguf`);
        const result = rotor(['tokenize', '--tokenizer', vocabulary, '--add-special'], 'Hello world');
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toBe(ids);
      }
    });

    it('fails in one line on a damaged GGUF file', () => {
      const damaged = join(temporary, 'damaged.gguf');
      const bytes = readFileSync(fixturePath('tokenizers/llama-cpp/ggml-vocab-gpt-2.gguf'));
      writeFileSync(damaged, bytes.subarray(0, 5000));
      expectOneLineError(rotor(['tokenize', '--tokenizer', damaged], 'x'), 1, /damaged\.gguf byte \d+/);
    });
  },
);

describe('rotor', () => {
  it('prints help without error', () => {
    const result = rotor(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/generate/);
  });
});
