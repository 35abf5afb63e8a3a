import { BackendRegistry } from '@rotor/core';
import { referenceBackend } from './backends/reference/reference-backend.js';
import { wasmBackend } from './backends/wasm/wasm-backend.js';
import { webgpuBackend } from './backends/webgpu/webgpu-backend.js';

/**
 * A {@link BackendRegistry} holding every backend this package ships, in `auto` order (fastest
 * first: WebGPU, WASM-SIMD, then the reference backend as the fallback that always runs). WebGPU
 * probes unavailable, with its reason, when there is no `navigator.gpu` and no `options.gpu` (in
 * Node pass `createNodeGpu()` of `@rotor/attention-core/node`), so `auto` falls through. A software
 * WebGPU adapter is skipped too (it is slower than WASM) unless `allowSoftwareAdapter` is set, as a
 * caller does when the user picked WebGPU explicitly.
 */
export function createDefaultBackendRegistry(
  options: { gpu?: GPU; allowSoftwareAdapter?: boolean } = {},
): BackendRegistry {
  return new BackendRegistry()
    .register(webgpuBackend({ gpu: options.gpu, skipSoftwareAdapter: options.allowSoftwareAdapter !== true }))
    .register(wasmBackend())
    .register(referenceBackend());
}
