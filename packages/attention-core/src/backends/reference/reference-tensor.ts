/**
 * The reference backend's tensor object and the per-backend state its kernels share.
 */
import type { Shape } from '@rotor/core';
import { type MemoryRange, OwnedTensor, type StoredDType } from '../shared/memory-checks.js';

/** Name every reference backend reports. */
export const REFERENCE_BACKEND_NAME = 'reference';

/** Element types the reference backend stores. */
export type ReferenceDType = StoredDType;

/** Host storage of a reference tensor (f16: half-precision bits; q8_0/q4_0: the GGUF block bytes). */
export type ReferenceStorage = Float32Array | Int32Array | Uint16Array | Uint8Array;

/**
 * A tensor owned by one reference backend instance: a typed array plus its shape.
 * Views share the typed array's buffer and point at the allocation they were cut from,
 * so disposing that allocation invalidates every view of it.
 */
export class ReferenceTensor extends OwnedTensor<ReferenceTensor> {
  readonly backend = REFERENCE_BACKEND_NAME;
  private storage: ReferenceStorage;

  constructor(
    owner: object,
    dtype: ReferenceDType,
    shape: Shape,
    storage: ReferenceStorage,
    root?: ReferenceTensor,
  ) {
    super(owner, dtype, shape, root);
    this.storage = storage;
  }

  /** The elements, row-major; for a view, a subarray of its allocation. */
  get data(): ReferenceStorage {
    return this.storage;
  }

  get range(): MemoryRange {
    const { buffer, byteOffset, byteLength } = this.storage;
    return { space: buffer, start: byteOffset, end: byteOffset + byteLength };
  }

  /** Drops the storage of an allocation; a view's release is a no-op (its allocation stays alive). */
  release(): void {
    if (this.markReleased()) this.storage = new Float32Array(0);
  }
}

/**
 * Scratch rows reused across kernel calls, grown on demand, so kernels allocate at most once
 * per growth and never inside their loops.
 */
export class Scratch {
  private scoreRow = new Float64Array(64);
  private sumRow = new Float64Array(64);
  private bucketRow = new Int32Array(64);

  /** A float64 row of at least `length` elements for scores or exponentials (contents undefined). */
  scores(length: number): Float64Array {
    if (this.scoreRow.length < length) this.scoreRow = new Float64Array(grow(length));
    return this.scoreRow;
  }

  /** A float64 row of at least `length` elements for running sums, distinct from {@link scores}. */
  sums(length: number): Float64Array {
    if (this.sumRow.length < length) this.sumRow = new Float64Array(grow(length));
    return this.sumRow;
  }

  /** An int32 row of at least `length` elements for bucket indices (contents undefined). */
  buckets(length: number): Int32Array {
    if (this.bucketRow.length < length) this.bucketRow = new Int32Array(grow(length));
    return this.bucketRow;
  }
}

function grow(length: number): number {
  return 2 ** Math.ceil(Math.log2(length));
}

/** What a kernel entry point receives from its backend besides inputs, attrs and out. */
export interface KernelContext {
  /** The backend instance; tensors must have been created by it. */
  readonly owner: object;
  /** Scratch rows shared by the backend's kernels. */
  readonly scratch: Scratch;
}
