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
  shapeSize,
  type TensorHandle,
  UnsupportedError,
} from '@rotor/core';
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
  ReferenceTensor,
  Scratch,
} from './reference-tensor.js';
import { rmsNorm } from './rms-norm.js';
import { silu } from './silu.js';
import { softmax } from './softmax.js';
import {
  described,
  formatShape,
  invalidArgument,
  requireInteger,
  resolveTensor,
  shapeMismatch,
} from './validate.js';
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

/** What every reference backend declares. */
export const REFERENCE_CAPABILITIES: BackendCapabilities = Object.freeze({
  kernels: KERNEL_NAMES,
  dtypes: Object.freeze(['f32', 'i32'] as const),
  scoreBias: SCORE_BIAS_TYPES,
  rotaryLayouts: ROTARY_LAYOUTS,
  maxTensorBytes: MAX_TENSOR_BYTES,
  threads: 1,
  f32Tolerance: 0,
});

function storageFor(dtype: ReferenceDType, size: number): Float32Array | Int32Array {
  return dtype === 'f32' ? new Float32Array(size) : new Int32Array(size);
}

/** The reference {@link Backend}. Create it with {@link createReferenceBackend} or {@link referenceBackend}. */
class ReferenceBackend implements Backend {
  readonly name = REFERENCE_BACKEND_NAME;
  readonly description =
    'reference TypeScript backend (single-threaded, float64 accumulation, float32 storage)';
  readonly capabilities = REFERENCE_CAPABILITIES;
  private readonly context: KernelContext = { owner: this, scratch: new Scratch() };
  private destroyed = false;

  allocate(shape: Shape, dtype: DType = 'f32'): TensorHandle {
    this.assertAlive('allocate');
    const checked = this.checkDType('allocate', dtype);
    const size = this.checkShape('allocate', shape);
    return new ReferenceTensor(this, checked, shape, storageFor(checked, size));
  }

  upload(
    data: Float32Array | Int32Array | Uint16Array | Uint8Array,
    shape: Shape,
    dtype: DType = 'f32',
  ): TensorHandle {
    this.assertAlive('upload');
    const checked = this.checkDType('upload', dtype);
    const size = this.checkShape('upload', shape);
    this.checkData('upload', checked, data);
    if (data.length !== size) {
      throw shapeMismatch(
        'reference upload',
        'data.length',
        `${size} (the size of shape ${formatShape(shape)})`,
        data.length,
      );
    }
    const storage = storageFor(checked, size);
    storage.set(data as Float32Array & Int32Array);
    return new ReferenceTensor(this, checked, shape, storage);
  }

  view(tensor: TensorHandle, shape: Shape): TensorHandle {
    this.assertAlive('view');
    const source = resolveTensor('reference view', 'tensor', tensor, this);
    const size = this.checkShape('view', shape);
    if (size > source.size) {
      throw shapeMismatch(
        'reference view',
        'shape',
        `at most ${source.size} elements (the size of ${formatShape(source.shape)})`,
        described(`${formatShape(shape)} = ${size} elements`),
      );
    }
    return new ReferenceTensor(this, source.dtype, shape, source.data.subarray(0, size), source.root);
  }

  write(tensor: TensorHandle, data: Float32Array | Int32Array, offset = 0): void {
    this.assertAlive('write');
    const target = resolveTensor('reference write', 'tensor', tensor, this);
    this.checkData('write', target.dtype, data);
    requireInteger('reference write', 'offset', offset, 0, target.size);
    if (offset + data.length > target.size) {
      throw shapeMismatch(
        'reference write',
        'data.length',
        `at most size - offset = ${target.size} - ${offset} = ${target.size - offset}`,
        data.length,
      );
    }
    target.data.set(data, offset);
  }

  /** Copies an f32 tensor out, into the first elements of `target` when given (then returned). */
  async read(tensor: TensorHandle, target?: Float32Array): Promise<Float32Array> {
    this.assertAlive('read');
    const source = resolveTensor('reference read', 'tensor', tensor, this);
    if (source.dtype !== 'f32') throw invalidArgument('reference read', 'tensor dtype', 'f32', source.dtype);
    if (target === undefined) return (source.data as Float32Array).slice();
    if (!(target instanceof Float32Array) || target.length < source.size) {
      throw invalidArgument(
        'reference read',
        'target',
        `a Float32Array of at least ${source.size} elements (the tensor's size)`,
        described(target instanceof Float32Array ? `a Float32Array of ${target.length}` : String(target)),
      );
    }
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
    if (typeof name !== 'string' || !Object.hasOwn(KERNELS, name)) {
      throw invalidArgument('reference run', 'kernel name', `one of ${KERNEL_NAMES.join(', ')}`, name);
    }
    if (inputs === null || typeof inputs !== 'object') {
      throw invalidArgument(name, 'inputs', 'an object of tensor handles', inputs);
    }
    if (attrs !== undefined && (attrs === null || typeof attrs !== 'object')) {
      throw invalidArgument(name, 'attrs', 'an object', attrs);
    }
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
    if (this.destroyed) {
      throw invalidArgument(
        `reference ${method}`,
        'backend',
        'a live backend',
        described('a destroyed backend'),
      );
    }
  }

  private checkDType(method: string, dtype: unknown): ReferenceDType {
    if (dtype === 'f32' || dtype === 'i32') return dtype;
    if (dtype === 'f16' || dtype === 'q8_0' || dtype === 'q4_0') {
      throw new UnsupportedError(
        `reference ${method}: dtype: expected one of f32, i32 (this backend's dtypes), found ${dtype}`,
      );
    }
    throw invalidArgument(`reference ${method}`, 'dtype', 'one of f32, i32, f16, q8_0, q4_0', dtype);
  }

  private checkShape(method: string, shape: unknown): number {
    const where = `reference ${method}`;
    if (!Array.isArray(shape)) throw invalidArgument(where, 'shape', 'an array of dimensions', shape);
    for (let i = 0; i < shape.length; i++) {
      requireInteger(where, `shape[${i}]`, shape[i], 0, MAX_TENSOR_BYTES);
    }
    const size = shapeSize(shape);
    if (size * 4 > MAX_TENSOR_BYTES) {
      throw new UnsupportedError(
        `${where}: shape ${formatShape(shape)}: expected at most ${MAX_TENSOR_BYTES} bytes (maxTensorBytes), found ${size * 4}`,
      );
    }
    return size;
  }

  private checkData(method: string, dtype: ReferenceDType, data: unknown): void {
    const ok = dtype === 'f32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) {
      const found = described(
        (data as { constructor?: { name?: string } } | null)?.constructor?.name ?? String(data),
      );
      throw invalidArgument(
        `reference ${method}`,
        'data',
        dtype === 'f32' ? 'a Float32Array (dtype f32)' : 'an Int32Array (dtype i32)',
        found,
      );
    }
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
