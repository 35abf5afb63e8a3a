/**
 * Tensors as Rotor passes them between packages.
 *
 * A {@link HostTensor} is plain data in JavaScript memory (a typed array plus a shape).
 * A {@link TensorHandle} is a tensor owned by a {@link Backend}: the data lives wherever
 * the backend keeps it (a JS array, WASM linear memory, a GPU buffer).
 */

/**
 * Element types.
 * - `f32`: IEEE float32, one element per value.
 * - `i32`: int32 (token ids).
 * - `f16`: IEEE half precision, stored as Uint16Array bits. Declared for later backends.
 * - `q8_0`: GGUF block quantization, 32 values per 34-byte block (f16 scale + 32 int8). Declared for later.
 * - `q4_0`: GGUF block quantization, 32 values per 18-byte block (f16 scale + 16 bytes of nibbles). Declared for later.
 */
export type DType = 'f32' | 'i32' | 'f16' | 'q8_0' | 'q4_0';

/** Typed-array storage used for each dtype in host memory. */
export interface DTypeStorage {
  f32: Float32Array;
  i32: Int32Array;
  f16: Uint16Array;
  q8_0: Uint8Array;
  q4_0: Uint8Array;
}

/** A dimension list, outermost first (row-major). */
export type Shape = readonly number[];

/** Tensor data held in JavaScript memory. */
export interface HostTensor<D extends DType = DType> {
  /** Element type. */
  readonly dtype: D;
  /** Dimensions, outermost first; the data is row-major. */
  readonly shape: Shape;
  /** Backing storage; its length matches {@link storageLength} of shape and dtype. */
  readonly data: DTypeStorage[D];
}

/** A tensor owned by a backend. Obtain one from {@link Backend.upload} or {@link Backend.allocate}. */
export interface TensorHandle {
  /** Element type. */
  readonly dtype: DType;
  /** Dimensions, outermost first. */
  readonly shape: Shape;
  /** Number of logical elements (product of the shape). */
  readonly size: number;
  /** Name of the backend that owns the data; handles never cross backends. */
  readonly backend: string;
}

/** Values per quantization block for the block-quantized dtypes. */
export const QUANT_BLOCK_SIZE = 32;

/** Bytes used by one block of each quantized dtype. */
export const QUANT_BLOCK_BYTES: Readonly<Record<'q8_0' | 'q4_0', number>> = { q8_0: 34, q4_0: 18 };

/** Number of logical elements in a shape (1 for a scalar shape `[]`). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Length of the host storage array that holds `size` elements of `dtype`. */
export function storageLength(dtype: DType, size: number): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
    case 'f16':
      return size;
    case 'q8_0':
    case 'q4_0':
      return Math.ceil(size / QUANT_BLOCK_SIZE) * QUANT_BLOCK_BYTES[dtype];
  }
}
