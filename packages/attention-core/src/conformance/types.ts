/**
 * Conformance cases as plain data: what to upload, which kernel to run with which attrs, and what
 * must come out (a hand-computed result, the reference backend's result, or a typed error).
 */
import type { KernelAttrs, KernelName, RotorErrorCode, Shape } from '@rotor/core';

/**
 * A tensor of a case, in host memory. f32 unless `dtype` says otherwise (f16: half-precision bits;
 * q8_0/q4_0: GGUF block bytes).
 */
export interface CaseTensor {
  readonly shape: Shape;
  readonly data: Float32Array | Int32Array | Uint16Array | Uint8Array;
  readonly dtype?: 'f32' | 'i32' | 'f16' | 'q8_0' | 'q4_0';
}

/**
 * Where a case's kernel writes: a fresh tensor (zeros, or `initial` when the kernel must keep
 * other contents, as writeRows does), or one of the inputs itself (an in-place run).
 */
export type CaseOutput =
  | { readonly shape: Shape; readonly initial?: Float32Array }
  | { readonly aliasOf: string };

/** A kernel run whose output is compared element by element. */
export interface KernelCase<K extends KernelName = KernelName> {
  readonly kind: 'kernel';
  readonly kernel: K;
  /** Unique within its kernel; says what the case proves. */
  readonly name: string;
  readonly inputs: Readonly<Record<string, CaseTensor>>;
  readonly attrs: KernelAttrs<K>;
  readonly out: CaseOutput;
  /**
   * Hand-computed result (float64 values). When absent, the reference backend's result for the
   * same case is the oracle.
   */
  readonly expected?: ArrayLike<number>;
  /** Tolerance for `expected`, relative to max(1, |expected|); default {@link HAND_TOLERANCE}. */
  readonly tolerance?: number;
  /**
   * Absolute error allowed per element on top of the relative tolerance: the documented bound of
   * an approximation the kernel may make (quantized matmul: see `quantizedMatmulBound`).
   */
  readonly errorBound?: ArrayLike<number>;
}

/** A kernel run that must throw a `RotorError` with `code`, leaving `out` untouched. */
export interface ErrorCase {
  readonly kind: 'error';
  /** The kernel the case exercises (the backend must declare it). */
  readonly kernel: KernelName;
  readonly name: string;
  /** The name passed to `run`, when it is not `kernel` (an unknown kernel name). */
  readonly runName?: string;
  readonly inputs: Readonly<Record<string, CaseTensor>>;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly out: CaseOutput;
  /** Replaces input `input` by a disposed tensor, or by a look-alike handle the backend never made. */
  readonly tamper?: { readonly input: string; readonly how: 'disposed' | 'foreign' };
  readonly code: RotorErrorCode;
}

/** One conformance case. */
export type ConformanceCase = KernelCase | ErrorCase;

/** Default tolerance for hand-computed expectations (the backend's own tolerance applies when larger). */
export const HAND_TOLERANCE = 1e-6;
