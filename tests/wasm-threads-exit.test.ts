/**
 * A Node process that used a multi-threaded WASM backend exits on its own when its work is done,
 * without `destroy()`: idle pool workers must not keep it alive (built package, fresh process).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repositoryRoot } from '@rotor-internal/testing';
import { expect, it } from 'vitest';

const entry = pathToFileURL(join(repositoryRoot, 'packages/attention-core/dist/index.js')).href;

it('exits once a 2-thread WASM backend is idle, without destroy()', () => {
  const script = `
    const { createWasmBackend } = await import(${JSON.stringify(entry)});
    const backend = await createWasmBackend({ threads: 2, minParallelWork: 0 });
    const w = backend.upload(new Float32Array(512 * 512).fill(1), [512, 512]);
    const x = backend.upload(new Float32Array(512).fill(1), [1, 512]);
    const out = backend.allocate([1, 512]);
    backend.run('matmul', { x, w }, {}, out);
    console.log(backend.capabilities.threads, (await backend.read(out))[511]);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.error, 'the process did not exit within 30 s').toBeUndefined();
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout.trim()).toBe('2 512');
});
