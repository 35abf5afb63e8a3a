/** Helpers the case files use to write cases briefly. */
import { InvalidArgumentError, type KernelName, type RotorErrorCode, type Shape } from '@rotor/core';
import type { CaseOutput, CaseTensor, ErrorCase, KernelCase } from './types.js';

/** An f32 case tensor; `values` must fill `shape` exactly. */
export function tensor(shape: Shape, values: ArrayLike<number>): CaseTensor {
  let size = 1;
  for (const d of shape) size *= d;
  if (values.length !== size) {
    throw new InvalidArgumentError(
      `conformance case tensor: expected ${size} values for shape [${shape.join(', ')}], found ${values.length}`,
    );
  }
  return { shape, data: Float32Array.from(values) };
}

/** An i32 case tensor. */
export function int32Tensor(shape: Shape, values: ArrayLike<number>): CaseTensor {
  return { shape, data: Int32Array.from(values), dtype: 'i32' };
}

/** A fresh output tensor of `shape`, zero-filled unless `initial` is given. */
export function output(shape: Shape, initial?: ArrayLike<number>): CaseOutput {
  return initial === undefined ? { shape } : { shape, initial: Float32Array.from(initial) };
}

/** Writes into input `name` itself. */
export function inPlace(name: string): CaseOutput {
  return { aliasOf: name };
}

/** A kernel case, typed by its kernel's attrs. */
export function kernelCase<K extends KernelName>(
  kernel: K,
  name: string,
  spec: Omit<KernelCase<K>, 'kind' | 'kernel' | 'name'>,
): KernelCase {
  return { kind: 'kernel', kernel, name, ...spec } as KernelCase;
}

/** An error case. */
export function errorCase(
  kernel: KernelName,
  name: string,
  code: RotorErrorCode,
  spec: Omit<ErrorCase, 'kind' | 'kernel' | 'name' | 'code'>,
): ErrorCase {
  return { kind: 'error', kernel, name, code, ...spec };
}

/** A deterministic pseudo-random source (mulberry32) seeded from a case name. */
export class Random {
  private state: number;

  constructor(seed: string) {
    let h = 2166136261;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
    this.state = h >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [low, high]. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** An f32 case tensor of uniform values in [low, high). */
  tensor(shape: Shape, low = -1, high = 1): CaseTensor {
    let size = 1;
    for (const d of shape) size *= d;
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = this.uniform(low, high);
    return { shape, data };
  }
}

/** Float64 softmax of `scores` applied to rows of `values` (`values[j]` is key j's vector). */
export function softmaxWeighted(scores: readonly number[], values: readonly (readonly number[])[]): number[] {
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Array<number>(values[0].length).fill(0);
  for (let j = 0; j < scores.length; j++) {
    for (let d = 0; d < out.length; d++) out[d] += (weights[j] / total) * values[j][d];
  }
  return out;
}
