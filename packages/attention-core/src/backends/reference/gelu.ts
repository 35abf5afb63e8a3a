/**
 * gelu — element-wise Gaussian error linear unit.
 *
 * Legend:
 *   x     any shape of rank >= 1, seen as [M, N] (leading dimensions flattened)
 *   out   [M, N], may be x itself
 *   none  exact: x * Φ(x) = 0.5 * x * erfc(-x / √2)  (erfc keeps negative x accurate)
 *   tanh  GPT-2's approximation: 0.5 * x * (1 + tanh(√(2/π) * (x + 0.044715 x³)))
 */
import type { KernelAttrs, KernelInputs, TensorHandle } from '@rotor/core';
import type { KernelContext } from './reference-tensor.js';
import {
  asRows,
  requireF32,
  requireNoOverlap,
  requireOneOf,
  requireRows,
  resolveTensor,
} from './validate.js';

const KERNEL = 'gelu';

const SQRT_PI = Math.sqrt(Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * Complementary error function, within about 1e-13 relative (JavaScript has no `erf`). Below 2 it
 * is `1 - erf` from a series with only positive terms; from 2 on, a continued fraction (Abramowitz
 * & Stegun 7.1.14) evaluated from its tail, which avoids the cancellation of `1 - erf`.
 */
export function erfc(z: number): number {
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) {
    // erf(z) = 2/√π · exp(-z²) · Σ_n (2z²)^n z / (1·3·…·(2n+1))
    const twoZSquared = 2 * z * z;
    let term = z;
    let sum = z;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= twoZSquared / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-z * z) * sum;
  }
  // erfc(z) = exp(-z²)/√π / (z + (1/2)/(z + 1/(z + (3/2)/(z + …)))); NaN falls through to NaN.
  let fraction = z;
  for (let n = 60; n >= 1; n--) fraction = z + n / 2 / fraction;
  return Math.exp(-z * z) / SQRT_PI / fraction;
}

/** Approximations `attrs.approximate` accepts. */
const APPROXIMATIONS: readonly KernelAttrs<'gelu'>['approximate'][] = ['none', 'tanh'];

/** Checks dtypes, shapes and the approximation; returns the element count. Backend-independent. */
export function validateGelu(
  inputs: KernelInputs<'gelu'>,
  attrs: KernelAttrs<'gelu'>,
  out: TensorHandle,
): number {
  requireF32(KERNEL, 'inputs.x', inputs.x);
  requireF32(KERNEL, 'out', out);
  requireRows(KERNEL, 'out', out, asRows(KERNEL, 'inputs.x', inputs.x));
  requireOneOf(KERNEL, 'attrs.approximate', attrs.approximate, APPROXIMATIONS);
  return inputs.x.size;
}

function computeGelu(x: Float32Array, out: Float32Array, size: number, approximate: 'none' | 'tanh'): void {
  if (approximate === 'tanh') {
    for (let e = 0; e < size; e++) {
      const value = x[e];
      out[e] = 0.5 * value * (1 + Math.tanh(SQRT_2_OVER_PI * (value + 0.044715 * value * value * value)));
    }
    return;
  }
  for (let e = 0; e < size; e++) out[e] = 0.5 * x[e] * erfc(-x[e] / Math.SQRT2);
}

/** Reference `gelu` kernel. */
export function gelu(
  context: KernelContext,
  inputs: KernelInputs<'gelu'>,
  attrs: KernelAttrs<'gelu'>,
  outHandle: TensorHandle,
): void {
  const x = resolveTensor(KERNEL, 'inputs.x', inputs.x, context.owner);
  const out = resolveTensor(KERNEL, 'out', outHandle, context.owner);
  const size = validateGelu({ x }, attrs, out);
  requireNoOverlap(KERNEL, out, 'inputs.x', x, true);
  computeGelu(x.data as Float32Array, out.data as Float32Array, size, attrs.approximate);
}
