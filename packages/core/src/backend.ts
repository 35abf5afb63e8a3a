/**
 * The `Backend` seam: memory plus kernels. Implementations live in `@rotor/attention-core`
 * (reference TypeScript, WASM-SIMD, WebGPU); models only ever talk to this interface.
 */
import type { KernelAttrs, KernelInputs, KernelName } from './kernels.js';
import type { DType, Shape, TensorHandle } from './tensor.js';

/** What a backend can do, declared up front so callers and conformance tests never guess from names. */
export interface BackendCapabilities {
  /** Kernels this backend implements. */
  readonly kernels: readonly KernelName[];
  /** Element types it can store and compute with. */
  readonly dtypes: readonly DType[];
  /** Score-bias descriptor types its attention kernel computes in-kernel. */
  readonly scoreBias: readonly ('alibi' | 't5')[];
  /** Rotary layouts its applyRotary kernel supports. */
  readonly rotaryLayouts: readonly ('interleaved' | 'half-split')[];
  /** Largest single tensor in bytes it can hold. */
  readonly maxTensorBytes: number;
  /** Worker threads its kernels run on (1 when single-threaded). */
  readonly threads: number;
  /**
   * Maximum absolute error a conformance test may expect against the reference backend,
   * relative to max(1, |expected|), for f32 kernels.
   */
  readonly f32Tolerance: number;
}

/** A compute backend: owns tensor memory and runs kernels on it. */
export interface Backend {
  /** Stable identifier, e.g. `reference`, `wasm`, `webgpu`. */
  readonly name: string;
  /** Human-readable detail: adapter name, thread count, SIMD support. */
  readonly description: string;
  /** Declared capabilities. */
  readonly capabilities: BackendCapabilities;

  /** Allocates a zero-filled tensor. */
  allocate(shape: Shape, dtype?: DType): TensorHandle;
  /**
   * Creates a tensor holding a copy of `data` (an f32 Float32Array, i32 Int32Array, or the raw bytes of
   * a quantized dtype). `data.length` must equal the storage length of `shape` and `dtype`.
   */
  upload(
    data: Float32Array | Int32Array | Uint16Array | Uint8Array,
    shape: Shape,
    dtype?: DType,
  ): TensorHandle;
  /**
   * A tensor sharing the first `shapeSize(shape)` elements of `tensor`'s storage, so kernels can
   * run over fewer rows than a scratch buffer was allocated for. Disposing the view is a no-op.
   */
  view(tensor: TensorHandle, shape: Shape): TensorHandle;
  /** Overwrites `tensor` from element `offset` with `data` (f32/i32 tensors). */
  write(tensor: TensorHandle, data: Float32Array | Int32Array, offset?: number): void;
  /**
   * Copies an f32 tensor's contents out, into `target` when given (so a decode step need not
   * allocate; `target.length` must be at least the tensor's size). Asynchronous because GPU reads are.
   */
  read(tensor: TensorHandle, target?: Float32Array): Promise<Float32Array>;
  /** Releases a tensor's memory; later use of the handle is an error. */
  dispose(tensor: TensorHandle): void;
  /** Runs kernel `name`, writing its result into `out`. Validates shapes and throws typed errors. */
  run<K extends KernelName>(name: K, inputs: KernelInputs<K>, attrs: KernelAttrs<K>, out: TensorHandle): void;
  /** Resolves when every kernel submitted so far has finished. */
  sync(): Promise<void>;
  /** Releases every resource; the backend is unusable afterwards. */
  destroy(): void;
}

/** Result of probing whether a backend can run in this environment. */
export interface BackendProbe {
  /** True when {@link BackendFactory.create} is expected to succeed. */
  readonly available: boolean;
  /** Why not, when unavailable (kept so callers can show why a fallback happened). */
  readonly reason?: string;
}

/** Options every backend factory accepts; backends may accept more. */
export interface BackendOptions {
  /** Worker threads for CPU backends; default chosen by the backend. */
  threads?: number;
}

/** Creates backends of one kind. Registered explicitly; nothing registers itself on import. */
export interface BackendFactory {
  /** Name of the backends it creates. */
  readonly name: string;
  /** Checks whether this environment can run the backend, without creating it. */
  probe(): Promise<BackendProbe>;
  /** Creates a backend; throws {@link BackendUnavailableError} when it cannot run here. */
  create(options?: BackendOptions): Promise<Backend>;
}

/** One step of backend selection: the factory tried and, when it was skipped, why. */
export interface BackendSelectionStep {
  readonly name: string;
  readonly chosen: boolean;
  readonly reason?: string;
}

/** A backend plus the record of how it was chosen. */
export interface BackendSelection {
  readonly backend: Backend;
  /** Every factory tried in order, with the reason each unchosen one was skipped. */
  readonly steps: readonly BackendSelectionStep[];
}
