/**
 * `@rotor/attention-core`: Rotor's compute backends. The conformance suite every backend must pass
 * is the `@rotor/attention-core/conformance` subpath.
 */
export {
  createReferenceBackend,
  REFERENCE_CAPABILITIES,
  referenceBackend,
} from './backends/reference/reference-backend.js';
export {
  dequantizeBlocks,
  floatToHalf,
  halfToFloat,
  QUANTIZED_DTYPES,
  type QuantizedDType,
  quantizeBlocks,
} from './backends/shared/quantized.js';
export type { WasmWorker, WasmWorkerFactory } from './backends/wasm/thread-pool.js';
export { createWasmBackend, type WasmBackendOptions, wasmBackend } from './backends/wasm/wasm-backend.js';
export {
  type GpuKernelLimits,
  WEBGPU_F32_TOLERANCE,
  type WebGpuBackend,
  type WebGpuBackendOptions,
  webgpuBackend,
} from './backends/webgpu/webgpu-backend.js';
export { createDefaultBackendRegistry } from './default-registry.js';
