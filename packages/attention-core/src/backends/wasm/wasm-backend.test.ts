import { isRotorError, type ScoreBiasDescriptor } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { quantizeBlocks } from '../shared/quantized.js';
import { createWasmBackend, wasmBackend } from './wasm-backend.js';

describe('wasm backend memory', () => {
  it('fails with UNSUPPORTED before passing its memory limit, and keeps working afterwards', async () => {
    const backend = await createWasmBackend({ threads: 1, maxMemoryBytes: 4 * 65536 });
    let thrown: unknown;
    try {
      backend.allocate([65536]);
    } catch (error) {
      thrown = error;
    }
    expect(isRotorError(thrown, 'UNSUPPORTED')).toBe(true);
    expect((thrown as Error).message).toMatch(/wasm allocate: memory: expected at most 262144 bytes/);
    const small = backend.upload(Float32Array.from([1, 2]), [2]);
    expect(Array.from(await backend.read(small))).toEqual([1, 2]);
    backend.destroy();
  });

  it('reuses released memory zero-filled', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    const first = backend.upload(new Float32Array(100).fill(7), [100]);
    backend.dispose(first);
    const second = backend.allocate([100]);
    expect((await backend.read(second)).every((value) => value === 0)).toBe(true);
    backend.destroy();
  });

  it('grows its memory for tensors larger than the initial pages', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    const size = 300_000;
    const data = Float32Array.from({ length: size }, (_, i) => i);
    const tensor = backend.upload(data, [size]);
    const copy = await backend.read(tensor);
    expect(copy[size - 1]).toBe(size - 1);
    backend.destroy();
  });
});

describe('wasm backend threads', () => {
  it('falls back to one thread, with one warning, when workers cannot start', async () => {
    const warnings: string[] = [];
    const backend = await createWasmBackend({
      threads: 2,
      workerFactory: () => {
        throw new Error('no workers here');
      },
      warn: (message) => warnings.push(message),
    });
    expect(backend.capabilities.threads).toBe(1);
    expect(backend.description).toMatch(/no workers here/);
    expect(warnings.length).toBeLessThanOrEqual(1);
    backend.destroy();
  });

  it('splits a large matvec across 2 threads with the same result as 1 thread', async () => {
    const K = 300;
    const N = 257;
    const x = Float32Array.from({ length: K }, (_, k) => Math.sin(k));
    const w = Float32Array.from({ length: N * K }, (_, e) => Math.cos(e * 0.37));
    const results: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const backend = await wasmBackend({ threads }).create();
      expect(backend.capabilities.threads).toBe(threads);
      const out = backend.allocate([1, N]);
      backend.run('matmul', { x: backend.upload(x, [1, K]), w: backend.upload(w, [N, K]) }, {}, out);
      results.push(await backend.read(out));
      backend.destroy();
    }
    expect(Array.from(results[1])).toEqual(Array.from(results[0]));
  });

  it('reads rows in strided groups, with the sums of eight consecutive rows', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    for (const dtype of ['f32', 'q8_0', 'q4_0'] as const) {
      // K = 302: f32 rows with a scalar tail (quantized rows hold whole 32-value blocks)
      for (const K of dtype === 'f32' ? [256, 288, 302, 512, 1024] : [256, 288, 512, 1024]) {
        const N = 8 * 8 * 2 + 8 + 3;
        const x = Float32Array.from({ length: K }, (_, k) => Math.sin(k));
        const w = Float32Array.from({ length: N * K }, (_, e) => Math.cos(e * 0.37));
        const bias = Float32Array.from({ length: N }, (_, n) => n / 7);
        const weights = (rows: Float32Array, count: number) =>
          dtype === 'f32'
            ? backend.upload(rows, [count, K])
            : backend.upload(quantizeBlocks(rows, dtype), [count, K], dtype);
        const xHandle = backend.upload(x, [1, K]);
        const out = backend.allocate([1, N]);
        backend.run('matmul', { x: xHandle, w: weights(w, N), bias: backend.upload(bias, [N]) }, {}, out);
        const whole = await backend.read(out);
        for (let n = 0; n < N; n += 8) {
          // eight rows (or the last few) alone: one block of consecutive rows (or single rows)
          const count = Math.min(8, N - n);
          const rows = {
            w: weights(w.subarray(n * K, (n + count) * K), count),
            bias: backend.upload(bias.subarray(n, n + count), [count]),
          };
          const block = backend.allocate([1, count]);
          backend.run('matmul', { x: xHandle, ...rows }, {}, block);
          expect(
            Array.from(await backend.read(block)),
            `${dtype} K ${K} rows ${n}..${n + count - 1}`,
          ).toEqual(Array.from(whole.subarray(n, n + count)));
        }
      }
    }
    backend.destroy();
  });

  it('runs every chunk on the calling thread when a worker never joins', async () => {
    // a worker that starts but never runs anything: the caller must claim every chunk and not wait
    const idle = () => {
      let listener: (message: unknown) => void = () => undefined;
      return {
        postMessage: () => setTimeout(() => listener('ready'), 0),
        onMessage: (registered: (message: unknown) => void) => {
          listener = registered;
        },
        onError: () => undefined,
        terminate: () => undefined,
      };
    };
    const K = 64;
    const N = 100;
    const x = Float32Array.from({ length: K }, (_, k) => Math.sin(k));
    const w = Float32Array.from({ length: N * K }, (_, e) => Math.cos(e * 0.37));
    const results: Float32Array[] = [];
    for (const options of [{ threads: 1 }, { threads: 2, minParallelWork: 0, workerFactory: idle }]) {
      const backend = await createWasmBackend(options);
      expect(backend.capabilities.threads).toBe(options.threads);
      const out = backend.allocate([1, N]);
      const inputs = { x: backend.upload(x, [1, K]), w: backend.upload(w, [N, K]) };
      for (let repeat = 0; repeat < 3; repeat++) backend.run('matmul', inputs, {}, out);
      results.push(await backend.read(out));
      backend.destroy();
    }
    expect(Array.from(results[1])).toEqual(Array.from(results[0]));
  });

  it('probes SIMD without compiling the kernels', async () => {
    expect(await wasmBackend().probe()).toEqual({ available: true });
  });
});

describe('default registry', () => {
  it('picks the wasm backend for auto, before the reference backend', async () => {
    const { createDefaultBackendRegistry } = await import('../../default-registry.js');
    const registry = createDefaultBackendRegistry();
    expect(registry.names.indexOf('wasm')).toBeLessThan(registry.names.indexOf('reference'));
    const { backend } = await registry.select('auto', { threads: 1 });
    expect(backend.name).toBe('wasm');
    backend.destroy();
  });
});

describe('wasm backend quantized weights', () => {
  it('repacks q8_0/q4_0 blocks: views of whole rows, 2 threads equal to 1, writes and reads rejected', async () => {
    const { quantizeBlocks } = await import('../shared/quantized.js');
    const M = 2;
    const K = 96;
    const N = 37;
    const x = Float32Array.from({ length: M * K }, (_, k) => Math.sin(k * 0.3));
    const w = Float32Array.from({ length: N * K }, (_, e) => Math.cos(e * 0.11) * 0.1);
    for (const dtype of ['q8_0', 'q4_0'] as const) {
      const blocks = quantizeBlocks(w, dtype);
      const results: Float32Array[] = [];
      for (const threads of [1, 2]) {
        const backend = await createWasmBackend({ threads, minParallelWork: 0 });
        expect(backend.capabilities.dtypes).toContain(dtype);
        const weights = backend.upload(blocks, [N, K], dtype);
        const xs = backend.upload(x, [M, K]);
        const out = backend.allocate([M, N]);
        backend.run('matmul', { x: xs, w: weights }, {}, out);
        results.push(await backend.read(out));
        const firstRows = backend.allocate([M, 5]);
        backend.run('matmul', { x: xs, w: backend.view(weights, [5, K]) }, {}, firstRows);
        const rows = await backend.read(firstRows);
        for (let m = 0; m < M; m++) {
          expect(Array.from(rows.subarray(m * 5, m * 5 + 5))).toEqual(
            Array.from(results[results.length - 1].subarray(m * N, m * N + 5)),
          );
        }
        expect(() => backend.write(weights, new Float32Array(1))).toThrow(
          /tensor dtype: expected f32 or i32/,
        );
        await expect(backend.read(weights)).rejects.toThrow(/tensor dtype: expected f32/);
        expect(() => backend.upload(blocks.subarray(1), [N, K], dtype)).toThrow(/data.length/);
        backend.destroy();
      }
      expect(Array.from(results[1])).toEqual(Array.from(results[0]));
    }
  });
});

describe('wasm backend flash attention', () => {
  // Shapes past the conformance cases': several key tiles (64 keys), partial query blocks and key
  // quads, GQA, head widths off the vector width; decode (T = 1) and prefill kernels.
  const cases = [
    { B: 2, T: 71, S: 150, H: 4, Hkv: 2, Dh: 64, kvOffset: 40, starts: [3, 0], lengths: [140, 111] },
    { B: 1, T: 130, S: 130, H: 2, Hkv: 1, Dh: 13, kvOffset: 0, starts: [66], lengths: undefined },
    { B: 2, T: 1, S: 150, H: 6, Hkv: 2, Dh: 20, kvOffset: 149, starts: [5, 0], lengths: [150, 97] },
    { B: 1, T: 1, S: 99, H: 3, Hkv: 3, Dh: 7, kvOffset: 98, starts: [0], lengths: undefined },
  ];
  for (const { B, T, S, H, Hkv, Dh, kvOffset, starts, lengths } of cases) {
    for (const bias of ['none', 'alibi', 't5'] as const) {
      it(`attention B ${B} T ${T} S ${S} Dh ${Dh}, ${bias}: 1 and 2 threads match the reference`, async () => {
        const { createReferenceBackend } = await import('../reference/reference-backend.js');
        const random = (length: number, seed: number) =>
          Float32Array.from({ length }, (_, e) => Math.sin(e * 12.9898 + seed) * 1.5);
        const q = random(B * T * H * Dh, 1);
        const k = random(B * S * Hkv * Dh, 2);
        const v = random(B * S * Hkv * Dh, 3);
        const scoreBias: ScoreBiasDescriptor | undefined =
          bias === 'alibi'
            ? { type: 'alibi', slopes: Float32Array.from({ length: H }, (_, h) => 0.5 ** (h + 1)) }
            : bias === 't5'
              ? {
                  type: 't5',
                  numBuckets: 8,
                  maxDistance: 40,
                  bidirectional: false,
                  table: random(8 * H, 4),
                }
              : undefined;
        const attrs = {
          numHeads: H,
          numKvHeads: Hkv,
          headDim: Dh,
          kvOffset,
          causal: true,
          sequenceStarts: starts,
          ...(lengths === undefined ? {} : { validLengths: lengths }),
          ...(scoreBias === undefined ? {} : { scoreBias }),
        };
        const results: Float32Array[] = [];
        for (const backend of [
          createReferenceBackend(),
          await createWasmBackend({ threads: 1 }),
          await createWasmBackend({ threads: 2, minParallelWork: 0 }),
        ]) {
          const out = backend.allocate([B, T, H * Dh]);
          const inputs = {
            q: backend.upload(q, [B, T, H * Dh]),
            k: backend.upload(k, [B, S, Hkv * Dh]),
            v: backend.upload(v, [B, S, Hkv * Dh]),
          };
          backend.run('attention', inputs, attrs, out);
          results.push(await backend.read(out));
          backend.destroy();
        }
        let worst = 0;
        for (let e = 0; e < results[0].length; e++) {
          const error = Math.abs(results[1][e] - results[0][e]) / (1 + Math.abs(results[0][e]));
          worst = Math.max(worst, error);
        }
        expect(worst).toBeLessThanOrEqual(1e-5);
        expect(Array.from(results[2])).toEqual(Array.from(results[1]));
      });
    }
  }
});
