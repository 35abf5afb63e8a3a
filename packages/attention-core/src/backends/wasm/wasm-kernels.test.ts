/**
 * Remembered calls (`recall` in wasm-kernels.ts): a call repeated with the same handles skips
 * validation, so every change that validation would catch must still be caught, and every change
 * of a remembered attribute must still take effect.
 */
import { type Backend, isRotorError, type KernelAttrs, type TensorHandle } from '@rotor/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { createWasmBackend } from './wasm-backend.js';

function values(length: number, seed: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => Math.sin(seed + i * 0.37));
}

/** `run` throws a typed error whose message matches `pattern`. */
function expectError(pattern: RegExp, run: () => void): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(isRotorError(thrown), String(thrown)).toBe(true);
  expect((thrown as Error).message).toMatch(pattern);
}

async function expectClose(actual: Float32Array, expected: Float32Array): Promise<void> {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 5);
}

describe('wasm remembered kernel calls', () => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await createWasmBackend({ threads: 1 });
  });
  afterEach(() => backend.destroy());

  it('rejects a disposed input on a repeated matmul', () => {
    const x = backend.upload(values(8, 1), [1, 8]);
    const w = backend.upload(values(32, 2), [4, 8]);
    const out = backend.allocate([1, 4]);
    const inputs = { x, w };
    backend.run('matmul', inputs, {}, out);
    backend.run('matmul', inputs, {}, out);
    backend.dispose(x);
    expectError(/matmul: inputs\.x: expected a live tensor/, () => backend.run('matmul', inputs, {}, out));
  });

  it('validates a new handle of the same memory with another shape', () => {
    const x = backend.upload(values(16, 1), [2, 8]);
    const w = backend.upload(values(32, 2), [4, 8]);
    const out = backend.allocate([2, 4]);
    backend.run('matmul', { x, w }, {}, out);
    const narrow = backend.view(out, [2, 2, 2]);
    expectError(/matmul: out/, () => backend.run('matmul', { x, w }, {}, narrow));
    const wrongX = backend.view(x, [4, 4]);
    expectError(/matmul: inputs\.w shape/, () => backend.run('matmul', { x: wrongX, w }, {}, out));
  });

  it('applies a changed epsilon and rejects a non-finite one after a remembered rmsNorm', async () => {
    const reference = createReferenceBackend();
    const data = values(16, 3);
    const weight = values(8, 4);
    const results: Float32Array[] = [];
    for (const b of [backend, reference]) {
      const x = b.upload(data, [2, 8]);
      const w = b.upload(weight, [8]);
      const out = b.allocate([2, 8]);
      const inputs = { x, weight: w };
      b.run('rmsNorm', inputs, { epsilon: 1e-5 }, out);
      b.run('rmsNorm', inputs, { epsilon: 0.5 }, out);
      results.push(await b.read(out));
      expectError(/attrs\.epsilon/, () => b.run('rmsNorm', inputs, { epsilon: Number.NaN }, out));
    }
    await expectClose(results[0], results[1]);
    reference.destroy();
  });

  it('checks each writeRows offset against the remembered shapes', async () => {
    const src = backend.upload(values(4, 5), [1, 4]);
    const cache = backend.allocate([3, 4]);
    const inputs = { src };
    backend.run('writeRows', inputs, { rowOffset: 0 }, cache);
    backend.run('writeRows', inputs, { rowOffset: 2 }, cache);
    for (const rowOffset of [3, -1, 1.5, Number.NaN]) {
      expectError(/writeRows: attrs\.rowOffset/, () =>
        backend.run('writeRows', inputs, { rowOffset }, cache),
      );
    }
    const rows = await backend.read(cache);
    expect(Array.from(rows.subarray(0, 4))).toEqual(Array.from(rows.subarray(8, 12)));
  });

  it('checks each rotary position and attribute against the remembered call', async () => {
    const reference = createReferenceBackend();
    const angles = Float32Array.from({ length: 8 }, (_, i) => i * 0.1);
    const cosData = angles.map(Math.cos);
    const sinData = angles.map(Math.sin);
    const attrs: KernelAttrs<'applyRotary'> = {
      numHeads: 2,
      headDim: 4,
      rotaryDim: 4,
      layout: 'interleaved',
      positionOffset: 0,
    };
    const results: Float32Array[] = [];
    for (const b of [backend, reference]) {
      const x = b.upload(values(8, 6), [1, 1, 8]);
      const cos = b.upload(cosData, [4, 2]);
      const sin = b.upload(sinData, [4, 2]);
      const inputs = { x, cos, sin };
      for (const positionOffset of [0, 3, 1]) b.run('applyRotary', inputs, { ...attrs, positionOffset }, x);
      b.run('applyRotary', inputs, { ...attrs, layout: 'half-split', positionOffset: 2 }, x);
      b.run('applyRotary', inputs, { ...attrs, positionOffset: 3 }, x);
      results.push(await b.read(x));
      expectError(/inputs\.cos rows/, () => b.run('applyRotary', inputs, { ...attrs, positionOffset: 4 }, x));
      expectError(/inputs\.x width/, () => b.run('applyRotary', inputs, { ...attrs, numHeads: 4 }, x));
      expectError(/inputs\.cos shape/, () => b.run('applyRotary', inputs, { ...attrs, rotaryDim: 2 }, x));
    }
    await expectClose(results[0], results[1]);
    reference.destroy();
  });

  it('checks each attention offset and attribute against the remembered call', async () => {
    const reference = createReferenceBackend();
    const S = 6;
    const T = 2;
    const attrs: KernelAttrs<'attention'> = {
      numHeads: 2,
      numKvHeads: 1,
      headDim: 4,
      kvOffset: 0,
      causal: true,
    };
    const changes: Partial<KernelAttrs<'attention'>>[] = [
      { kvOffset: 4 },
      { kvOffset: 2, causal: false },
      { kvOffset: 2 },
      { kvOffset: 4, scale: 0.25 },
      { kvOffset: 4, scoreBias: { type: 'alibi', slopes: Float32Array.from([0.5, 0.25]) } },
      { kvOffset: 3, validLengths: [4] },
      { kvOffset: 3, sequenceStarts: [1] },
      { kvOffset: 1 },
    ];
    const results: Float32Array[] = [];
    for (const b of [backend, reference]) {
      const q = b.upload(values(T * 8, 7), [1, T, 8]);
      const k = b.upload(values(S * 4, 8), [1, S, 4]);
      const v = b.upload(values(S * 4, 9), [1, S, 4]);
      const out = b.allocate([1, T, 8]);
      const inputs = { q, k, v };
      b.run('attention', inputs, attrs, out);
      const outputs: number[] = [];
      for (const change of changes) {
        b.run('attention', inputs, { ...attrs, ...change }, out);
        outputs.push(...(await b.read(out)));
      }
      results.push(Float32Array.from(outputs));
      for (const kvOffset of [S - T + 1, -1, 0.5]) {
        expectError(/attention: attrs\.kvOffset/, () =>
          b.run('attention', inputs, { ...attrs, kvOffset }, out),
        );
      }
      expectError(/attention: inputs\.q width/, () =>
        b.run('attention', inputs, { ...attrs, numHeads: 4 }, out),
      );
      b.dispose(v);
      expectError(/inputs\.v: expected a live tensor/, () => b.run('attention', inputs, attrs, out));
    }
    await expectClose(results[0], results[1]);
    reference.destroy();
  });

  it('keeps separate remembered calls of different kernels keyed on one tensor', async () => {
    const a = backend.upload(values(8, 10), [8]);
    const out = backend.allocate([8]);
    const sums: number[] = [];
    for (let round = 0; round < 2; round++) {
      backend.run('silu', { x: a }, {}, out);
      backend.run('add', { a: out, b: a }, {}, out);
      backend.run('mul', { a: out, b: a }, {}, out);
      sums.push(...(await backend.read(out)));
    }
    expect(sums.slice(0, 8)).toEqual(sums.slice(8));
    const handle: TensorHandle = out;
    backend.dispose(handle);
    expectError(/silu: out: expected a live tensor/, () => backend.run('silu', { x: a }, {}, handle));
  });
});
