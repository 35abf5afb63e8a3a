/**
 * The page side of `browser.conformance.test.ts` (bundled by it with esbuild, never shipped): runs
 * the conformance kernel cases of a few kernels on the WebGPU backend (through `navigator.gpu`) and
 * the threaded WASM backend inside a real browser, and reports the raw outputs, so the test compares
 * them in Node with the reference backend's. Error cases run here through `runConformanceCase`.
 */
import type { Backend, KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import { conformanceCases } from '../../conformance/cases/index.js';
import { missingCapability } from '../../conformance/check.js';
import { runConformanceCase } from '../../conformance/runner.js';
import type { KernelCase } from '../../conformance/types.js';
import { createWasmBackend } from '../wasm/wasm-backend.js';
import { type WebGpuBackend, webgpuBackend } from './webgpu-backend.js';

/** Kernels the browser subset covers. */
export const BROWSER_KERNELS: readonly KernelName[] = ['matmul', 'rmsNorm', 'attention', 'applyRotary'];

/** Limits that send every attention case to a fast program: flash for T >= 2, split-KV for T = 1. */
export const FAST_ATTENTION_FORCED = Object.freeze({
  flashMinQueries: 2,
  splitKvMinKeys: 1,
  splitKvChunk: 2,
});

/** What one backend did in the page. */
export interface BrowserBackendReport {
  /** `webgpu`, `webgpu (hardware tuning)`, `webgpu (fast attention forced)` or `wasm`. */
  readonly label: string;
  /** Why the backend could not be created, when it could not. */
  readonly unavailable?: string;
  readonly description?: string;
  readonly threads?: number;
  readonly kernelTuning?: string;
  /** Output of each kernel case, keyed `kernel/name`. */
  readonly outputs: Record<string, number[]>;
  /** Each error case, keyed `kernel/name`: null when it passed, else the failure message. */
  readonly errorCases: Record<string, string | null>;
  /** Cases skipped by capability (a dtype the backend does not declare), keyed `kernel/name`. */
  readonly skipped?: readonly string[];
}

/** Everything the page reports. */
export interface BrowserReport {
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  readonly hasWebGpu: boolean;
  readonly backends: readonly BrowserBackendReport[];
}

/** Conformance cases of {@link BROWSER_KERNELS}. */
export function browserCases(): ReturnType<typeof conformanceCases> {
  return conformanceCases().filter((testCase) => BROWSER_KERNELS.includes(testCase.kernel));
}

/** The key of a case in a report. */
export function caseKey(testCase: { kernel: string; name: string }): string {
  return `${testCase.kernel}/${testCase.name}`;
}

/** Uploads a kernel case's inputs, runs it and reads its output (as the runner does). */
async function execute(backend: Backend, testCase: KernelCase): Promise<number[]> {
  const owned: TensorHandle[] = [];
  try {
    const inputs: Record<string, TensorHandle> = {};
    for (const [name, tensor] of Object.entries(testCase.inputs)) {
      inputs[name] = backend.upload(tensor.data, tensor.shape, tensor.dtype ?? 'f32');
      owned.push(inputs[name]);
    }
    let out: TensorHandle;
    if ('aliasOf' in testCase.out) {
      out = inputs[testCase.out.aliasOf];
    } else {
      const { shape, initial } = testCase.out;
      out = initial === undefined ? backend.allocate(shape) : backend.upload(initial, shape);
      owned.push(out);
    }
    backend.run(
      testCase.kernel,
      inputs as KernelInputs<KernelName>,
      testCase.attrs as KernelAttrs<KernelName>,
      out,
    );
    return Array.from(await backend.read(out));
  } finally {
    for (const tensor of owned) backend.dispose(tensor);
  }
}

async function runOn(label: string, create: () => Promise<Backend>): Promise<BrowserBackendReport> {
  let backend: Backend;
  try {
    backend = await create();
  } catch (error) {
    return { label, unavailable: String(error), outputs: {}, errorCases: {} };
  }
  const outputs: Record<string, number[]> = {};
  const errorCases: Record<string, string | null> = {};
  const skipped: string[] = [];
  try {
    for (const testCase of browserCases()) {
      if (missingCapability(testCase, backend.capabilities) !== undefined) {
        skipped.push(caseKey(testCase));
      } else if (testCase.kind === 'kernel') {
        outputs[caseKey(testCase)] = await execute(backend, testCase);
      } else {
        errorCases[caseKey(testCase)] = await runConformanceCase(backend, testCase).then(
          () => null,
          (error: unknown) => String(error),
        );
      }
    }
    return {
      label,
      description: backend.description,
      threads: backend.capabilities.threads,
      kernelTuning: (backend as Partial<WebGpuBackend>).kernelTuning,
      outputs,
      errorCases,
      skipped,
    };
  } finally {
    backend.destroy();
  }
}

/** Runs the subset on every backend, one after the other (in a browser page). */
export async function runBrowserConformance(): Promise<BrowserReport> {
  const backends = [
    await runOn('webgpu', () => webgpuBackend().create()),
    await runOn('webgpu (hardware tuning)', () => webgpuBackend({ kernelTuning: 'hardware' }).create()),
    await runOn('webgpu (fast attention forced)', () =>
      webgpuBackend({ kernelLimits: FAST_ATTENTION_FORCED }).create(),
    ),
    await runOn('wasm', () => createWasmBackend({ threads: 2 })),
  ];
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hasWebGpu: (navigator as { gpu?: unknown }).gpu !== undefined,
    backends,
  };
}
