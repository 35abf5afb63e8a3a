/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: WGSL compute kernels over GPU buffers. It uses only the WebGPU API, found at
 * `navigator.gpu` or passed in as `options.gpu` (in Node, Dawn from the npm package `webgpu`, through
 * `createNodeGpu()` of `@rotor/attention-core/node`). Kernels are encoded into one pending command
 * encoder and submitted when the caller syncs, reads or writes.
 */
import {
  type Backend,
  type BackendCapabilities,
  type BackendFactory,
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
import { invalidArgument } from '../reference/validate.js';
import { MemoryChecks, type StoredDType, storageBytes } from '../shared/memory-checks.js';
import { add } from './add.js';
import { applyRotary } from './apply-rotary.js';
import { ATTENTION_WORKGROUP_BYTES, attention } from './attention.js';
import { embedding } from './embedding.js';
import { BUFFER_USAGE, GpuEngine } from './engine.js';
import { gelu } from './gelu.js';
import {
  DEFAULT_KERNEL_LIMITS,
  type GpuKernel,
  type GpuKernelContext,
  type GpuKernelLimits,
  type GpuTuning,
  HARDWARE_TUNING,
  SOFTWARE_TUNING,
} from './kernel-context.js';
import { layerNorm } from './layer-norm.js';
import { matmul } from './matmul.js';
import { mul } from './mul.js';
import { rmsNorm } from './rms-norm.js';
import { silu } from './silu.js';
import { softmax } from './softmax.js';
import { resolveTensor } from './validate.js';
import { WEBGPU_BACKEND_NAME, WebGpuTensor } from './webgpu-tensor.js';
import { ELEMENT_THREADS } from './wgsl.js';
import { writeRows } from './write-rows.js';

const KERNELS: { readonly [K in KernelName]: GpuKernel<K> } = {
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

/**
 * Tolerance the backend declares against the reference: its sums accumulate in float32 (the
 * reference's in float64) in a different order, and WGSL's `exp` may be a few ulps off; 1e-4
 * relative to max(1, |expected|) covers reductions of a few thousand terms of unit size.
 */
export const WEBGPU_F32_TOLERANCE = 1e-4;

export type { GpuKernelLimits } from './kernel-context.js';

/**
 * Element types the backend stores: f16 (two halves per word) and q8_0/q4_0 (their GGUF block bytes
 * as uploaded) as matmul weights.
 */
const WEBGPU_DTYPES: readonly StoredDType[] = Object.freeze(['f32', 'i32', 'f16', 'q8_0', 'q4_0'] as const);

/** Device limits every program needs; all are at or below WebGPU's guaranteed defaults. */
const REQUIRED_LIMITS: readonly (readonly [keyof GPUSupportedLimits, number])[] = [
  ['maxComputeInvocationsPerWorkgroup', ELEMENT_THREADS],
  ['maxComputeWorkgroupSizeX', ELEMENT_THREADS],
  ['maxComputeWorkgroupSizeY', 16],
  ['maxComputeWorkgroupStorageSize', ATTENTION_WORKGROUP_BYTES],
  ['maxStorageBuffersPerShaderStage', 5],
];

/** Options of {@link webgpuBackend}. */
export interface WebGpuBackendOptions {
  /**
   * The WebGPU entry point; `navigator.gpu` when absent. In Node pass the GPU that
   * `createNodeGpu()` of `@rotor/attention-core/node` returns.
   */
  readonly gpu?: GPU;
  /** Power preference passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * Submit every kernel alone inside a validation error scope, so a GPU error names its kernel
   * (slower). Without it only each program's first run is checked this way.
   */
  readonly debug?: boolean;
  /**
   * Report a software adapter (SwiftShader, llvmpipe, WARP) as unavailable, so `auto` selection
   * prefers the CPU backends, which are faster than a GPU emulated on the CPU. Default false.
   */
  readonly skipSoftwareAdapter?: boolean;
  /**
   * Kernel variants: `hardware` spreads each row of the per-token kernels over several threads
   * (for real GPUs), `software` avoids workgroup barriers, which a GPU emulated on the CPU makes
   * very costly. Default `auto`: `software` on a software adapter, else `hardware`.
   */
  readonly kernelTuning?: 'auto' | 'hardware' | 'software';
  /**
   * Kernel limits and fast-path thresholds (each optional; see {@link GpuKernelLimits}): mainly for
   * tests, which force the split matmul or a given attention program with them.
   * `maxBindingBytes` above the device's `maxStorageBufferBindingSize` is lowered to it.
   */
  readonly kernelLimits?: Partial<GpuKernelLimits>;
}

/** The WebGPU {@link Backend}, with the device and adapter details a caller may want. */
export interface WebGpuBackend extends Backend {
  /** The device every kernel runs on. */
  readonly device: GPUDevice;
  /** True on a software adapter (SwiftShader, llvmpipe, WARP): timings measure correctness runs, not speed. */
  readonly software: boolean;
  /** The kernel variants in use (see {@link WebGpuBackendOptions.kernelTuning}). */
  readonly kernelTuning: 'hardware' | 'software';
  /** The kernel limits in use (see {@link WebGpuBackendOptions.kernelLimits}). */
  readonly kernelLimits: GpuKernelLimits;
  /** Optional WebGPU features the kernels use on this device (`subgroups`). */
  readonly features: readonly string[];
}

function gpuOf(options: WebGpuBackendOptions): GPU | undefined {
  return options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

function missingLimits(limits: GPUSupportedLimits): string | undefined {
  const missing = REQUIRED_LIMITS.filter(([name, least]) => (limits[name] as number) < least);
  if (missing.length === 0) return undefined;
  return `the adapter's limits are too small: ${missing
    .map(([name, least]) => `${name} ${limits[name]} (needs ${least})`)
    .join(', ')}`;
}

type AdapterResult = { readonly adapter: GPUAdapter } | { readonly reason: string };

async function findAdapter(options: WebGpuBackendOptions): Promise<AdapterResult> {
  const gpu = gpuOf(options);
  if (gpu === undefined) {
    return {
      reason:
        'WebGPU is not available: no navigator.gpu in this environment and no GPU passed as webgpuBackend({ gpu })',
    };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(
      options.powerPreference === undefined ? undefined : { powerPreference: options.powerPreference },
    );
  } catch (error) {
    return { reason: `requestAdapter() failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (adapter === null) {
    return {
      reason:
        'requestAdapter() found no WebGPU adapter (WebGPU disabled or blocklisted, or no GPU driver; in Node a Vulkan loader and driver are needed)',
    };
  }
  if (options.skipSoftwareAdapter === true) {
    const { description, software } = describeAdapter(adapter);
    if (software)
      return {
        reason: `${description}: a software adapter is slower than the CPU backends; select webgpu explicitly to use it`,
      };
  }
  const limits = missingLimits(adapter.limits);
  return limits === undefined ? { adapter } : { reason: limits };
}

function describeAdapter(adapter: GPUAdapter): { description: string; software: boolean } {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((part) => part !== '');
  const name = parts.length === 0 ? 'an unnamed adapter' : parts.join(' ');
  const fallback =
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const software = fallback || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(name);
  return {
    description: `WebGPU on ${name}${software ? ' (software adapter: correctness only, not speed)' : ''}`,
    software,
  };
}

/** Optional features the kernels use when the adapter has them. */
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['subgroups'];

/** Checks `options.kernelLimits` (each field optional). */
function validateKernelLimits(limits: unknown): Partial<GpuKernelLimits> {
  const where = 'webgpuBackend';
  if (limits === undefined) return {};
  if (limits === null || typeof limits !== 'object') {
    throw invalidArgument(where, 'options.kernelLimits', 'an object', limits);
  }
  const checked = limits as Partial<GpuKernelLimits>;
  for (const name of ['maxBindingBytes', 'flashMinQueries', 'splitKvMinKeys', 'splitKvChunk'] as const) {
    const value = checked[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw invalidArgument(where, `options.kernelLimits.${name}`, 'a positive integer', value);
    }
  }
  if (checked.subgroups !== undefined && typeof checked.subgroups !== 'boolean') {
    throw invalidArgument(where, 'options.kernelLimits.subgroups', 'a boolean', checked.subgroups);
  }
  return checked;
}

class WebGpuBackendImpl implements WebGpuBackend {
  readonly name = WEBGPU_BACKEND_NAME;
  readonly capabilities: BackendCapabilities;
  readonly kernelTuning: 'hardware' | 'software';
  readonly kernelLimits: GpuKernelLimits;
  readonly features: readonly string[];
  private readonly engine: GpuEngine;
  private readonly checks: MemoryChecks;
  private readonly context: GpuKernelContext;
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    readonly description: string,
    readonly software: boolean,
    debug: boolean,
    tuning: GpuTuning,
    limits: Partial<GpuKernelLimits>,
  ) {
    const deviceBinding = device.limits.maxStorageBufferBindingSize;
    this.kernelLimits = Object.freeze({
      flashMinQueries: limits.flashMinQueries ?? DEFAULT_KERNEL_LIMITS.flashMinQueries,
      splitKvMinKeys: limits.splitKvMinKeys ?? DEFAULT_KERNEL_LIMITS.splitKvMinKeys,
      splitKvChunk: limits.splitKvChunk ?? DEFAULT_KERNEL_LIMITS.splitKvChunk,
      subgroups: limits.subgroups ?? DEFAULT_KERNEL_LIMITS.subgroups,
      maxBindingBytes: Math.min(limits.maxBindingBytes ?? deviceBinding, deviceBinding),
    });
    this.features = Object.freeze(OPTIONAL_FEATURES.filter((feature) => device.features.has(feature)));
    this.engine = new GpuEngine(device, debug, this.kernelLimits.maxBindingBytes);
    this.context = {
      owner: this,
      engine: this.engine,
      tuning,
      limits: this.kernelLimits,
      subgroups: this.kernelLimits.subgroups && this.features.includes('subgroups'),
    };
    this.kernelTuning = tuning.kind;
    this.capabilities = Object.freeze({
      kernels: KERNEL_NAMES,
      dtypes: WEBGPU_DTYPES,
      scoreBias: SCORE_BIAS_TYPES,
      rotaryLayouts: ROTARY_LAYOUTS,
      // A matmul weight or an embedding table may exceed one binding (it is bound in row ranges);
      // other kernels reject a tensor past the binding limit when they run, naming the tensor and the limit.
      maxTensorBytes: device.limits.maxBufferSize,
      threads: 1,
      f32Tolerance: WEBGPU_F32_TOLERANCE,
    });
    this.checks = new MemoryChecks(WEBGPU_BACKEND_NAME, {
      maxTensorBytes: this.capabilities.maxTensorBytes,
      limitName: "maxTensorBytes: the device's maxBufferSize",
      dtypes: WEBGPU_DTYPES,
    });
  }

  allocate(shape: Shape, dtype: DType = 'f32'): TensorHandle {
    this.assertUsable('allocate');
    const checked = this.checks.allocate(shape, dtype);
    return new WebGpuTensor(
      this,
      checked.dtype,
      shape,
      this.createStorage(storageBytes(checked.dtype, checked.size), false),
    );
  }

  upload(
    data: Float32Array | Int32Array | Uint16Array | Uint8Array,
    shape: Shape,
    dtype: DType = 'f32',
  ): TensorHandle {
    this.assertUsable('upload');
    const checked = this.checks.upload(data, shape, dtype);
    const buffer = this.createStorage(storageBytes(checked.dtype, checked.size), true);
    const mapped = buffer.getMappedRange();
    if (checked.dtype === 'f32') new Float32Array(mapped).set(data);
    else if (checked.dtype === 'i32') new Int32Array(mapped).set(data);
    // Halves and GGUF blocks as raw bytes; the buffer's size is rounded up to whole words, left zero.
    else if (checked.dtype === 'f16') new Uint16Array(mapped).set(data);
    else new Uint8Array(mapped).set(data);
    buffer.unmap();
    return new WebGpuTensor(this, checked.dtype, shape, buffer);
  }

  view(tensor: TensorHandle, shape: Shape): TensorHandle {
    this.assertUsable('view');
    const source = resolveTensor('webgpu view', 'tensor', tensor, this);
    this.checks.view(source, shape);
    return new WebGpuTensor(this, source.dtype, shape, source.buffer, source.root);
  }

  write(tensor: TensorHandle, data: Float32Array | Int32Array, offset = 0): void {
    this.assertUsable('write');
    const target = resolveTensor('webgpu write', 'tensor', tensor, this);
    this.checks.write(target, data, offset);
    if (data.length === 0) return;
    // Kernels encoded before this write must see the old contents: submit them first.
    this.engine.flush();
    this.device.queue.writeBuffer(target.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies an f32 tensor out, into the first elements of `target` when given (then returned). */
  async read(tensor: TensorHandle, target?: Float32Array): Promise<Float32Array> {
    this.assertUsable('read');
    const source = resolveTensor('webgpu read', 'tensor', tensor, this);
    this.checks.read(source, target);
    const result = target ?? new Float32Array(source.size);
    await this.engine.readBytes('read', source.buffer, source.byteLength, result);
    return result;
  }

  dispose(tensor: TensorHandle): void {
    this.assertUsable('dispose');
    const buffer = resolveTensor('webgpu dispose', 'tensor', tensor, this).release();
    if (buffer !== undefined) this.engine.destroyBuffer(buffer);
  }

  run<K extends KernelName>(
    name: K,
    inputs: KernelInputs<K>,
    attrs: KernelAttrs<K>,
    out: TensorHandle,
  ): void {
    this.assertLive('run');
    this.checks.kernelName(KERNELS, name);
    this.engine.assertDevice(name);
    this.checks.kernelArguments(name, inputs, attrs);
    const kernel = KERNELS[name] as GpuKernel<K>;
    kernel(this.context, inputs, attrs ?? ({} as KernelAttrs<K>), out);
  }

  async sync(): Promise<void> {
    this.assertUsable('sync');
    await this.engine.sync('sync');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.engine.destroy();
  }

  private createStorage(bytes: number, mapped: boolean): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(4, Math.ceil(bytes / 4) * 4),
      usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST,
      mappedAtCreation: mapped,
    });
  }

  /** Rejects calls on a destroyed backend, then on a lost device. */
  private assertUsable(method: string): void {
    this.assertLive(method);
    this.engine.assertDevice(method);
  }

  private assertLive(method: string): void {
    this.checks.assertLive(method, this.destroyed);
  }
}

/**
 * The WebGPU backend's factory (throws `InvalidArgumentError` for an unknown `kernelTuning` or a
 * malformed `kernelLimits`).
 * `probe()` reports unavailable, with the reason, when there is no
 * `navigator.gpu` and no `options.gpu`, when no adapter is found, or when the adapter's limits are
 * too small, so `auto` selection falls through to the next backend.
 */
export function webgpuBackend(options: WebGpuBackendOptions = {}): BackendFactory {
  const tuning = options.kernelTuning ?? 'auto';
  if (tuning !== 'auto' && tuning !== 'hardware' && tuning !== 'software') {
    throw invalidArgument('webgpuBackend', 'options.kernelTuning', 'one of auto, hardware, software', tuning);
  }
  const limits = validateKernelLimits(options.kernelLimits);
  return {
    name: WEBGPU_BACKEND_NAME,
    probe: async (): Promise<BackendProbe> => {
      const found = await findAdapter(options);
      return 'adapter' in found ? { available: true } : { available: false, reason: found.reason };
    },
    create: async () => {
      const found = await findAdapter(options);
      if (!('adapter' in found)) throw new BackendUnavailableError(`backend webgpu: ${found.reason}`);
      const { adapter } = found;
      let device: GPUDevice;
      try {
        device = await adapter.requestDevice({
          requiredFeatures: OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature)),
          requiredLimits: {
            maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
            maxBufferSize: adapter.limits.maxBufferSize,
          },
        });
      } catch (error) {
        throw new BackendUnavailableError(
          `backend webgpu: requestDevice() failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      const { description, software } = describeAdapter(adapter);
      const useSoftware = tuning === 'software' || (tuning === 'auto' && software);
      return new WebGpuBackendImpl(
        device,
        description,
        software,
        options.debug === true,
        useSoftware ? SOFTWARE_TUNING : HARDWARE_TUNING,
        limits,
      );
    },
  };
}
