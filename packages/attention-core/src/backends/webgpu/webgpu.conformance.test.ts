import { afterAll, describe, expect, it } from 'vitest';
import { runConformanceSuite } from '../../conformance/index.js';
import { createNodeGpu } from '../../node/index.js';
import { webgpuBackend } from './webgpu-backend.js';

// Module scope keeps Dawn's instance alive for the whole file (createNodeGpu also holds it).
const gpu = await createNodeGpu();
const factory = webgpuBackend({ gpu });

const api = {
  describe,
  it: (name: string, body: (control: { skip(reason: string): void }) => Promise<void>) =>
    it(name, (context) => body({ skip: (reason) => context.skip(reason) })),
  afterAll,
};

describe('webgpu in Node (Dawn)', () => {
  it('finds an adapter (required under CI=true, where .ci/run installs chromium and libvulkan1)', async (context) => {
    const probe = await factory.probe();
    if (!probe.available && process.env.CI !== 'true') {
      context.skip(`skipped by capability: no WebGPU adapter here: ${probe.reason}`);
      return;
    }
    expect(probe).toEqual({ available: true });
  });
});

runConformanceSuite(factory, api);

// The adapter picks one tuning; the kernels whose programs depend on it run under the other too.
for (const kernelTuning of ['hardware', 'software'] as const) {
  describe(`kernelTuning ${kernelTuning}`, () => {
    runConformanceSuite(webgpuBackend({ gpu, kernelTuning }), api, {
      kernels: ['matmul', 'rmsNorm', 'layerNorm', 'softmax', 'attention'],
    });
  });
}

// Where the device has `subgroups`, hardware tuning's GEMV uses them; the workgroup-memory GEMV runs here.
describe('kernelTuning hardware without subgroups', () => {
  runConformanceSuite(
    webgpuBackend({ gpu, kernelTuning: 'hardware', kernelLimits: { subgroups: false } }),
    api,
    { kernels: ['matmul'] },
  );
});

// Each attention program on every attention case: thresholds of 1 send every call down the fast
// path whose preconditions hold; thresholds past any size keep the general program.
const ATTENTION_PATHS = {
  flash: { flashMinQueries: 1 },
  'split-KV': { flashMinQueries: 2 ** 30, splitKvMinKeys: 1, splitKvChunk: 2 },
  general: { flashMinQueries: 2 ** 30, splitKvMinKeys: 2 ** 30 },
} as const;
for (const [path, kernelLimits] of Object.entries(ATTENTION_PATHS)) {
  for (const kernelTuning of ['hardware', 'software'] as const) {
    describe(`attention forced to the ${path} program, kernelTuning ${kernelTuning}`, () => {
      runConformanceSuite(webgpuBackend({ gpu, kernelTuning, kernelLimits }), api, {
        kernels: ['attention'],
      });
    });
  }
}
