/**
 * The reference backend: plain TypeScript over typed arrays, single-threaded. It is the readable
 * oracle other backends are checked against: sums accumulate in float64 and results are stored as
 * float32, following llama2.c `run.c`.
 */
import {
  type Backend,
  type BackendCapabilities,
  type BackendFactory,
  type DType,
  KERNEL_NAMES,
  type KernelAttrs,
  type KernelInputs,
  type KernelName,
  type Shape,
  type TensorHandle,
} from '@rotor/core';
import { MemoryChecks, type StoredDType, storageBytes } from '../shared/memory-checks.js';
import { isQuantized } from '../shared/quantized.js';
import { add } from './add.js';
import { applyRotary, ROTARY_LAYOUTS } from './apply-rotary.js';
import { attention, SCORE_BIAS_TYPES } from './attention.js';
import { embedding } from './embedding.js';
import { gelu } from './gelu.js';
import { layerNorm } from './layer-norm.js';
import { matmul } from './matmul.js';
import { mul } from './mul.js';
import {
  type KernelContext,
  REFERENCE_BACKEND_NAME,
  type ReferenceDType,
  type ReferenceStorage,
  ReferenceTensor,
  Scratch,
} from './reference-tensor.js';
import { rmsNorm } from './rms-norm.js';
import { silu } from './silu.js';
import { softmax } from './softmax.js';
import { resolveTensor } from './validate.js';
import { writeRows } from './write-rows.js';

/** A kernel entry point of this backend. */
type KernelFunction<K extends KernelName> = (
  context: KernelContext,
  inputs: KernelInputs<K>,
  attrs: KernelAttrs<K>,
  out: TensorHandle,
) => void;

const KERNELS: { readonly [K in KernelName]: KernelFunction<K> } = {
  matmul,
  embedding,
  rmsNorm,
  layerNorm,
  softmax,
  applyRotary,
  writeRows,
  attention,
  silu,
  gelu,
  add,
  mul,
};

/** Largest tensor the reference backend allocates: 2 GiB. */
const MAX_TENSOR_BYTES = 2 ** 31;

/**
 * Element types the reference backend stores: f16 (half-precision bits) and q8_0/q4_0 (GGUF blocks)
 * as matmul weights.
 */
const REFERENCE_DTYPES: readonly StoredDType[] = Object.freeze([
  'f32',
  'i32',
  'f16',
  'q8_0',
  'q4_0',
] as const);

/** What every reference backend declares. */
export const REFERENCE_CAPABILITIES: BackendCapabilities = Object.freeze({
  kernels: KERNEL_NAMES,
  dtypes: REFERENCE_DTYPES,
  scoreBias: SCORE_BIAS_TYPES,
  rotaryLayouts: ROTARY_LAYOUTS,
  maxTensorBytes: MAX_TENSOR_BYTES,
  threads: 1,
  f32Tolerance: 0,
});

function storageFor(dtype: ReferenceDType, size: number): ReferenceStorage {
  if (dtype === 'f32') return new Float32Array(size);
  if (dtype === 'i32') return new Int32Array(size);
  if (dtype === 'f16') return new Uint16Array(size);
  return new Uint8Array(storageBytes(dtype, size));
}

/** The reference {@link Backend}. Create it with {@link createReferenceBackend} or {@link referenceBackend}. */
class ReferenceBackend implements Backend {
  readonly name = REFERENCE_BACKEND_NAME;
  readonly description =
    'reference TypeScript backend (single-threaded, float64 accumulation, float32 storage)';
  readonly capabilities = REFERENCE_CAPABILITIES;
  private readonly context: KernelContext = { owner: this, scratch: new Scratch() };
  private readonly checks = new MemoryChecks(REFERENCE_BACKEND_NAME, {
    maxTensorBytes: MAX_TENSOR_BYTES,
    dtypes: REFERENCE_DTYPES,
  });
  private destroyed = false;

  allocate(shape: Shape, dtype: DType = 'f32'): TensorHandle {
    this.assertAlive('allocate');
    const checked = this.checks.allocate(shape, dtype);
    return new ReferenceTensor(this, checked.dtype, shape, storageFor(checked.dtype, checked.size));
  }

  upload(
    data: Float32Array | Int32Array | Uint16Array | Uint8Array,
    shape: Shape,
    dtype: DType = 'f32',
  ): TensorHandle {
    this.assertAlive('upload');
    const checked = this.checks.upload(data, shape, dtype);
    const storage = storageFor(checked.dtype, checked.size);
    storage.set(data as Float32Array & Int32Array & Uint16Array & Uint8Array);
    return new ReferenceTensor(this, checked.dtype, shape, storage);
  }

  view(tensor: TensorHandle, shape: Shape): TensorHandle {
    this.assertAlive('view');
    const source = resolveTensor('reference view', 'tensor', tensor, this);
    const size = this.checks.view(source, shape);
    // Block storage is bytes; every other dtype stores one element per array slot.
    const length = isQuantized(source.dtype) ? storageBytes(source.dtype, size) : size;
    return new ReferenceTensor(this, source.dtype, shape, source.data.subarray(0, length), source.root);
  }

  write(tensor: TensorHandle, data: Float32Array | Int32Array, offset = 0): void {
    this.assertAlive('write');
    const target = resolveTensor('reference write', 'tensor', tensor, this);
    this.checks.write(target, data, offset);
    target.data.set(data, offset);
  }

  /** Copies an f32 tensor out, into the first elements of `target` when given (then returned). */
  async read(tensor: TensorHandle, target?: Float32Array): Promise<Float32Array> {
    this.assertAlive('read');
    const source = resolveTensor('reference read', 'tensor', tensor, this);
    this.checks.read(source, target);
    if (target === undefined) return (source.data as Float32Array).slice();
    target.set(source.data);
    return target;
  }

  dispose(tensor: TensorHandle): void {
    this.assertAlive('dispose');
    resolveTensor('reference dispose', 'tensor', tensor, this).release();
  }

  run<K extends KernelName>(
    name: K,
    inputs: KernelInputs<K>,
    attrs: KernelAttrs<K>,
    out: TensorHandle,
  ): void {
    this.assertAlive('run');
    this.checks.kernelName(KERNELS, name);
    this.checks.kernelArguments(name, inputs, attrs);
    const kernel = KERNELS[name] as KernelFunction<K>;
    kernel(this.context, inputs, attrs ?? ({} as KernelAttrs<K>), out);
  }

  async sync(): Promise<void> {
    this.assertAlive('sync');
  }

  destroy(): void {
    this.destroyed = true;
  }

  private assertAlive(method: string): void {
    this.checks.assertLive(method, this.destroyed);
  }
}

/** Creates a reference backend synchronously (it needs no setup). */
export function createReferenceBackend(): Backend {
  return new ReferenceBackend();
}

/** The reference backend's factory: always available, in every JavaScript environment. */
export function referenceBackend(): BackendFactory {
  return {
    name: REFERENCE_BACKEND_NAME,
    probe: async () => ({ available: true }),
    create: async () => new ReferenceBackend(),
  };
}
