/**
 * The WASM backend's tensor handle: a byte range of the backend's one `WebAssembly.Memory`.
 */
import type { Shape } from '@rotor/core';
import { type MemoryRange, OwnedTensor, resolveOwned, type StoredDType } from '../shared/memory-checks.js';

/** Name every WASM backend reports. */
export const WASM_BACKEND_NAME = 'wasm';

/** Element types the WASM backend stores. */
export type WasmDType = StoredDType;

/**
 * A kernel call already validated, kept on one of its tensors (its key: matmul's weight, a norm's
 * weight, a cache for writeRows and attention, ...) so the calls a decode step repeats every token with the same handles skip resolving
 * and validating them. `plan` is what validation produced (addresses, sizes, flags), valid while
 * the other handles and the attribute are the same and no tensor was disposed (`epoch`): handles
 * are immutable, so validating them again would find the same.
 */
export interface CallMemo {
  kernel: string;
  epoch: number;
  first: unknown;
  second: unknown;
  out: unknown;
  attribute: unknown;
  plan: unknown;
}

/**
 * A tensor owned by one WASM backend instance. Views share their allocation's bytes and point at it,
 * so disposing the allocation invalidates every view of it.
 *
 * f32/i32 elements are 4 bytes each from `address`. A q8_0/q4_0 tensor is repacked at upload for
 * aligned SIMD loads: its integer values from `address` (q8_0 one int8 per element; q4_0 the 16
 * nibble bytes of each GGUF block), then at `scales` one f32 scale per 32-value block. Both parts
 * keep element order, so a view of the first rows shares them.
 */
export class WasmTensor extends OwnedTensor<WasmTensor> {
  readonly backend = WASM_BACKEND_NAME;

  constructor(
    owner: object,
    dtype: WasmDType,
    shape: Shape,
    /** Byte address of element 0 in the backend's memory. */
    readonly address: number,
    /** Bytes reserved for the allocation (views: their own element bytes; quantized: the allocation's). */
    readonly capacity: number,
    root?: WasmTensor,
    /** Byte address of the f32 block scales of a quantized tensor; 0 otherwise. */
    readonly scales = 0,
  ) {
    super(owner, dtype, shape, root);
  }

  /** Index of element 0 in a 4-byte typed-array view of the memory. */
  get index(): number {
    return this.address / 4;
  }

  /** Its bytes of the owner's one memory (computed once: the overlap checks ask on every kernel call). */
  get range(): MemoryRange {
    if (this.bytesRange === undefined) {
      const bytes = this.scales === 0 ? this.size * 4 : this.capacity;
      this.bytesRange = { space: this.owner, start: this.address, end: this.address + bytes };
    }
    return this.bytesRange;
  }

  private bytesRange: MemoryRange | undefined;

  /** The last call of each kernel validated with this tensor as its key (see `recall` in wasm-kernels.ts). */
  readonly memos: CallMemo[] = [];

  /** Marks the allocation released; returns false for a view (disposing one is a no-op). */
  release(): boolean {
    return this.markReleased();
  }
}

/**
 * The {@link WasmTensor} behind `handle`, checked to be a live tensor made by `owner`; look-alikes,
 * other backends' handles and disposed tensors are rejected as the reference backend rejects them.
 */
export function resolveWasmTensor(where: string, what: string, handle: unknown, owner: object): WasmTensor {
  return resolveOwned(where, what, handle, owner, WasmTensor, WASM_BACKEND_NAME);
}
