/**
 * The WebGPU backend's tensor object: a GPU buffer plus a shape. Views share their allocation's
 * buffer from element 0 (the `Backend.view` contract), so two tensors of one allocation always
 * overlap unless one is empty.
 */
import type { Shape } from '@rotor/core';
import { type MemoryRange, OwnedTensor, type StoredDType, storageBytes } from '../shared/memory-checks.js';

/** Name every WebGPU backend reports. */
export const WEBGPU_BACKEND_NAME = 'webgpu';

/** Element types the WebGPU backend stores. */
export type WebGpuDType = StoredDType;

/** A tensor owned by one WebGPU backend instance. */
export class WebGpuTensor extends OwnedTensor<WebGpuTensor> {
  readonly backend = WEBGPU_BACKEND_NAME;

  constructor(
    owner: object,
    dtype: WebGpuDType,
    shape: Shape,
    private readonly storage: GPUBuffer,
    root?: WebGpuTensor,
  ) {
    super(owner, dtype, shape, root);
  }

  /** The GPU buffer holding the allocation; this tensor is its first {@link byteLength} bytes. */
  get buffer(): GPUBuffer {
    return this.storage;
  }

  /** Bytes of this tensor: 4 per f32/i32 element, 2 per f16, whole GGUF blocks for q8_0/q4_0 (bound rounded up to 4). */
  get byteLength(): number {
    return storageBytes(this.dtype, this.size);
  }

  /** The first {@link byteLength} bytes of its allocation. */
  get range(): MemoryRange {
    return { space: this.root, start: 0, end: this.byteLength };
  }

  /** Marks an allocation released, returning its buffer to destroy; a view's release is a no-op. */
  release(): GPUBuffer | undefined {
    return this.markReleased() ? this.storage : undefined;
  }
}
