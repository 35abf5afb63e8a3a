import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Random } from '../../conformance/build.js';
import { createReferenceBackend } from '../../index.js';

const backend = createReferenceBackend();
const f = Math.fround;

async function run1(
  kernel: 'rmsNorm' | 'softmax' | 'matmul',
  x: Float32Array,
  shape: number[],
  extra: Record<string, Float32Array>,
  outShape: number[],
  attrs: Record<string, number> = {},
) {
  const inputs: Record<string, ReturnType<typeof backend.upload>> = { x: backend.upload(x, shape) };
  for (const [name, data] of Object.entries(extra)) {
    inputs[name] = backend.upload(data, name === 'w' ? [outShape[1], shape[1]] : [data.length]);
  }
  const out = backend.allocate(outShape);
  backend.run(kernel, inputs as never, attrs as never, out);
  return backend.read(out);
}

const row = (length: number, bound: number) =>
  fc.float32Array({
    minLength: length,
    maxLength: length,
    min: -bound,
    max: bound,
    noNaN: true,
    noDefaultInfinity: true,
  });

describe('reference numerics', () => {
  it('rmsNorm agrees with llama2.c rmsnorm computed in float32 to a few ulps', async () => {
    await fc.assert(
      fc.asyncProperty(row(64, 10), row(64, 2), async (x, weight) => {
        // run.c: ss = sum x²; ss /= n; ss += 1e-5f; ss = 1/sqrtf(ss); o = w * (ss * x), all in float.
        let ss = 0;
        for (const v of x) ss = f(ss + f(v * v));
        ss = f(1 / f(Math.sqrt(f(f(ss / 64) + f(1e-5)))));
        const out = await run1('rmsNorm', x, [1, 64], { weight }, [1, 64], { epsilon: 1e-5 });
        for (let i = 0; i < 64; i++) {
          const runC = f(weight[i] * f(ss * x[i]));
          expect(Math.abs(out[i] - runC)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(runC)));
        }
      }),
    );
  });

  it('matmul agrees with a float64 dot product rounded once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        async (M, K, N, seed) => {
          const random = new Random(`matmul ${seed}`);
          const x = random.tensor([M, K]).data as Float32Array;
          const w = random.tensor([N, K]).data as Float32Array;
          const out = await run1('matmul', x, [M, K], { w }, [M, N]);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let sum = 0;
              for (let k = 0; k < K; k++) sum += x[m * K + k] * w[n * K + k];
              expect(out[m * N + n]).toBe(f(sum));
            }
          }
        },
      ),
    );
  });

  it('softmax rows sum to 1 and do not change when a constant is added', async () => {
    await fc.assert(
      fc.asyncProperty(row(9, 50), fc.integer({ min: -1000, max: 1000 }), async (x, shift) => {
        const out = await run1('softmax', x, [1, 9], {}, [1, 9]);
        const shifted = await run1(
          'softmax',
          x.map((v) => v + shift),
          [1, 9],
          {},
          [1, 9],
        );
        expect(Math.abs(out.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
        for (let i = 0; i < 9; i++) expect(Math.abs(out[i] - shifted[i])).toBeLessThan(1e-4);
      }),
    );
  });
});
