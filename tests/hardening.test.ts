/**
 * Hostile text and long, interrupted and concurrent runs on a real model: defined behaviour,
 * typed errors, no leaks, never wrong tokens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDefaultBackendRegistry, type WebGpuBackend } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import { isRotorError } from '@rotor/core';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import {
  describeWithFixtures,
  expectOneLineError,
  fixturePath,
  type RotorRun,
  rotorBin,
  runRotor,
} from '@rotor-internal/testing';
import { expect, it } from 'vitest';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MODEL = 'stories260K/stories260K.bin';

/** Runs the CLI under python3, which reports the child's peak resident memory (getrusage). */
function runMeasured(args: string[]): { run: RotorRun; maxRssBytes: number } {
  const script =
    'import resource, subprocess, sys\n' +
    'r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n' +
    'sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n' +
    'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n' +
    'sys.exit(r.returncode)';
  const result = spawnSync('python3', ['-c', script, 'node', rotorBin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines = result.stderr.trimEnd().split('\n');
  const maxRssKiB = Number(lines.pop());
  return {
    run: {
      status: result.status,
      stdout: result.stdout,
      stderr: lines.length ? `${lines.join('\n')}\n` : '',
    },
    maxRssBytes: maxRssKiB * 1024,
  };
}
const TOKENIZER = 'stories260K/tok512.bin';
const load = (backend = 'wasm') =>
  loadLanguageModelFile(fixturePath(MODEL), { tokenizerPath: fixturePath(TOKENIZER), backend });

describeWithFixtures('hardening on stories260K', [MODEL, TOKENIZER, 'stories260K/stories260K.gguf'], () => {
  it('rejects a 10 MB prompt with a context-overflow error after encoding it', async () => {
    const { generator, tokenizer, dispose } = await load();
    const prompt = 'Once upon a time, there was a little girl. '.repeat(240_000);
    expect(tokenizer.encode(prompt).length).toBeGreaterThan(512);
    const error = await generator.generateText(prompt).catch((e: unknown) => e);
    expect(isRotorError(error, 'CONTEXT_OVERFLOW')).toBe(true);
    dispose();
  });

  it('handles NUL, lone surrogates and control characters in prompts', async () => {
    const { generator, dispose } = await load();
    for (const prompt of ['a\u0000b', 'x\uD800y', '\uDC00', '\u0007\u001b[31m', '\uFEFF\u200D']) {
      const text = await generator.generateText(prompt, { temperature: 0, maxNewTokens: 5 });
      expect(typeof text).toBe('string');
    }
    dispose();
  });

  it('aborts at random points of prefill and decode, and keeps giving the same greedy text', async () => {
    const { generator, dispose } = await load();
    const expected = await generator.generateText('Tom had a red ball', { temperature: 0, maxNewTokens: 40 });
    for (const stopAfter of [0, 1, 7, 23]) {
      const controller = new AbortController();
      if (stopAfter === 0) controller.abort();
      let count = 0;
      const error = await (async () => {
        for await (const _ of generator.generate('Tom had a red ball', {
          temperature: 0,
          maxNewTokens: 40,
          signal: controller.signal,
        })) {
          if (++count === stopAfter) controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(isRotorError(error, 'ABORTED'), String(error)).toBe(true);
      expect(count).toBe(stopAfter);
      expect(await generator.generateText('Tom had a red ball', { temperature: 0, maxNewTokens: 40 })).toBe(
        expected,
      );
    }
    dispose();
  });

  it('rejects a concurrent generation on the same model with a typed error', async () => {
    const { generator, dispose } = await load();
    const first = generator.generate('Once', { temperature: 0, maxNewTokens: 10 });
    await first.next();
    const error = await generator.generateText('Twice').catch((e: unknown) => e);
    expect(isRotorError(error)).toBe(true);
    await first.return(undefined);
    dispose();
  });

  it('runs 1,000 sequential generations with a stable heap', async () => {
    const { generator, dispose } = await load();
    const heapAfter = async (runs: number) => {
      for (let i = 0; i < runs; i++)
        await generator.generateText('Lily', { temperature: 0.8, seed: i + 1, maxNewTokens: 4 });
      collectGarbage();
      return process.memoryUsage().heapUsed;
    };
    const warm = await heapAfter(100);
    const later = await heapAfter(900);
    dispose();
    // A leak of even 1 KiB per generation would add ~0.9 MiB over the 900 later runs.
    expect(later - warm).toBeLessThan(512 * 1024);
  }, 300_000);

  it('fails with DeviceLostError, never wrong tokens, when the WebGPU device is lost mid-generation', async () => {
    const gpu = await createNodeGpu().catch(() => undefined);
    const selection = await createDefaultBackendRegistry({ gpu, allowSoftwareAdapter: true })
      .select('webgpu')
      .catch((e: Error) => e);
    if (selection instanceof Error) {
      expect(process.env.CI, `webgpu is unavailable: ${selection.message}`).not.toBe('true');
      return;
    }
    const backend = selection.backend as WebGpuBackend;
    const reference = await load('reference');
    const expected = await reference.generator.generate('Once upon a time', {
      temperature: 0,
      maxNewTokens: 20,
    });
    const expectedTokens: number[] = [];
    for await (const piece of expected) expectedTokens.push(piece.token);
    reference.dispose();
    const model = await loadLanguageModelFile(fixturePath(MODEL), {
      tokenizerPath: fixturePath(TOKENIZER),
      backend,
    });
    const tokens: number[] = [];
    const error = await (async () => {
      for await (const piece of model.generator.generate('Once upon a time', {
        temperature: 0,
        maxNewTokens: 20,
      })) {
        tokens.push(piece.token);
        if (tokens.length === 5) backend.device.destroy();
      }
    })().catch((e: unknown) => e);
    expect(isRotorError(error, 'DEVICE_LOST'), String(error)).toBe(true);
    expect(tokens).toEqual(expectedTokens.slice(0, tokens.length));
  }, 120_000);

  it('rotor generate exits fast, in one line and in modest memory on hostile model and tokenizer files', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rotor-hostile-'));
    const checkpoint = readFileSync(fixturePath(MODEL));
    const tokenizer = readFileSync(fixturePath(TOKENIZER));
    const gguf = readFileSync(fixturePath('stories260K/stories260K.gguf'));
    const withInt32 = (bytes: Uint8Array, offset: number, value: number) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setInt32(offset, value, true);
      return copy;
    };
    const flipped = (bytes: Uint8Array) => bytes.map((b, i) => (i % 997 === 13 ? b ^ 0xff : b));
    const cases: [string, Uint8Array, 'model' | 'tokenizer'][] = [
      ['negative-layers.bin', withInt32(checkpoint, 8, -5), 'model'],
      ['huge-vocab.bin', withInt32(checkpoint, 20, 0x7fffffff), 'model'],
      ['flipped.gguf', flipped(gguf), 'model'],
      [
        'huge-dims.gguf',
        (() => {
          const copy = gguf.slice();
          for (let i = 24; i + 8 < 4096; i += 64) new DataView(copy.buffer).setUint32(i, 0xfffffff0, true);
          return copy;
        })(),
        'model',
      ],
      ['negative-length.tok', withInt32(tokenizer, 8, -100), 'tokenizer'],
      ['huge-max-length.tok', withInt32(tokenizer, 0, 0x7fffffff), 'tokenizer'],
      ['flipped.tok', flipped(tokenizer), 'tokenizer'],
    ];
    for (const [name, bytes, kind] of cases) {
      const path = join(directory, name);
      writeFileSync(path, bytes);
      const args =
        kind === 'model'
          ? ['--model', path, '--tokenizer', fixturePath(TOKENIZER)]
          : ['--model', fixturePath(MODEL), '--tokenizer', path];
      const start = performance.now();
      const { run, maxRssBytes } = runMeasured([
        'generate',
        ...args,
        '--prompt',
        'x',
        '--max-new-tokens',
        '5',
      ]);
      // A flipped-byte file may still load and generate: then it must simply succeed.
      if (run.status !== 0) expectOneLineError(run, 1, /./);
      expect(performance.now() - start, name).toBeLessThan(30_000);
      expect(maxRssBytes, name).toBeLessThan(400 * 2 ** 20);
    }
  });

  it('rotor generate exits in one line on hostile GGUF files', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rotor-hostile-'));
    const gguf = readFileSync(fixturePath('stories260K/stories260K.gguf'));
    const cases: [string, Uint8Array][] = [
      [
        'random-after-magic.gguf',
        Uint8Array.from({ length: 4096 }, (_, i) => (i < 4 ? gguf[i] : (i * 2654435761) >>> 24)),
      ],
      ['truncated.gguf', gguf.subarray(0, 700)],
      [
        'huge-count.gguf',
        (() => {
          const copy = gguf.slice();
          new DataView(copy.buffer).setUint32(8, 0xffffffff, true);
          new DataView(copy.buffer).setUint32(12, 0x7fffffff, true);
          return copy;
        })(),
      ],
    ];
    for (const [name, bytes] of cases) {
      const path = join(directory, name);
      writeFileSync(path, bytes);
      expectOneLineError(runRotor(['generate', '--model', path, '--prompt', 'x']), 1, /gguf|GGUF/);
    }
  });
});
