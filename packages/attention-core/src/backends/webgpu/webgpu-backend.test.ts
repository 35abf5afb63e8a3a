import {
  type Backend,
  BackendUnavailableError,
  DeviceLostError,
  InvalidArgumentError,
  type ScoreBiasDescriptor,
  t5RelativeBucket,
} from '@rotor/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { kernelCase, output, Random } from '../../conformance/build.js';
import { runConformanceCase } from '../../conformance/index.js';
import { createDefaultBackendRegistry } from '../../default-registry.js';
import { createNodeGpu } from '../../node/index.js';
import { t5BucketCount, t5BucketTables } from './attention.js';
import { type WebGpuBackend, webgpuBackend } from './webgpu-backend.js';

// Module scope keeps Dawn's instance alive for the whole file.
const gpu = await createNodeGpu();
const factory = webgpuBackend({ gpu });
const probe = await factory.probe();
const created: Backend[] = [];

/** A fresh backend, or a capability skip when this machine has no WebGPU adapter (never under CI=true). */
async function gpuBackend(context: TestContext, options = {}): Promise<WebGpuBackend | undefined> {
  if (!probe.available && process.env.CI !== 'true') {
    context.skip(`skipped by capability: no WebGPU adapter here: ${probe.reason}`);
    return undefined;
  }
  const backend = (await webgpuBackend({ gpu, ...options }).create()) as WebGpuBackend;
  created.push(backend);
  return backend;
}

afterAll(() => {
  for (const backend of created) backend.destroy();
});

describe('webgpu probe and selection', () => {
  it('is unavailable, with the reason, without navigator.gpu or an injected GPU', async () => {
    const result = await webgpuBackend().probe();
    expect(result.available).toBe(false);
    expect(result.reason).toMatch(/no navigator\.gpu/);
    await expect(webgpuBackend().create()).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('is unavailable, with the reason, when requestAdapter finds no adapter', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    const result = await webgpuBackend({ gpu: noAdapter }).probe();
    expect(result).toEqual({ available: false, reason: expect.stringMatching(/no WebGPU adapter/) });
  });

  it('auto selection skips a software adapter unless allowed, and says why', async (context) => {
    if ((await gpuBackend(context)) === undefined) return;
    const skipped = await createDefaultBackendRegistry({ gpu }).select('auto');
    expect(skipped.steps[0]).toEqual({
      name: 'webgpu',
      chosen: false,
      reason: expect.stringMatching(/software adapter/),
    });
    skipped.backend.destroy();
    const allowed = await createDefaultBackendRegistry({ gpu, allowSoftwareAdapter: true }).select('auto');
    expect(allowed.backend.name).toBe('webgpu');
    allowed.backend.destroy();
  });

  it('auto selection in plain Node skips webgpu and says why', async () => {
    const { backend, steps } = await createDefaultBackendRegistry().select('auto');
    try {
      expect(steps[0]).toEqual({
        name: 'webgpu',
        chosen: false,
        reason: expect.stringMatching(/navigator\.gpu/),
      });
      expect(backend.name).not.toBe('webgpu');
    } finally {
      backend.destroy();
    }
  });

  it('names the adapter and marks SwiftShader as a software adapter', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    expect(backend.description).toMatch(/^WebGPU on /);
    expect(backend.kernelTuning).toBe(backend.software ? 'software' : 'hardware');
    if (/swiftshader/i.test(backend.description)) {
      expect(backend.software).toBe(true);
      expect(backend.description).toMatch(/correctness only/);
    }
  });

  it('rejects an unknown kernelTuning', () => {
    expect(() => webgpuBackend({ kernelTuning: 'fast' as 'auto' })).toThrow(InvalidArgumentError);
    expect(() => webgpuBackend({ kernelTuning: 'fast' as 'auto' })).toThrow(
      'webgpuBackend: options.kernelTuning: expected one of auto, hardware, software, found "fast"',
    );
  });
});

describe('webgpu engine', () => {
  it('keeps results right across more dispatches than one batch of uniform slots holds', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(Float32Array.from([0, 1, 2]), [3]);
    const one = backend.upload(Float32Array.from([1, 1, 1]), [3]);
    for (let step = 0; step < 1200; step++) backend.run('add', { a: x, b: one }, {}, x);
    expect([...(await backend.read(x))]).toEqual([1200, 1201, 1202]);
  });

  it('runs in place when both inputs are out itself', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(Float32Array.from([1, -2, 3]), [3]);
    backend.run('mul', { a: x, b: x }, {}, x);
    backend.run('add', { a: x, b: x }, {}, x);
    expect([...(await backend.read(x))]).toEqual([2, 8, 18]);
  });

  it('grows the aux arena for a call with many ids', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const table = backend.upload(Float32Array.from([10, 11, 20, 21, 30, 31]), [3, 2]);
    const ids = Array.from({ length: 40_000 }, (_, t) => t % 3);
    const out = backend.allocate([ids.length, 2]);
    backend.run('embedding', { table }, { ids }, out);
    const result = await backend.read(out);
    expect([...result.subarray(0, 6)]).toEqual([10, 11, 20, 21, 30, 31]);
    expect([...result.subarray(2 * 39_999)]).toEqual([10, 11]);
  });

  it('orders a host write after the kernels encoded before it', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(Float32Array.from([1, 2]), [2]);
    const out = backend.allocate([2]);
    backend.run('add', { a: x, b: x }, {}, out);
    backend.write(x, Float32Array.from([100, 200]));
    expect([...(await backend.read(out))]).toEqual([2, 4]);
    expect([...(await backend.read(x))]).toEqual([100, 200]);
  });

  it('disposes a tensor still used by pending kernels without a GPU error', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(Float32Array.from([1, 2]), [2]);
    const out = backend.allocate([2]);
    backend.run('silu', { x }, {}, out);
    backend.run('silu', { x }, {}, out);
    backend.dispose(x);
    await backend.sync();
    expect((await backend.read(out))[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('debug mode checks every dispatch and still computes the same results', async (context) => {
    const backend = await gpuBackend(context, { debug: true });
    if (!backend) return;
    const x = backend.upload(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const out = backend.allocate([2, 2]);
    backend.run('softmax', { x }, {}, out);
    backend.run('softmax', { x: out }, {}, out);
    await backend.sync();
    // Row [a, b] -> [1 / (1 + e^(b - a)), ...]; twice.
    const first = 1 / (1 + Math.E);
    const second = 1 / (1 + Math.exp(1 - 2 * first));
    const result = await backend.read(out);
    expect(result[0]).toBeCloseTo(second, 6);
    expect(result[2]).toBeCloseTo(second, 6);
  });
});

describe('webgpu kernels at sizes past one workgroup, with both kernel tunings', () => {
  const compare = async (context: TestContext, testCase: ReturnType<typeof kernelCase>) => {
    for (const kernelTuning of ['hardware', 'software'] as const) {
      const backend = await gpuBackend(context, { kernelTuning });
      if (!backend) return;
      expect(backend.kernelTuning).toBe(kernelTuning);
      await runConformanceCase(backend, testCase);
    }
  };

  for (const [K, N] of [
    [1000, 300],
    [1001, 67],
    [4, 1],
    [3, 129],
  ]) {
    it(`GEMV: M = 1, K = ${K}, N = ${N} with bias (${K % 4 === 0 ? 'vec4' : 'scalar'} loads)`, async (context) => {
      const random = new Random(`webgpu gemv ${K} ${N}`);
      await compare(
        context,
        kernelCase('matmul', 'gemv', {
          inputs: { x: random.tensor([1, K]), w: random.tensor([N, K]), bias: random.tensor([N]) },
          attrs: {},
          out: output([1, N]),
        }),
      );
    });
  }

  it('GEMV on views of larger buffers (vec4 bindings cover only the view)', async (context) => {
    for (const kernelTuning of ['hardware', 'software'] as const) {
      const backend = await gpuBackend(context, { kernelTuning });
      if (!backend) return;
      const x = backend.view(backend.upload(Float32Array.from([1, 2, 3, 4, 9, 9, 9, 9]), [2, 4]), [1, 4]);
      const w = backend.upload(Float32Array.from([1, 0, 0, 0, 0, 1, 1, 1]), [2, 4]);
      const out = backend.view(backend.allocate([8]), [1, 2]);
      backend.run('matmul', { x, w }, {}, out);
      expect([...(await backend.read(out))]).toEqual([1, 9]);
    }
  });

  it('GEMM: M = 37, K = 70, N = 45 (partial tiles on every edge)', async (context) => {
    const random = new Random('webgpu gemm');
    await compare(
      context,
      kernelCase('matmul', 'gemm', {
        inputs: { x: random.tensor([37, 70]), w: random.tensor([45, 70]) },
        attrs: {},
        out: output([37, 45]),
      }),
    );
  });

  it('rmsNorm, layerNorm and softmax over rows of 1000', async (context) => {
    const random = new Random('webgpu rows');
    const x = random.tensor([3, 1000], -4, 4);
    const weight = random.tensor([1000]);
    await compare(
      context,
      kernelCase('rmsNorm', 'rms', {
        inputs: { x, weight },
        attrs: { epsilon: 1e-5 },
        out: output([3, 1000]),
      }),
    );
    await compare(
      context,
      kernelCase('layerNorm', 'ln', {
        inputs: { x, weight, bias: random.tensor([1000]) },
        attrs: { epsilon: 1e-5 },
        out: output([3, 1000]),
      }),
    );
    await compare(
      context,
      kernelCase('softmax', 'softmax', { inputs: { x }, attrs: {}, out: output([3, 1000]) }),
    );
  });

  const biases: [string, (random: Random, H: number) => ScoreBiasDescriptor | undefined][] = [
    ['no bias', () => undefined],
    [
      'ALiBi',
      (_random, H) => ({ type: 'alibi', slopes: Float32Array.from({ length: H }, (_, h) => 2 ** -(h + 1)) }),
    ],
    [
      'T5 (distances past maxDistance)',
      (random, H) => ({
        type: 't5',
        numBuckets: 32,
        maxDistance: 64,
        bidirectional: false,
        table: random.tensor([32 * H], -2, 2).data as Float32Array,
      }),
    ],
  ];
  for (const [label, bias] of biases) {
    it(`attention over 290 keys (several key blocks), GQA 4/2, Dh 80, ${label}`, async (context) => {
      const random = new Random(`webgpu attention ${label}`);
      const scoreBias = bias(random, 4);
      await compare(
        context,
        kernelCase('attention', label, {
          inputs: {
            q: random.tensor([2, 3, 320]),
            k: random.tensor([2, 300, 160]),
            v: random.tensor([2, 300, 160]),
          },
          attrs: {
            numHeads: 4,
            numKvHeads: 2,
            headDim: 80,
            kvOffset: 287,
            causal: true,
            validLengths: [290, 130],
            ...(scoreBias ? { scoreBias } : {}),
          },
          out: output([2, 3, 320]),
        }),
      );
    });
  }
});

describe('webgpu T5 bucket tables', () => {
  it('agree with t5RelativeBucket at every distance, clamped past the table', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 2, max: 64 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 600 }),
        (bidirectional, halfBuckets, extra, S) => {
          const numBuckets = bidirectional ? 2 * halfBuckets : halfBuckets;
          const maxExact = Math.floor((bidirectional ? halfBuckets : numBuckets) / 2);
          const bias = {
            type: 't5' as const,
            numBuckets,
            maxDistance: maxExact + extra,
            bidirectional,
            table: new Float32Array(0),
          };
          const count = t5BucketCount(bias, S);
          const tables = t5BucketTables(bias, count);
          for (let distance = 0; distance < S; distance++) {
            const clamped = Math.min(distance, count - 1);
            expect(tables[clamped]).toBe(
              t5RelativeBucket(-distance, bidirectional, numBuckets, bias.maxDistance),
            );
            expect(tables[count + clamped]).toBe(
              t5RelativeBucket(distance, bidirectional, numBuckets, bias.maxDistance),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('webgpu device loss', () => {
  it('turns every later call into DeviceLostError with the reason', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(Float32Array.from([1, 2, 3]), [3]);
    const out = backend.allocate([3]);
    backend.run('silu', { x }, {}, out);
    await backend.sync();
    backend.run('silu', { x: out }, {}, out);
    backend.device.destroy();

    const syncError = await backend.sync().catch((error: unknown) => error);
    expect(syncError).toBeInstanceOf(DeviceLostError);
    expect((syncError as DeviceLostError).message).toMatch(/device was lost \(destroyed/);
    expect(() => backend.run('silu', { x }, {}, out)).toThrow(DeviceLostError);
    expect(() => backend.run('silu', { x }, {}, out)).toThrow(/webgpu silu: the GPU device was lost/);
    await expect(backend.read(out)).rejects.toBeInstanceOf(DeviceLostError);
    expect(() => backend.allocate([2])).toThrow(DeviceLostError);
    expect(() => backend.upload(Float32Array.from([1]), [1])).toThrow(DeviceLostError);
  });

  it('rejects a read in flight when the device is lost', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const x = backend.upload(new Float32Array(1024).fill(1), [1024]);
    const reading = backend.read(x);
    backend.device.destroy();
    await expect(reading).rejects.toBeInstanceOf(DeviceLostError);
  });
});
