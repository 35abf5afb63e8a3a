/** What a WebGPU kernel entry point receives from its backend. */
import type { KernelAttrs, KernelInputs, KernelName, TensorHandle } from '@rotor/core';
import type { GpuEngine } from './engine.js';

/**
 * How the per-token kernels split their work, chosen per adapter kind. A GPU emulated on the CPU
 * (SwiftShader, llvmpipe) runs a workgroup's invocations as fibers a few SIMD lanes wide and switches
 * between all of them at every `workgroupBarrier`, so there barriers cost far more than the
 * arithmetic of a decode step and the kernels avoid them; a real GPU wants several threads per row
 * reading neighbouring memory.
 */
export interface GpuTuning {
  /** `hardware` or `software`, as chosen. */
  readonly kind: 'hardware' | 'software';
  /** Threads sharing one output feature of the M = 1 matmul (a power of two dividing 64); 1 needs no barrier. */
  readonly gemvThreadsPerRow: number;
  /** Threads of a row kernel's workgroup (norms, softmax, attention per query and head); a power of two, at most 64. */
  readonly rowThreads: number;
  /** Threads per query row of the flash-attention prefill program (a power of two, at most 4). */
  readonly flashThreadsPerQuery: number;
}

/**
 * Limits and fast-path thresholds of the kernels, each with a default; tests set them to force a
 * path (a small `maxBindingBytes` splits every matmul weight, thresholds of 1 send every call to
 * the fast attention programs, thresholds past any size keep the general program).
 */
export interface GpuKernelLimits {
  /**
   * Largest storage binding in bytes; at most (and by default) the device's
   * `maxStorageBufferBindingSize` (WebGPU guarantees 128 MiB; many desktop GPUs allow 2-4 GiB).
   *
   * Split across bindings (several dispatches, each binding whole rows at an aligned offset, see
   * `rowChunks`): matmul's w (an LM head [V, D] is the largest weight) and embedding's table
   * [V, D] (2 GiB for Llama-3-8B). Bound whole, and rejected with an `UnsupportedError` naming the
   * kernel, the tensor (argument, shape, dtype) and the limit: every other tensor. Of those only
   * attention's k and v, one layer's KV cache [B, S, Hkv*Dh], reach 128 MiB in practice: B * S
   * above 8192 slots at Hkv*Dh = 4096 (Llama-2-7B), above 32768 at 1024 (Llama-3-8B). Activations
   * stay far below it: a prefill pass holds at most `maxPrefillRows` rows (256 by default) of at
   * most the FFN width, logits exist for the last row of each sequence only, and the split-KV
   * scratch is B * H * S / `splitKvChunk` records of Dh + 2 floats.
   */
  readonly maxBindingBytes: number;
  /** Fewest new query rows (T) for the flash-attention prefill program. Default 4. */
  readonly flashMinQueries: number;
  /** Fewest visible key slots for the split-KV decode program (T = 1). Default 256. */
  readonly splitKvMinKeys: number;
  /** Key slots per workgroup of the split-KV decode program. Default 64. */
  readonly splitKvChunk: number;
  /** Use the subgroup GEMV when the device has the `subgroups` feature. Default true. */
  readonly subgroups: boolean;
}

/** {@link GpuKernelLimits} defaults, but `maxBindingBytes`, which comes from the device. */
export const DEFAULT_KERNEL_LIMITS: Omit<GpuKernelLimits, 'maxBindingBytes'> = Object.freeze({
  flashMinQueries: 4,
  splitKvMinKeys: 256,
  splitKvChunk: 64,
  subgroups: true,
});

/** Tuning for real GPUs: 16 threads per output feature (4 features per 64-thread workgroup). */
export const HARDWARE_TUNING: GpuTuning = Object.freeze({
  kind: 'hardware',
  gemvThreadsPerRow: 16,
  rowThreads: 64,
  flashThreadsPerQuery: 4,
});

/**
 * Tuning for software adapters: one thread per output feature (no barrier), and row kernels of 4
 * threads, SwiftShader's SIMD width (measured 3-5x faster than 64 for decode-sized rows).
 */
export const SOFTWARE_TUNING: GpuTuning = Object.freeze({
  kind: 'software',
  gemvThreadsPerRow: 1,
  rowThreads: 4,
  flashThreadsPerQuery: 1,
});

/** The backend state a kernel uses. */
export interface GpuKernelContext {
  /** The backend instance; tensors must have been created by it. */
  readonly owner: object;
  readonly engine: GpuEngine;
  readonly tuning: GpuTuning;
  readonly limits: GpuKernelLimits;
  /** The device has the `subgroups` feature and `limits.subgroups` allows it. */
  readonly subgroups: boolean;
}

/** A kernel entry point: validates, then encodes its work into the engine's pending batch. */
export type GpuKernel<K extends KernelName> = (
  context: GpuKernelContext,
  inputs: KernelInputs<K>,
  attrs: KernelAttrs<K>,
  out: TensorHandle,
) => void;
