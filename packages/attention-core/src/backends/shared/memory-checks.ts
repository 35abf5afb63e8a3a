/**
 * The host-side checks every backend of this package runs before touching memory: handle ownership
 * and liveness, dtypes, shapes, data arrays of `allocate`/`upload`/`view`/`write`/`read`, the kernel
 * name of `run`, and aliasing of a kernel's `out`. One implementation, so every backend rejects the
 * same calls with the same messages (`"<backend> <method>: <what>: expected …, found …"`).
 */
import {
  KERNEL_NAMES,
  QUANT_BLOCK_SIZE,
  type Shape,
  shapeSize,
  storageLength,
  type TensorHandle,
  UnsupportedError,
} from '@rotor/core';
import { described, formatShape, invalidArgument, requireInteger, shapeMismatch } from './messages.js';
import { firstNonFiniteScale, isQuantized } from './quantized.js';

/** Element types the backends of this package can store (each backend declares its own subset). */
export type StoredDType = 'f32' | 'i32' | 'f16' | 'q8_0' | 'q4_0';

/** Bytes of host storage for `size` elements of `dtype` (4 per f32/i32 element, 2 per f16; whole blocks otherwise). */
export function storageBytes(dtype: StoredDType, size: number): number {
  if (isQuantized(dtype)) return storageLength(dtype, size);
  return dtype === 'f16' ? size * 2 : size * 4;
}

/** A range of one memory space (an `ArrayBuffer`, a wasm memory, a GPU allocation): `[start, end)`. */
export interface MemoryRange {
  readonly space: object;
  readonly start: number;
  readonly end: number;
}

/**
 * What the backends' tensor classes share: owner, shape, size, the allocation a view was cut from
 * and its liveness. Disposing an allocation invalidates every view of it.
 */
export abstract class OwnedTensor<Self extends OwnedTensor<Self>> implements TensorHandle {
  abstract readonly backend: string;
  readonly shape: Shape;
  readonly size: number;
  /** The allocation this tensor belongs to (itself unless it was made by `view`). */
  readonly root: Self;
  private released = false;

  constructor(
    /** The backend instance that created it; handles never cross instances. */
    readonly owner: object,
    readonly dtype: StoredDType,
    shape: Shape,
    root: Self | undefined,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.root = root ?? (this as unknown as Self);
  }

  /** True once its allocation was disposed. */
  get disposed(): boolean {
    return this.root.released;
  }

  /** The memory this tensor covers, for aliasing checks. */
  abstract get range(): MemoryRange;

  /** Marks an allocation released and returns true; a view's release is a no-op returning false. */
  protected markReleased(): boolean {
    if ((this.root as OwnedTensor<Self>) !== this) return false;
    this.released = true;
    return true;
  }
}

/**
 * The tensor behind `handle`, checked to be a live instance of `kind` made by `owner`. A look-alike
 * object, a handle of another backend (even one with the same name) and a disposed tensor are all
 * rejected.
 */
export function resolveOwned<T extends OwnedTensor<T>>(
  where: string,
  what: string,
  handle: unknown,
  owner: object,
  kind: abstract new (...args: never[]) => T,
  backendName: string,
): T {
  if (!(handle instanceof kind) || handle.owner !== owner) {
    throw invalidArgument(
      where,
      what,
      `a tensor handle created by this ${backendName} backend`,
      described(describeForeign(handle, kind, backendName)),
    );
  }
  if (handle.disposed) {
    throw invalidArgument(
      where,
      what,
      'a live tensor',
      described(`a disposed tensor of shape ${formatShape(handle.shape)}`),
    );
  }
  return handle;
}

function describeForeign(
  handle: unknown,
  kind: abstract new (...args: never[]) => unknown,
  name: string,
): string {
  if (handle === null || typeof handle !== 'object') return String(handle);
  if (handle instanceof kind) return `a tensor of another ${name} backend instance`;
  const backend = (handle as { backend?: unknown }).backend;
  return typeof backend === 'string'
    ? `a handle claiming backend "${backend}"`
    : 'an object that is not a tensor handle';
}

/**
 * Rejects `out` sharing memory with `input`. With `allowSameRange`, `out` may be exactly `input`
 * (same elements, in-place use) but never a partial overlap.
 */
export function requireNoOverlap(
  where: string,
  out: { readonly range: MemoryRange },
  inputName: string,
  input: { readonly range: MemoryRange },
  allowSameRange: boolean,
): void {
  const a = out.range;
  const b = input.range;
  if (a.space !== b.space || a.start === a.end || b.start === b.end) return;
  if (a.end <= b.start || b.end <= a.start) return;
  if (allowSameRange && a.start === b.start && a.end === b.end) return;
  throw invalidArgument(
    where,
    'out',
    allowSameRange
      ? `either ${inputName} itself or memory disjoint from it`
      : `memory disjoint from ${inputName}`,
    described(`a tensor overlapping ${inputName}`),
  );
}

/** Limits a backend's memory checks apply. */
export interface MemoryLimits {
  /** Largest tensor in bytes (`capabilities.maxTensorBytes`). */
  readonly maxTensorBytes: number;
  /** Largest single dimension accepted before the size check. Default `maxTensorBytes`. */
  readonly maxDimension?: number;
  /** How messages name the byte limit. Default `maxTensorBytes`. */
  readonly limitName?: string;
  /** Element types the backend stores. Default f32 and i32. */
  readonly dtypes?: readonly StoredDType[];
}

/**
 * The checks of one backend's memory API, with messages prefixed by the backend name
 * (`"wasm upload: …"`). Methods return what they resolved.
 */
export class MemoryChecks {
  constructor(
    readonly backendName: string,
    private readonly limits: MemoryLimits,
  ) {}

  /** Rejects any call on a destroyed backend. */
  assertLive(method: string, destroyed: boolean): void {
    if (destroyed) {
      throw invalidArgument(
        `${this.backendName} ${method}`,
        'backend',
        'a live backend',
        described('a destroyed backend'),
      );
    }
  }

  /** `dtype` if stored; `UnsupportedError` for a known dtype this backend lacks. */
  dtype(method: string, dtype: unknown): StoredDType {
    const stored = this.limits.dtypes ?? ['f32', 'i32'];
    if ((stored as readonly unknown[]).includes(dtype)) return dtype as StoredDType;
    const where = `${this.backendName} ${method}`;
    if (dtype === 'f32' || dtype === 'i32' || dtype === 'f16' || dtype === 'q8_0' || dtype === 'q4_0') {
      throw new UnsupportedError(
        `${where}: dtype: expected one of ${stored.join(', ')} (this backend's dtypes), found ${dtype}`,
      );
    }
    throw invalidArgument(where, 'dtype', 'one of f32, i32, f16, q8_0, q4_0', dtype);
  }

  /**
   * The element count of `shape`, checked against the limits. A block-quantized shape must end in a
   * dimension that is a multiple of 32, so every row is whole blocks.
   */
  shape(method: string, shape: unknown, dtype: StoredDType = 'f32'): number {
    const where = `${this.backendName} ${method}`;
    const { maxTensorBytes, maxDimension = maxTensorBytes, limitName = 'maxTensorBytes' } = this.limits;
    if (!Array.isArray(shape)) throw invalidArgument(where, 'shape', 'an array of dimensions', shape);
    for (let i = 0; i < shape.length; i++) requireInteger(where, `shape[${i}]`, shape[i], 0, maxDimension);
    if (isQuantized(dtype) && (shape.length === 0 || shape[shape.length - 1] % QUANT_BLOCK_SIZE !== 0)) {
      throw shapeMismatch(
        where,
        'shape',
        `a last dimension that is a multiple of ${QUANT_BLOCK_SIZE} (whole ${dtype} blocks per row)`,
        shape,
      );
    }
    const size = shapeSize(shape);
    const bytes = storageBytes(dtype, size);
    if (bytes > maxTensorBytes) {
      throw new UnsupportedError(
        `${where}: shape ${formatShape(shape)}: expected at most ${maxTensorBytes} bytes (${limitName}), found ${bytes}`,
      );
    }
    return size;
  }

  /**
   * Requires the typed array of `dtype`: `Float32Array` for f32, `Int32Array` for i32, `Uint16Array`
   * of half-precision bits for f16, `Uint8Array` for blocks.
   */
  data(method: string, dtype: StoredDType, data: unknown): void {
    const ok =
      dtype === 'f32'
        ? data instanceof Float32Array
        : dtype === 'i32'
          ? data instanceof Int32Array
          : dtype === 'f16'
            ? data instanceof Uint16Array
            : data instanceof Uint8Array;
    if (ok) return;
    throw invalidArgument(
      `${this.backendName} ${method}`,
      'data',
      dtype === 'f32'
        ? 'a Float32Array (dtype f32)'
        : dtype === 'i32'
          ? 'an Int32Array (dtype i32)'
          : dtype === 'f16'
            ? 'a Uint16Array of float16 bits (dtype f16)'
            : `a Uint8Array of GGUF blocks (dtype ${dtype})`,
      described((data as { constructor?: { name?: string } } | null)?.constructor?.name ?? String(data)),
    );
  }

  /** `allocate`: the dtype and element count (a quantized allocation is all-zero blocks). */
  allocate(shape: unknown, dtype: unknown): { dtype: StoredDType; size: number } {
    const checked = this.dtype('allocate', dtype);
    return { dtype: checked, size: this.shape('allocate', shape, checked) };
  }

  /**
   * `upload`: the dtype and element count; `data` must hold exactly the storage of that many
   * elements (for q8_0/q4_0 the bytes of whole GGUF blocks, whose f16 scales must be finite).
   */
  upload(data: unknown, shape: Shape, dtype: unknown): { dtype: StoredDType; size: number } {
    const checked = this.dtype('upload', dtype);
    const size = this.shape('upload', shape, checked);
    this.data('upload', checked, data);
    const where = `${this.backendName} upload`;
    const length = (data as ArrayLike<number>).length;
    const expected = isQuantized(checked) ? storageLength(checked, size) : size;
    if (length !== expected) {
      throw shapeMismatch(
        where,
        'data.length',
        isQuantized(checked)
          ? `${expected} bytes (${size / QUANT_BLOCK_SIZE} ${checked} blocks of shape ${formatShape(shape)})`
          : `${expected} (the size of shape ${formatShape(shape)})`,
        length,
      );
    }
    if (isQuantized(checked)) {
      const block = firstNonFiniteScale(data as Uint8Array, checked);
      if (block >= 0) {
        throw invalidArgument(
          where,
          `data block ${block} scale`,
          'a finite float16',
          described('an infinite or NaN float16 (a corrupt block)'),
        );
      }
    }
    return { dtype: checked, size };
  }

  /** `view`: the element count of `shape`, at most the source's. */
  view(source: TensorHandle & { readonly size: number }, shape: Shape): number {
    const size = this.shape('view', shape, source.dtype as StoredDType);
    if (size > source.size) {
      throw shapeMismatch(
        `${this.backendName} view`,
        'shape',
        `at most ${source.size} elements (the size of ${formatShape(source.shape)})`,
        described(`${formatShape(shape)} = ${size} elements`),
      );
    }
    return size;
  }

  /** `write`: data of the target's dtype fitting from `offset`. */
  write(
    target: { readonly dtype: StoredDType; readonly size: number },
    data: Float32Array | Int32Array,
    offset: number,
  ): void {
    const where = `${this.backendName} write`;
    if (target.dtype !== 'f32' && target.dtype !== 'i32') {
      throw invalidArgument(where, 'tensor dtype', 'f32 or i32', target.dtype);
    }
    this.data('write', target.dtype, data);
    requireInteger(where, 'offset', offset, 0, target.size);
    if (offset + data.length > target.size) {
      throw shapeMismatch(
        where,
        'data.length',
        `at most size - offset = ${target.size} - ${offset} = ${target.size - offset}`,
        data.length,
      );
    }
  }

  /** `read`: an f32 source, and a `target` (when given) of at least its size. */
  read(source: { readonly dtype: StoredDType; readonly size: number }, target: unknown): void {
    const where = `${this.backendName} read`;
    if (source.dtype !== 'f32') throw invalidArgument(where, 'tensor dtype', 'f32', source.dtype);
    if (target !== undefined && (!(target instanceof Float32Array) || target.length < source.size)) {
      throw invalidArgument(
        where,
        'target',
        `a Float32Array of at least ${source.size} elements (the tensor's size)`,
        described(target instanceof Float32Array ? `a Float32Array of ${target.length}` : String(target)),
      );
    }
  }

  /** `run`: a kernel name of `kernels`. */
  kernelName(kernels: object, name: unknown): void {
    if (typeof name !== 'string' || !Object.hasOwn(kernels, name)) {
      throw invalidArgument(
        `${this.backendName} run`,
        'kernel name',
        `one of ${KERNEL_NAMES.join(', ')}`,
        name,
      );
    }
  }

  /** `run`: an inputs object and an attrs object (or undefined), named by the kernel. */
  kernelArguments(name: string, inputs: unknown, attrs: unknown): void {
    if (inputs === null || typeof inputs !== 'object') {
      throw invalidArgument(name, 'inputs', 'an object of tensor handles', inputs);
    }
    if (attrs !== undefined && (attrs === null || typeof attrs !== 'object')) {
      throw invalidArgument(name, 'attrs', 'an object', attrs);
    }
  }
}
