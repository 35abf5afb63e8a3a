/**
 * Kernels on every backend: the machine's limits first, then matvec (decode, memory-bound), GEMM
 * (prefill, compute-bound; cubes and the 110M model's prefill shapes) and decode attention over a
 * KV cache, each validated against the reference before it is timed. onnxruntime-web's MatMul runs
 * the matmul cases at the same thread count, and our backends' GFLOP/s carry the ratio against it.
 */
import { onnxMatmulPeer } from '../onnx-matmul.js';
import type { Suite, SuiteContext } from '../suite.js';
import { kernelCases, kernelTask } from './kernel-cases.js';

export const kernelsSuite: Suite = {
  name: 'kernels',
  tasks({ quick, threads }) {
    const peers = [onnxMatmulPeer(threads)];
    return [
      { name: 'machine limits', run: async (context: SuiteContext) => void (await context.limits()) },
      ...kernelCases(quick).map((c) => kernelTask(c, peers)),
    ];
  },
};
