import { describe, expect, it } from 'vitest';
import { onnxMatmulPeer } from './onnx-matmul.js';
import { matmulCase } from './suites/kernel-cases.js';

describe('onnxMatmulPeer', () => {
  it('builds a one-MatMul ONNX graph that onnxruntime-web runs to x · wᵀ', async () => {
    const c = matmulCase(3, 5, 7);
    const peer = onnxMatmulPeer(1);
    expect(peer.supports(c)).toBe(true);
    const variant = await peer.prepare(c);
    try {
      const x = c.inputs.x.data;
      const w = c.inputs.w.data;
      const expected = new Float32Array(3 * 5);
      for (let m = 0; m < 3; m++)
        for (let n = 0; n < 5; n++) {
          let sum = 0;
          for (let k = 0; k < 7; k++) sum += x[m * 7 + k] * w[n * 7 + k];
          expected[m * 5 + n] = sum;
        }
      expect(variant.output).toHaveLength(15);
      for (let i = 0; i < 15; i++) expect(variant.output[i]).toBeCloseTo(expected[i], 5);
      const timing = await variant.time({ warmup: 0, minRuns: 2, minTimeMs: 0 });
      expect(timing.runs).toBeGreaterThanOrEqual(2);
    } finally {
      await variant.dispose();
    }
  });
});
