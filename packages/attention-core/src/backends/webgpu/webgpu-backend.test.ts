import {
  type Backend,
  BackendUnavailableError,
  DeviceLostError,
  InvalidArgumentError,
  type ScoreBiasDescriptor,
  t5RelativeBucket,
  UnsupportedError,
} from '@rotor/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { kernelCase, output, Random } from '../../conformance/build.js';
import { quantizedMatmulBound, runConformanceCase } from '../../conformance/index.js';
import type { CaseTensor } from '../../conformance/types.js';
import { createDefaultBackendRegistry } from '../../default-registry.js';
import { createNodeGpu } from '../../node/index.js';
import { floatToHalf, type QuantizedDType, quantizeBlocks } from '../shared/quantized.js';
import { t5BucketCount, t5BucketTables } from './attention.js';
import type { GpuEngine } from './engine.js';
import { rowChunks } from './row-chunks.js';
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

/** Program variants a backend compiled (the engine is private to the backend; tests peek). */
function compiledPrograms(backend: WebGpuBackend): string[] {
  return (Reflect.get(backend, 'engine') as GpuEngine).programs();
}

// SwiftShader compiles each program variant in seconds on a busy machine.
describe('webgpu flash-attention prefill and split-KV decode at sizes past one tile', {
  timeout: 60_000,
}, () => {
  interface Shape {
    B: number;
    T: number;
    S: number;
    H: number;
    Hkv: number;
    Dh: number;
    kvOffset: number;
    causal: boolean;
    validLengths?: number[];
    sequenceStarts?: number[];
  }
  const attentionCase = (label: string, shape: Shape, bias: (typeof biases)[number][1]) => {
    const { B, T, S, H, Hkv, Dh, ...attrs } = shape;
    const random = new Random(`webgpu ${label}`);
    const scoreBias = bias(random, H);
    return kernelCase('attention', label, {
      inputs: {
        q: random.tensor([B, T, H * Dh]),
        k: random.tensor([B, S, Hkv * Dh]),
        v: random.tensor([B, S, Hkv * Dh]),
      },
      attrs: { numHeads: H, numKvHeads: Hkv, headDim: Dh, ...attrs, ...(scoreBias ? { scoreBias } : {}) },
      out: output([B, T, H * Dh]),
    });
  };
  const prefills: [string, Shape][] = [
    [
      'causal, 37 queries (a partial query tile), Dh 80 (12-key tiles), GQA 4/2, left and right padding',
      {
        ...{ B: 2, T: 37, S: 300, H: 4, Hkv: 2, Dh: 80, kvOffset: 250, causal: true },
        ...{ validLengths: [287, 200], sequenceStarts: [5, 40] },
      },
    ],
    [
      'not causal, Dh 256 (4-key tiles), MQA 2/1',
      { B: 1, T: 20, S: 40, H: 2, Hkv: 1, Dh: 256, kvOffset: 0, causal: false },
    ],
    [
      'causal from slot 0, Dh 7, 50 queries',
      { B: 1, T: 50, S: 50, H: 3, Hkv: 3, Dh: 7, kvOffset: 0, causal: true },
    ],
  ];
  for (const [bias, make] of biases) {
    for (const [label, shape] of prefills) {
      it(`flash prefill: ${label}, ${bias}`, async (context) => {
        for (const kernelTuning of ['hardware', 'software'] as const) {
          const backend = await gpuBackend(context, { kernelTuning });
          if (!backend) return;
          await runConformanceCase(backend, attentionCase(`flash ${label} ${bias}`, shape, make));
          expect(compiledPrograms(backend).some((name) => name.startsWith('attention-flash-'))).toBe(true);
          expect(compiledPrograms(backend).some((name) => /^attention-\d/.test(name))).toBe(false);
        }
      });
    }
    it(`split-KV decode over 1051 keys (17 chunks of 64), MQA 4/1, Dh 64, left and right padding, ${bias}`, async (context) => {
      for (const kernelTuning of ['hardware', 'software'] as const) {
        const backend = await gpuBackend(context, { kernelTuning });
        if (!backend) return;
        const shape = {
          ...{ B: 3, T: 1, S: 1100, H: 4, Hkv: 1, Dh: 64, kvOffset: 1050, causal: true },
          ...{ validLengths: [1051, 700, 1051], sequenceStarts: [3, 650, 1051] },
        };
        await runConformanceCase(backend, attentionCase(`split ${bias}`, shape, make));
        const programs = compiledPrograms(backend);
        expect(programs.some((name) => name.startsWith('attention-split-'))).toBe(true);
        expect(programs.some((name) => name.startsWith('attention-combine-'))).toBe(true);
      }
    });
  }

  it('falls back to the general program below the thresholds and past the flash head width', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    const short = { B: 1, T: 2, S: 100, H: 2, Hkv: 2, Dh: 8, kvOffset: 90, causal: true };
    await runConformanceCase(
      backend,
      attentionCase('general short', short, () => undefined),
    );
    const wide = { B: 1, T: 6, S: 8, H: 1, Hkv: 1, Dh: 300, kvOffset: 2, causal: true };
    await runConformanceCase(
      backend,
      attentionCase('general wide', wide, () => undefined),
    );
    expect(compiledPrograms(backend).filter((name) => name.startsWith('attention'))).toEqual([
      expect.stringMatching(/^attention-\d+\//),
    ]);
  });
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

/**
 * A matmul case with weight `[N, K]` in `dtype` (rounded to f16 or quantised from random values),
 * checked against the reference.
 */
function matmulCase(label: string, dtype: 'f32' | 'f16' | QuantizedDType, M: number, K: number, N: number) {
  const random = new Random(`webgpu matmul ${label} ${dtype} ${M} ${K} ${N}`);
  const x = random.tensor([M, K], -2, 2);
  const values = random.tensor([N, K], -1, 1);
  const w: CaseTensor =
    dtype === 'f32'
      ? values
      : dtype === 'f16'
        ? { shape: [N, K], data: Uint16Array.from(values.data, floatToHalf), dtype }
        : { shape: [N, K], data: quantizeBlocks(values.data as Float32Array, dtype), dtype };
  return kernelCase('matmul', `${label}: ${dtype} M=${M} K=${K} N=${N}`, {
    inputs: { x, w, bias: random.tensor([N]) },
    attrs: {},
    out: output([M, N]),
    ...(dtype === 'f32' || dtype === 'f16'
      ? {}
      : { errorBound: quantizedMatmulBound(x.data as Float32Array, w.data as Uint8Array, dtype, M, K, N) }),
  });
}

// SwiftShader compiles each program variant in seconds on a busy machine.
describe('webgpu f16 matmul (two halves per word)', { timeout: 60_000 }, () => {
  // K = 1001: odd, so every other row starts mid-word; K = 1056 takes the vec4 GEMV.
  for (const [M, K] of [
    [1, 1001],
    [1, 1056],
    [19, 1001],
  ] as const) {
    it(`M = ${M}, K = ${K}, N = 70, both tunings, against the reference`, async (context) => {
      for (const kernelTuning of ['hardware', 'software'] as const) {
        const backend = await gpuBackend(context, { kernelTuning });
        if (!backend) return;
        await runConformanceCase(backend, matmulCase('large', 'f16', M, K, 70));
      }
    });
  }

  it('declares f16, pads an odd element count to whole words, views it, and reads and writes only f32', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    expect(backend.capabilities.dtypes).toContain('f16');
    // 3 halves: 6 bytes in an 8-byte buffer.
    await runConformanceCase(backend, matmulCase('three halves', 'f16', 2, 1, 3));
    const w = backend.upload(
      Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x8000]),
      [2, 3],
      'f16',
    );
    const x = backend.upload(Float32Array.from([2 ** 24, 1, 2]), [1, 3]);
    const one = backend.allocate([1, 1]);
    backend.run('matmul', { x, w: backend.view(w, [1, 3]) }, {}, one);
    expect([...(await backend.read(one))]).toEqual([2 ** 24 - 1]);
    expect(() => backend.write(w, new Float32Array(1))).toThrow(
      /tensor dtype: expected f32 or i32, found "f16"/,
    );
    await expect(backend.read(w)).rejects.toThrow(/webgpu read: tensor dtype: expected f32, found "f16"/);
    expect(() => backend.upload(new Uint8Array(12) as never, [2, 3], 'f16')).toThrow(/Uint16Array/);
    expect(() => backend.run('silu', { x: w }, {}, one)).toThrow(InvalidArgumentError);
  });
});

// SwiftShader compiles each program variant in seconds on a busy machine.
describe('webgpu quantized matmul (q8_0, q4_0 blocks read as raw words)', { timeout: 60_000 }, () => {
  // 33 blocks per row: odd, so every other row starts mid-word (34- and 18-byte blocks).
  for (const dtype of ['q8_0', 'q4_0'] as const) {
    for (const M of [1, 19]) {
      it(`${dtype}: M = ${M}, K = 1056, N = 70, both tunings, within the documented bound`, async (context) => {
        for (const kernelTuning of ['hardware', 'software'] as const) {
          const backend = await gpuBackend(context, { kernelTuning });
          if (!backend) return;
          await runConformanceCase(backend, matmulCase('large', dtype, M, 1056, 70));
        }
      });
    }
  }

  it('uploads a block count whose bytes are not a multiple of 4 (one q4_0 block: 18 bytes)', async (context) => {
    const backend = await gpuBackend(context);
    if (!backend) return;
    await runConformanceCase(backend, matmulCase('one block', 'q4_0', 1, 32, 1));
    await runConformanceCase(backend, matmulCase('three blocks', 'q8_0', 3, 32, 3));
  });
});

// SwiftShader compiles each program variant in seconds on a busy machine.
describe('webgpu subgroup GEMV (when the adapter has the subgroups feature)', { timeout: 60_000 }, () => {
  it('requests subgroups when the adapter has them, and uses them for the hardware GEMV', async (context) => {
    const backend = await gpuBackend(context, { kernelTuning: 'hardware' });
    if (!backend) return;
    const adapter = await gpu.requestAdapter();
    expect(backend.features.includes('subgroups')).toBe(adapter?.features.has('subgroups') === true);
    if (!backend.features.includes('subgroups')) {
      context.skip('skipped by capability: this adapter has no subgroups feature');
      return;
    }
    for (const [dtype, K, N] of [
      ['f32', 1000, 300],
      ['f32', 1001, 67],
      ['f16', 1056, 70],
      ['f16', 1001, 67],
      ['q8_0', 1056, 70],
      ['q4_0', 1056, 70],
    ] as const) {
      await runConformanceCase(backend, matmulCase('subgroup', dtype, 1, K, N));
    }
    const programs = compiledPrograms(backend).filter((name) => name.startsWith('matmul-gemv'));
    expect(programs.length).toBeGreaterThan(0);
    expect(programs.every((name) => name.startsWith('matmul-gemv-subgroup-'))).toBe(true);
  });

  it('kernelLimits.subgroups false keeps the workgroup-memory GEMV', async (context) => {
    const backend = await gpuBackend(context, {
      kernelTuning: 'hardware',
      kernelLimits: { subgroups: false },
    });
    if (!backend) return;
    await runConformanceCase(backend, matmulCase('no subgroups', 'f32', 1, 64, 9));
    expect(compiledPrograms(backend).some((name) => name.startsWith('matmul-gemv-16-'))).toBe(true);
    expect(compiledPrograms(backend).some((name) => name.includes('subgroup'))).toBe(false);
  });
});

describe('webgpu binding limits (kernelLimits.maxBindingBytes forced small)', { timeout: 60_000 }, () => {
  const limited = (context: TestContext, kernelTuning: 'hardware' | 'software' = 'software') =>
    gpuBackend(context, { kernelTuning, kernelLimits: { maxBindingBytes: 8192 } });

  const plan = (rows: number, bytesPerRow: number, maxBindingBytes: number) =>
    rowChunks({ kernel: 'matmul', name: 'inputs.w', rows, bytesPerRow }, maxBindingBytes, 256);

  it('plans row ranges at aligned offsets that each fit one binding', () => {
    expect(plan(10, 100, 1000)).toEqual([{ first: 0, rows: 10, range: undefined }]);
    // 384-byte rows: offsets must be multiples of 2 rows (768 bytes); 20 rows fit 8192 bytes.
    const chunks = plan(100, 384, 8192);
    expect(chunks.map((chunk) => chunk.rows)).toEqual([20, 20, 20, 20, 20]);
    for (const { range } of chunks) {
      expect(range?.offset ?? 0).toBe(((range?.offset ?? 0) / 256) * 256);
      expect(range?.bytes).toBeLessThanOrEqual(8192);
    }
    // 18-byte rows: 128-row steps; the last range's bytes are rounded up to whole words.
    expect(plan(300, 18, 4096).at(-1)).toEqual({
      first: 256,
      rows: 44,
      range: { offset: 4608, bytes: 792 },
    });
    // A limit that is not a whole number of words: rounding a range up must not pass it.
    for (const { range } of plan(1000, 2, 1023)) expect(range?.bytes).toBeLessThanOrEqual(1023);
  });

  for (const [dtype, K, N] of [
    ['f32', 96, 100],
    // 62-byte rows (odd K: every other row starts mid-word) keep offsets 256-aligned every 128 rows;
    // 128-byte rows take the vec4 GEMV.
    ['f16', 31, 300],
    ['f16', 64, 100],
    ['q8_0', 64, 150],
    ['q4_0', 64, 400],
  ] as const) {
    for (const M of [1, 5]) {
      it(`splits a ${dtype} weight [${N}, ${K}] over several bindings and matches the reference (M = ${M})`, async (context) => {
        for (const kernelTuning of ['hardware', 'software'] as const) {
          const backend = await limited(context, kernelTuning);
          if (!backend) return;
          expect(backend.kernelLimits.maxBindingBytes).toBe(8192);
          const bytes = N * K * { f32: 4, f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 }[dtype];
          expect(bytes).toBeGreaterThan(8192);
          await runConformanceCase(backend, matmulCase('split', dtype, M, K, N));
        }
      });
    }
  }

  /** Host lookup of table rows, the exact result (embedding copies, it does not round). */
  const lookup = (table: Float32Array, D: number, ids: readonly number[]) => {
    const out = new Float32Array(ids.length * D);
    ids.forEach((id, t) => {
      out.set(table.subarray(id * D, (id + 1) * D), t * D);
    });
    return out;
  };
  const randomTable = (V: number, D: number) =>
    Float32Array.from({ length: V * D }, (_, i) => Math.fround(Math.sin(i * 0.37) * 10 + i / 7));

  it('splits an embedding table over several bindings: ids in every chunk, the last partial one, repeats', async (context) => {
    const backend = await limited(context);
    if (!backend) return;
    // 96-byte rows, 8192-byte bindings: whole chunks of rows (80 when offsets align to 256 bytes),
    // the last one partial.
    const [V, D] = [300, 24];
    const chunks = rowChunks(
      { kernel: 'embedding', name: 'inputs.table', rows: V, bytesPerRow: 4 * D },
      8192,
      backend.device.limits.minStorageBufferOffsetAlignment,
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.at(-1)?.rows).toBeLessThan(chunks[0].rows);
    const data = randomTable(V, D);
    const table = backend.upload(data, [V, D]);
    // Both edges of every chunk, the last row, repeats (also of one id across the call), out of order.
    const edges = chunks.flatMap(({ first, rows }) => [first, first + rows - 1, first + (rows >> 1)]);
    const ids = [...edges, ...edges.slice().reverse(), V - 1, V - 1, 0, 0, chunks[1].first, 7];
    expect(ids.length * D * 4).toBeLessThanOrEqual(8192);
    const out = backend.allocate([ids.length, D]);
    backend.run('embedding', { table }, { ids }, out);
    expect(await backend.read(out)).toEqual(lookup(data, D, ids));
    // One id only (a decode step) reaches one chunk; its neighbours in out are left alone.
    const one = backend.upload(
      Float32Array.from({ length: 3 * D }, () => -1),
      [3, D],
    );
    backend.run('embedding', { table }, { ids: [V - 1, V - 2, chunks[1].first] }, one);
    expect(await backend.read(one)).toEqual(lookup(data, D, [V - 1, V - 2, chunks[1].first]));
  });

  it('matches the host lookup for random split tables and ids, or rejects an unsplittable table (property)', async (context) => {
    const backend = await limited(context);
    if (!backend) return;
    const alignment = backend.device.limits.minStorageBufferOffsetAlignment;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }).chain((D) =>
          fc.record({
            D: fc.constant(D),
            V: fc.integer({ min: 1, max: Math.floor(40_000 / (4 * D)) }),
            count: fc.integer({ min: 1, max: Math.floor(8192 / (4 * D)) }),
            seeds: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
          }),
        ),
        async ({ D, V, count, seeds }) => {
          const data = randomTable(V, D);
          const ids = Array.from({ length: count }, (_, t) => seeds[t % seeds.length] % V);
          const table = backend.upload(data, [V, D]);
          const out = backend.allocate([count, D]);
          try {
            // Rows whose aligned steps exceed one binding are rejected, with the planner's error.
            let planned: unknown;
            try {
              rowChunks(
                { kernel: 'embedding', name: 'inputs.table', rows: V, bytesPerRow: 4 * D },
                8192,
                alignment,
              );
            } catch (error) {
              planned = error;
            }
            if (planned !== undefined) {
              expect(() => backend.run('embedding', { table }, { ids }, out)).toThrow(
                (planned as Error).message,
              );
              return;
            }
            backend.run('embedding', { table }, { ids }, out);
            expect(await backend.read(out)).toEqual(lookup(data, D, ids));
          } finally {
            backend.dispose(table);
            backend.dispose(out);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('rejects an embedding table whose single row exceeds one binding', async (context) => {
    const backend = await limited(context);
    if (!backend) return;
    const table = backend.allocate([2, 2049]);
    const out = backend.allocate([1, 2049]);
    expect(() => backend.run('embedding', { table }, { ids: [1] }, out)).toThrow(UnsupportedError);
    expect(() => backend.run('embedding', { table }, { ids: [1] }, out)).toThrow(
      /^webgpu embedding: inputs\.table row size: expected \d+ rows? \(\d+ bytes.* within one storage binding of 8192 bytes, found "8196 bytes per row"$/,
    );
  });

  it('rejects other kernels whose tensor exceeds one binding, naming the tensor and the limit', async (context) => {
    const backend = await limited(context);
    if (!backend) return;
    const deviceLimit = backend.device.limits.maxStorageBufferBindingSize;
    const x = backend.allocate([10, 300]);
    expect(() => backend.run('softmax', { x }, {}, x)).toThrow(UnsupportedError);
    expect(() => backend.run('softmax', { x }, {}, x)).toThrow(
      `webgpu softmax: inputs.x [10, 300] f32 size: expected at most 8192 bytes in one storage binding (kernelLimits.maxBindingBytes; the device allows ${deviceLimit}), found 12000; this kernel binds it whole (only matmul weights and embedding tables are split across bindings)`,
    );
    // A KV cache [B, S, Hkv*Dh] past the limit: the case a long context meets first.
    const q = backend.allocate([1, 1, 64]);
    const k = backend.allocate([1, 128, 32]);
    const v = backend.allocate([1, 128, 32]);
    const out = backend.allocate([1, 1, 64]);
    const attrs = { numHeads: 4, numKvHeads: 2, headDim: 16, kvOffset: 0, causal: true };
    let error: unknown;
    try {
      backend.run('attention', { q, k, v }, attrs, out);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as UnsupportedError).message).toMatch(
      /^webgpu attention: inputs\.k \[1, 128, 32\] f32 size: expected at most 8192 bytes .* found 16384;/,
    );
    expect((error as UnsupportedError).details).toEqual({
      kernel: 'attention',
      tensor: 'inputs.k',
      shape: [1, 128, 32],
      bytes: 16384,
      maxBindingBytes: 8192,
    });
  });

  it('rejects a weight whose fewest aligned rows exceed one binding', async (context) => {
    const backend = await limited(context);
    if (!backend) return;
    // 102-byte q8_0 rows: offsets stay 256-aligned only every 128 rows (13056 bytes).
    const w = backend.allocate([200, 96], 'q8_0');
    const x = backend.allocate([1, 96]);
    const out = backend.allocate([1, 200]);
    expect(() => backend.run('matmul', { x, w }, {}, out)).toThrow(UnsupportedError);
    expect(() => backend.run('matmul', { x, w }, {}, out)).toThrow(/128 rows \(13056 bytes/);
  });

  it('never asks for a binding above the device limit, and rejects malformed limits', async (context) => {
    const backend = await gpuBackend(context, { kernelLimits: { maxBindingBytes: 2 ** 52 } });
    if (!backend) return;
    expect(backend.kernelLimits.maxBindingBytes).toBe(backend.device.limits.maxStorageBufferBindingSize);
    expect(() => webgpuBackend({ kernelLimits: { maxBindingBytes: 0 } })).toThrow(
      'webgpuBackend: options.kernelLimits.maxBindingBytes: expected a positive integer, found 0',
    );
    expect(() => webgpuBackend({ kernelLimits: { subgroups: 'yes' as unknown as boolean } })).toThrow(
      InvalidArgumentError,
    );
  });
});
