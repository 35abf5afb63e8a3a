import { createReferenceBackend } from '@rotor/attention-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../results.js';
import type { SuiteContext } from '../suite.js';
import { type KernelCase, type KernelPeer, kernelTask, matmulCase } from './kernel-cases.js';

const reference = createReferenceBackend();
afterAll(() => reference.destroy());

function context(results: BenchResult[]): SuiteContext {
  return {
    quick: true,
    environment: 'node',
    backends: [reference],
    threads: 1,
    fixtures: '',
    limits: async () => undefined,
    record: (r) => results.push(r),
  };
}

/** A peer whose output is the reference's, optionally corrupted at one element. */
function fakePeer(corrupt: boolean): KernelPeer {
  return {
    name: 'peer',
    threads: 1,
    supports: (c) => c.kernel === 'matmul',
    async prepare(c: KernelCase) {
      const [m, k] = c.inputs.x.shape;
      const [n] = c.inputs.w.shape;
      const output = new Float32Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let l = 0; l < k; l++) sum += c.inputs.x.data[i * k + l] * c.inputs.w.data[j * k + l];
          output[i * n + j] = sum;
        }
      if (corrupt) output[3] += 0.5;
      return {
        output,
        time: async () => ({ median: 1, min: 1, max: 1, spread: 0, runs: 1 }),
        dispose: () => {},
      };
    },
  };
}

describe('kernelTask', () => {
  it('times every backend and peer that agree with the reference', async () => {
    const results: BenchResult[] = [];
    await kernelTask(matmulCase(4, 8, 16), [fakePeer(false)]).run(context(results));
    const throughput = results.filter((r) => r.metric === 'throughput');
    expect(throughput.map((r) => r.backend)).toEqual(['reference', 'peer']);
    // 2·4·8·16 flops in the peer's 1 ms.
    expect(throughput[1]).toMatchObject({ value: 1024 / 1e6, threads: 1, baselineName: 'reference' });
  });

  it('reports a peer that disagrees as a validation failure and never times it', async () => {
    const results: BenchResult[] = [];
    await kernelTask(matmulCase(4, 8, 16), [fakePeer(true)]).run(context(results));
    const failure = results.find((r) => r.backend === 'peer');
    expect(failure).toMatchObject({ metric: 'validation', value: 0 });
    expect(failure?.note).toMatch(/gemm 4x8x16 on peer: error .* at 3 exceeds/);
    expect(results.some((r) => r.backend === 'peer' && r.metric === 'throughput')).toBe(false);
  });

  it('reports a variant that throws instead of ending the run', async () => {
    const results: BenchResult[] = [];
    const broken: KernelPeer = {
      ...fakePeer(false),
      prepare: async () => {
        throw new TypeError('no such kernel');
      },
    };
    await kernelTask(matmulCase(2, 2, 2), [broken]).run(context(results));
    expect(results.find((r) => r.backend === 'peer')).toMatchObject({
      metric: 'validation',
      note: 'failed: TypeError: no such kernel',
    });
  });
});
