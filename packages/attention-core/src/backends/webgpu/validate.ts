/**
 * Tensor checks of the WebGPU backend. Kernel shapes and attrs are checked by the reference
 * backend's `validate*` functions and memory checks by the shared ones, so every backend rejects
 * the same inputs with the same errors.
 */
import { resolveOwned } from '../shared/memory-checks.js';
import { WEBGPU_BACKEND_NAME, WebGpuTensor } from './webgpu-tensor.js';

export { requireNoOverlap } from '../shared/memory-checks.js';

/**
 * The {@link WebGpuTensor} behind `handle`, checked to be a live tensor made by `owner`. A look-alike
 * object, a handle of another backend instance and a disposed tensor are all rejected.
 */
export function resolveTensor(where: string, what: string, handle: unknown, owner: object): WebGpuTensor {
  return resolveOwned(where, what, handle, owner, WebGpuTensor, WEBGPU_BACKEND_NAME);
}
