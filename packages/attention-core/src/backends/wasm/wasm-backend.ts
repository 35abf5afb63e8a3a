/**
 * The WASM-SIMD backend: kernels compiled from AssemblyScript with 128-bit SIMD, every tensor resident
 * in one `WebAssembly.Memory`, and optionally a worker pool sharing that memory.
 */
import {
  type Backend,
  type BackendCapabilities,
  type BackendFactory,
  type BackendOptions,
  type BackendProbe,
  BackendUnavailableError,
  type DType,
  KERNEL_NAMES,
  type KernelAttrs,
  type KernelInputs,
  type KernelName,
  type Shape,
  type TensorHandle,
} from '@rotor/core';
import { ROTARY_LAYOUTS } from '../reference/apply-rotary.js';
import { SCORE_BIAS_TYPES } from '../reference/attention.js';
import { requireInteger } from '../reference/validate.js';
import { MemoryChecks, type StoredDType } from '../shared/memory-checks.js';
import { halfToFloat, isQuantized } from '../shared/quantized.js';
import { SIMD_MODULE_BASE64, THREADS_MODULE_BASE64 } from './generated/wasm-modules.js';
import { defaultWorkerFactory, ThreadPool, type WasmWorkerFactory } from './thread-pool.js';
import { HOST_KERNELS, type KernelExports, type KernelHost, PARALLEL_KERNELS } from './wasm-kernels.js';
import { PAGE_BYTES, WASM32_MAX_BYTES, WasmHeap } from './wasm-memory.js';
import { resolveWasmTensor, WASM_BACKEND_NAME, type WasmDType, WasmTensor } from './wasm-tensor.js';

/** Largest single tensor: 2 GiB, half the wasm32 address space. */
const MAX_TENSOR_BYTES = 2 ** 31;

/**
 * Tolerance declared against the reference backend. The kernels accumulate in float32 (the reference
 * in float64, as llama2.c does not): sums of a few hundred products and float32 `exp` differ from the
 * float64 results by a few float32 ulps, 1e-6 relative in the conformance cases; 1e-5 leaves room
 * for longer rows while still catching any indexing or masking mistake.
 */
const F32_TOLERANCE = 1e-5;

/** Element types the backend stores: q8_0/q4_0 as matmul weights (see wasm-tensor.ts for their layout). */
const WASM_DTYPES: readonly StoredDType[] = Object.freeze(['f32', 'i32', 'q8_0', 'q4_0'] as const);

/**
 * Multiply-adds below which a parallel kernel runs on the calling thread alone (~10 µs): below it a
 * dispatch, and a worker spinning beside the caller on a busy machine, cost more than the split
 * saves (stories260K's 512×64 classifier, 32768, ran faster unsplit).
 */
const DEFAULT_MIN_PARALLEL_WORK = 1 << 16;

/** Options of {@link wasmBackend} and {@link createWasmBackend}. */
export interface WasmBackendOptions extends BackendOptions {
  /**
   * Threads the kernels run on, the calling thread included. Default: `navigator.hardwareConcurrency`
   * capped at 4 where known, else 1. More than 1 needs `SharedArrayBuffer` (Node, or a
   * cross-origin-isolated page); otherwise the backend runs single-threaded and warns once.
   */
  threads?: number;
  /** Starts pool workers; default web `Worker` where present, else Node `worker_threads`. */
  workerFactory?: WasmWorkerFactory;
  /**
   * Bytes the backend's memory may grow to, at most 4 GiB (the wasm32 limit, the default). Allocations
   * past it throw `UnsupportedError`.
   */
  maxMemoryBytes?: number;
  /** Multiply-adds a matmul or attention call needs before it is split across threads (default 65536). */
  minParallelWork?: number;
  /** Receives the one warning about falling back to a single thread; default `console.warn`. */
  warn?: (message: string) => void;
}

/** The SIMD feature probe: a function returning `i8x16.splat(0)` (validates only with SIMD). */
const SIMD_PROBE = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Probes WebAssembly with SIMD, without compiling the kernels. */
export async function probeWasm(): Promise<BackendProbe> {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    return { available: false, reason: 'WebAssembly is not available in this environment' };
  }
  if (!WebAssembly.validate(SIMD_PROBE)) {
    return { available: false, reason: 'this WebAssembly engine does not support 128-bit SIMD' };
  }
  return { available: true };
}

/** Why threads cannot be used here, or undefined when they can. */
function threadsUnavailable(): string | undefined {
  if (
    typeof SharedArrayBuffer !== 'function' ||
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false
  ) {
    return (
      'SharedArrayBuffer is unavailable because the page is not cross-origin isolated: serve it with the headers ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (COOP/COEP) to enable threads'
    );
  }
  if (!WebAssembly.validate(decodeBase64(THREADS_MODULE_BASE64))) {
    return 'this WebAssembly engine does not support threads (shared memory and atomics)';
  }
  return undefined;
}

let warnedSingleThreaded = false;

function defaultWarn(message: string): void {
  // biome-ignore lint/suspicious/noConsole: the one documented warning when threads fall back to one.
  console.warn(message);
}

function defaultThreads(): number {
  const known = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof known === 'number' && known >= 1 ? Math.min(4, Math.floor(known)) : 1;
}

/** The WASM {@link Backend}. Create it with {@link createWasmBackend} or {@link wasmBackend}. */
class WasmBackend implements Backend, KernelHost {
  readonly name = WASM_BACKEND_NAME;
  readonly description: string;
  readonly capabilities: BackendCapabilities;
  readonly owner = this;
  epoch = 0;
  private attributeBlock: { address: number; bytes: number } | undefined;
  private workspaceBlock: { address: number; bytes: number } | undefined;
  private scratchBlock:
    | { address: number; bytes: number; stride: number; view: { base: number; stride: number } }
    | undefined;
  private readonly checks: MemoryChecks;
  private destroyed = false;
  /** A parallel kernel's arguments when it runs on this thread alone, reused across calls. */
  private readonly call: number[] = [];

  constructor(
    readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool | undefined,
    private readonly minParallelWork: number,
    note: string,
  ) {
    const threads = pool?.participants ?? 1;
    this.capabilities = Object.freeze({
      kernels: KERNEL_NAMES,
      dtypes: WASM_DTYPES,
      scoreBias: SCORE_BIAS_TYPES,
      rotaryLayouts: ROTARY_LAYOUTS,
      maxTensorBytes: Math.min(MAX_TENSOR_BYTES, heap.maxBytes),
      threads,
      f32Tolerance: F32_TOLERANCE,
    });
    this.checks = new MemoryChecks(WASM_BACKEND_NAME, {
      maxTensorBytes: this.capabilities.maxTensorBytes,
      maxDimension: MAX_TENSOR_BYTES,
      dtypes: WASM_DTYPES,
    });
    this.description = `WebAssembly SIMD backend (${threads === 1 ? 'single-threaded' : `${threads} threads sharing one memory`}, float32 accumulation${note})`;
  }

  get floats(): Float32Array {
    return this.heap.floats;
  }

  get ints(): Int32Array {
    return this.heap.ints;
  }

  attributes(length: number): number {
    const bytes = Math.max(16, length * 4);
    if (this.attributeBlock === undefined || this.attributeBlock.bytes < bytes) {
      if (this.attributeBlock) this.heap.release(this.attributeBlock);
      this.attributeBlock = undefined;
      this.attributeBlock = this.heap.allocate(Math.max(bytes, 1024), 'wasm run');
    }
    return this.attributeBlock.address / 4;
  }

  workspace(bytes: number): number {
    if (this.workspaceBlock === undefined || this.workspaceBlock.bytes < bytes) {
      if (this.workspaceBlock) this.heap.release(this.workspaceBlock);
      this.workspaceBlock = undefined;
      this.workspaceBlock = this.heap.allocate(Math.max(bytes, 4096), 'wasm run');
    }
    return this.workspaceBlock.address;
  }

  scratch(bytesPerThread: number): { base: number; stride: number } {
    const stride = Math.ceil(bytesPerThread / 64) * 64;
    const threads = this.capabilities.threads;
    if (this.scratchBlock === undefined || this.scratchBlock.stride < stride) {
      if (this.scratchBlock) {
        this.heap.release({ address: this.scratchBlock.address, bytes: this.scratchBlock.bytes });
      }
      this.scratchBlock = undefined;
      const block = this.heap.allocate(stride * threads, 'wasm run');
      this.scratchBlock = { ...block, stride, view: { base: block.address, stride } };
    }
    return this.scratchBlock.view;
  }

  parallel(
    kernel: (typeof PARALLEL_KERNELS)[number],
    args: readonly number[],
    units: number,
    align: number,
    work: number,
    scratch?: { base: number; stride: number },
  ): void {
    const compute = this.kernels[kernel] as (...values: number[]) => void;
    if (this.pool === undefined || work < this.minParallelWork || units < 2) {
      if (kernel === 'matmul') {
        // the decode step's most frequent call, made without building an argument list
        const a = args;
        this.kernels.matmul(a[0], a[1], a[2], a[3], a[4], a[5], a[6], 0, units);
        return;
      }
      if (kernel === 'attention' && scratch !== undefined) {
        // the decode step's attention, likewise (an `apply` through the JS-to-wasm wrapper costs more)
        const a = args;
        this.kernels.attention(
          a[0],
          a[1],
          a[2],
          a[3],
          a[4],
          a[5],
          a[6],
          a[7],
          a[8],
          a[9],
          a[10],
          a[11],
          a[12],
          a[13],
          a[14],
          a[15],
          a[16],
          a[17],
          a[18],
          a[19],
          scratch.base,
          0,
          units,
        );
        return;
      }
      const call = this.call;
      call.length = 0;
      for (let a = 0; a < args.length; a++) call.push(args[a]);
      if (scratch !== undefined) call.push(scratch.base);
      call.push(0, units);
      compute.apply(null, call);
      return;
    }
    this.pool.dispatch(
      PARALLEL_KERNELS.indexOf(kernel),
      compute,
      args,
      units,
      align,
      scratch?.base ?? 0,
      scratch?.stride ?? 0,
    );
  }

  allocate(shape: Shape, dtype: DType = 'f32'): TensorHandle {
    this.assertAlive('allocate');
    const checked = this.checks.allocate(shape, dtype);
    return this.create('allocate', checked.dtype, shape, checked.size);
  }

  upload(
    data: Float32Array | Int32Array | Uint16Array | Uint8Array,
    shape: Shape,
    dtype: DType = 'f32',
  ): TensorHandle {
    this.assertAlive('upload');
    const checked = this.checks.upload(data, shape, dtype);
    const tensor = this.create('upload', checked.dtype, shape, checked.size);
    if (isQuantized(checked.dtype)) this.storeBlocks(tensor, data as Uint8Array);
    else this.store(tensor, data as Float32Array | Int32Array, 0);
    return tensor;
  }

  view(tensor: TensorHandle, shape: Shape): TensorHandle {
    this.assertAlive('view');
    const source = resolveWasmTensor('wasm view', 'tensor', tensor, this);
    const size = this.checks.view(source, shape);
    const bytes = source.scales === 0 ? size * 4 : source.capacity;
    return new WasmTensor(this, source.dtype, shape, source.address, bytes, source.root, source.scales);
  }

  write(tensor: TensorHandle, data: Float32Array | Int32Array, offset = 0): void {
    this.assertAlive('write');
    const target = resolveWasmTensor('wasm write', 'tensor', tensor, this);
    this.checks.write(target, data, offset);
    this.store(target, data, offset);
  }

  /** Copies an f32 tensor out of the memory, into the first elements of `target` when given. */
  async read(tensor: TensorHandle, target?: Float32Array): Promise<Float32Array> {
    this.assertAlive('read');
    const source = resolveWasmTensor('wasm read', 'tensor', tensor, this);
    this.checks.read(source, target);
    const elements = this.heap.floats.subarray(source.index, source.index + source.size);
    if (target === undefined) return elements.slice();
    target.set(elements);
    return target;
  }

  dispose(tensor: TensorHandle): void {
    this.assertAlive('dispose');
    const resolved = resolveWasmTensor('wasm dispose', 'tensor', tensor, this);
    if (resolved.release()) {
      this.heap.release({ address: resolved.address, bytes: resolved.capacity });
      this.epoch++;
    }
  }

  run<K extends KernelName>(
    name: K,
    inputs: KernelInputs<K>,
    attrs: KernelAttrs<K>,
    out: TensorHandle,
  ): void {
    this.assertAlive('run');
    this.checks.kernelName(HOST_KERNELS, name);
    this.checks.kernelArguments(name, inputs, attrs);
    const kernel = HOST_KERNELS[name] as (
      host: KernelHost,
      inputs: KernelInputs<K>,
      attrs: KernelAttrs<K>,
      out: TensorHandle,
    ) => void;
    kernel(this, inputs, attrs ?? ({} as KernelAttrs<K>), out);
  }

  async sync(): Promise<void> {
    this.assertAlive('sync');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool?.stop();
  }

  private create(method: string, dtype: WasmDType, shape: Shape, size: number): WasmTensor {
    if (!isQuantized(dtype)) {
      const block = this.heap.allocate(size * 4, `wasm ${method}`);
      return new WasmTensor(this, dtype, shape, block.address, block.bytes);
    }
    const scalesOffset = Math.ceil((dtype === 'q8_0' ? size : size / 2) / 16) * 16;
    const block = this.heap.allocate(scalesOffset + size / 8, `wasm ${method}`);
    return new WasmTensor(
      this,
      dtype,
      shape,
      block.address,
      block.bytes,
      undefined,
      block.address + scalesOffset,
    );
  }

  /** Repacks GGUF blocks into the tensor's values and f32 scales (layout in wasm-tensor.ts). */
  private storeBlocks(tensor: WasmTensor, data: Uint8Array): void {
    const floats = this.heap.floats;
    const bytes = new Uint8Array(this.heap.memory.buffer);
    const values = tensor.dtype === 'q8_0' ? 32 : 16;
    const blockBytes = values + 2;
    const scaleIndex = tensor.scales / 4;
    for (let b = 0, at = 0; at < data.length; b++, at += blockBytes) {
      floats[scaleIndex + b] = halfToFloat(data[at] | (data[at + 1] << 8));
      bytes.set(data.subarray(at + 2, at + blockBytes), tensor.address + b * values);
    }
  }

  private store(tensor: WasmTensor, data: Float32Array | Int32Array, offset: number): void {
    const view = data instanceof Float32Array ? this.heap.floats : this.heap.ints;
    view.set(data, tensor.index + offset);
  }

  private assertAlive(method: string): void {
    this.checks.assertLive(method, this.destroyed);
  }
}

/**
 * Creates a WASM backend: compiles the kernels (the threaded build over a shared memory when more than
 * one thread is asked for and possible) and starts the worker pool. Throws `BackendUnavailableError`
 * when this engine lacks WebAssembly SIMD, `InvalidArgumentError` for bad options.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const probe = await probeWasm();
  if (!probe.available) throw new BackendUnavailableError(`wasm backend: ${probe.reason}`);
  const requested =
    options.threads === undefined
      ? defaultThreads()
      : requireInteger('wasm backend', 'options.threads', options.threads, 1, 256);
  const maxBytes =
    options.maxMemoryBytes === undefined
      ? WASM32_MAX_BYTES
      : requireInteger(
          'wasm backend',
          'options.maxMemoryBytes',
          options.maxMemoryBytes,
          2 * PAGE_BYTES,
          WASM32_MAX_BYTES,
        );
  const minParallelWork =
    options.minParallelWork === undefined
      ? DEFAULT_MIN_PARALLEL_WORK
      : requireInteger('wasm backend', 'options.minParallelWork', options.minParallelWork, 0);
  const warn = options.warn ?? defaultWarn;
  const maximumPages = Math.floor(maxBytes / PAGE_BYTES);

  let note = '';
  if (requested > 1) {
    const unavailable = threadsUnavailable();
    if (unavailable === undefined) {
      const memory = new WebAssembly.Memory({ initial: 2, maximum: maximumPages, shared: true });
      const module = await WebAssembly.compile(decodeBase64(THREADS_MODULE_BASE64));
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      try {
        const pool = await ThreadPool.start(
          requested - 1,
          module,
          memory,
          PARALLEL_KERNELS,
          options.workerFactory ?? defaultWorkerFactory,
        );
        return new WasmBackend(
          instance.exports as unknown as KernelExports,
          new WasmHeap(memory, maximumPages * PAGE_BYTES),
          pool,
          minParallelWork,
          note,
        );
      } catch (error) {
        note = `; ${requested} threads requested but the workers failed to start: ${String(error)}`;
      }
    } else {
      note = `; ${requested} threads requested: ${unavailable}`;
    }
    if (!warnedSingleThreaded) {
      warnedSingleThreaded = true;
      warn(`rotor wasm backend: running single-threaded${note}`);
    }
  }
  const memory = new WebAssembly.Memory({ initial: 2, maximum: maximumPages });
  const instance = await WebAssembly.instantiate(decodeBase64(SIMD_MODULE_BASE64), { env: { memory } });
  return new WasmBackend(
    instance.instance.exports as unknown as KernelExports,
    new WasmHeap(memory, maximumPages * PAGE_BYTES),
    undefined,
    minParallelWork,
    note,
  );
}

/**
 * The WASM backend's factory. `defaults` apply to every backend it creates; options passed to
 * `create` override them. `probe()` checks for WebAssembly SIMD without compiling the kernels.
 */
export function wasmBackend(defaults: WasmBackendOptions = {}): BackendFactory {
  return {
    name: WASM_BACKEND_NAME,
    probe: probeWasm,
    create: (options?: BackendOptions) => {
      const merged: WasmBackendOptions = { ...defaults };
      if (options?.threads !== undefined) merged.threads = options.threads;
      return createWasmBackend(merged);
    },
  };
}
