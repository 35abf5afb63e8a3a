/**
 * The WebGPU engine under every kernel: pipelines compiled once per program variant and cached,
 * shapes and attrs passed as uniforms from a pooled arena, small per-call arrays (ids, masks, bias
 * tables) from a pooled storage arena, every dispatch encoded into one pending command encoder that
 * is submitted on `flush` (called by `sync`, `read` and `write`), staging buffers pooled for reads,
 * and device loss and GPU validation errors turned into typed errors naming the kernel.
 *
 * Binding convention of every program: `@binding(0)` the uniforms `params`; `@binding(1)` the
 * `aux: array<u32>` words when the dispatch has any; then each input as `var<storage, read>`, then
 * `out` as `var<storage, read_write>`. Programs read input `x` only through `x_at(i)` (an f32), or
 * `x_at4(i)` (the i-th vec4f) when the input is declared `vec4`: when `out` is `x` itself (in-place
 * use) `x` is not bound (WebGPU forbids binding one buffer both read-only and writable in a
 * dispatch) and `x_at` reads `out`. An input declared `u32` (raw bytes, e.g. quantized blocks) is
 * read directly as `x[i]`, an `array<u32>`.
 *
 * Every binding is checked against the largest storage binding (`maxBindingBytes`) before anything
 * is encoded; a kernel whose tensor is larger binds it in ranges (matmul's w, embedding's table: see
 * `rowChunks`) or is rejected here (see `GpuKernelLimits.maxBindingBytes` for which tensors those are).
 */
import { DeviceLostError, mismatch, UnsupportedError } from '@rotor/core';
import type { WebGpuTensor } from './webgpu-tensor.js';

/** `GPUBufferUsage` flags, spelled out so library code needs no WebGPU globals (Node injects only a `GPU`). */
export const BUFFER_USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

/** `GPUMapMode.READ`. */
const MAP_READ = 0x1;

/** Bytes of one uniform slot: every program's `Params` fits, and it meets the usual 256-byte offset alignment. */
const UNIFORM_SLOT_BYTES = 256;
/** Uniform slots per batch; a batch needing more is submitted early. */
const UNIFORM_SLOTS = 512;
/** Initial bytes of the aux arena (grown for a single larger request). */
const AUX_INITIAL_BYTES = 64 * 1024;
/** Free staging buffers kept for later reads. */
const STAGING_POOL = 4;

/** How a program declares an input: f32 elements (default), vec4f, or raw u32 words. */
export type InputElement = 'vec4' | 'u32';

/** A byte range of a buffer to bind. */
export interface BindingRange {
  readonly offset: number;
  readonly bytes: number;
}

/** One kernel launch. */
export interface Dispatch {
  /** Kernel name, used in error messages. */
  readonly kernel: string;
  /** Program name, unique per WGSL source generator (a kernel may have several, e.g. GEMV and GEMM). */
  readonly program: string;
  /** WGSL source given the binding declarations and accessors the engine generated for this variant. */
  readonly code: (bindings: string) => string;
  /** `Params` fields: all u32 fields first, then all f32 fields, in the order the WGSL struct declares them. */
  readonly uniforms: { readonly u32: readonly number[]; readonly f32?: readonly number[] };
  /** Words for the `aux` binding, filled in place (u32 and f32 views of the same words). */
  readonly aux?: { readonly words: number; fill(u32: Uint32Array, f32: Float32Array): void };
  /**
   * Inputs in binding order; `undefined` binds a small zero buffer (an absent optional input).
   * `vec4` binds the input as `array<vec4f>`: its size must be a positive multiple of 4 elements, and it
   * must not share `out`'s allocation (its kernel rejects that aliasing first); `u32` binds its raw
   * words as `array<u32>`. `range` binds only those bytes of the tensor's buffer (its offset a
   * multiple of `minStorageBufferOffsetAlignment`, its size of 4).
   */
  readonly inputs: readonly (readonly [
    name: string,
    tensor: WebGpuTensor | undefined,
    element?: InputElement,
    range?: BindingRange,
  ])[];
  readonly out: WebGpuTensor;
  /** Workgroups to launch (a 1-D count, spread over x and y when it exceeds the per-dimension limit). */
  readonly workgroups: number;
}

/** A GPU buffer carved into aligned per-dispatch slices, mirrored in host memory and written once per batch. */
class Arena {
  buffer: GPUBuffer;
  private mirror: ArrayBuffer;
  private used = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private capacity: number,
    private readonly alignment: number,
  ) {
    this.buffer = device.createBuffer({ size: capacity, usage: usage | BUFFER_USAGE.COPY_DST });
    this.mirror = new ArrayBuffer(capacity);
  }

  fits(bytes: number): boolean {
    return align(this.used, this.alignment) + bytes <= this.capacity;
  }

  /** Replaces an empty arena's buffer by one of at least `bytes`; the old buffer may still be in flight, which WebGPU allows. */
  grow(bytes: number): void {
    this.buffer.destroy();
    this.capacity = 2 ** Math.ceil(Math.log2(bytes));
    this.buffer = this.device.createBuffer({
      size: this.capacity,
      usage: this.usage | BUFFER_USAGE.COPY_DST,
    });
    this.mirror = new ArrayBuffer(this.capacity);
  }

  /** Reserves `bytes` and returns the byte offset; call {@link fits} first. */
  allocate(bytes: number): number {
    const offset = align(this.used, this.alignment);
    this.used = offset + bytes;
    return offset;
  }

  u32(offset: number, words: number): Uint32Array {
    return new Uint32Array(this.mirror, offset, words);
  }

  f32(offset: number, words: number): Float32Array {
    return new Float32Array(this.mirror, offset, words);
  }

  /** Queues this batch's contents ahead of its submit, and starts the next batch. */
  flush(queue: GPUQueue): void {
    if (this.used > 0) queue.writeBuffer(this.buffer, 0, this.mirror, 0, align(this.used, 4));
    this.used = 0;
  }
}

function align(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Why the device went away, as the `device.lost` promise reported it. */
interface LostInfo {
  readonly reason: string;
  readonly message: string;
}

/** Owns a device's command stream for one backend. */
export class GpuEngine {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Program variants that ran once inside a validation error scope. */
  private readonly checked = new Set<string>();
  private readonly uniforms: Arena;
  private readonly aux: Arena;
  /** Buffers the pending batch references: destroying one must wait for the submit. */
  private readonly pendingBuffers = new Set<GPUBuffer>();
  private doomed: GPUBuffer[] = [];
  private readonly freeStaging: GPUBuffer[] = [];
  private readonly zeros: GPUBuffer;
  private scopeChecks: Promise<string | undefined>[] = [];
  private uncaptured: string | undefined;
  private lostInfo: LostInfo | undefined;
  private readonly lost: Promise<LostInfo>;
  private readonly maxGroupsPerDimension: number;
  private scratchBuffer: GPUBuffer | undefined;

  constructor(
    readonly device: GPUDevice,
    /** Check every dispatch inside its own validation error scope, not only each variant's first. */
    private readonly debug: boolean,
    /** Largest storage binding: the device's `maxStorageBufferBindingSize`, or a smaller tuning override. */
    readonly maxBindingBytes: number = device.limits.maxStorageBufferBindingSize,
  ) {
    this.maxGroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
    this.uniforms = new Arena(
      device,
      BUFFER_USAGE.UNIFORM,
      UNIFORM_SLOT_BYTES * UNIFORM_SLOTS,
      Math.max(UNIFORM_SLOT_BYTES, device.limits.minUniformBufferOffsetAlignment),
    );
    this.aux = new Arena(
      device,
      BUFFER_USAGE.STORAGE,
      AUX_INITIAL_BYTES,
      device.limits.minStorageBufferOffsetAlignment,
    );
    this.zeros = device.createBuffer({ size: 16, usage: BUFFER_USAGE.STORAGE });
    this.lost = device.lost.then((info) => {
      this.lostInfo = { reason: info.reason, message: info.message };
      return this.lostInfo;
    });
    device.addEventListener('uncapturederror', (event) => {
      this.uncaptured ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** Throws {@link DeviceLostError} once the device is lost. */
  assertDevice(where: string): void {
    if (this.lostInfo !== undefined) throw deviceLost(where, this.lostInfo);
  }

  /** Encodes one kernel launch into the pending batch. */
  dispatch(request: Dispatch): void {
    if (request.workgroups === 0) return;
    for (const [name, tensor, , range] of request.inputs) {
      if (tensor !== undefined)
        this.checkBinding(request.kernel, `inputs.${name}`, tensor, range?.bytes ?? tensor.byteLength);
    }
    this.checkBinding(request.kernel, 'out', request.out, request.out.byteLength);
    const aliased = request.inputs.map(
      ([, tensor]) => tensor !== undefined && tensor.root === request.out.root,
    );
    const layout = request.inputs.map(
      ([, , element], index) => `${aliased[index] ? 'a' : ''}${element ?? 'f'}`,
    );
    const variant = `${request.program}/${layout.join('')}/${request.aux ? 1 : 0}`;
    const auxBytes = request.aux === undefined ? 0 : Math.max(4, request.aux.words * 4);
    if (!this.uniforms.fits(UNIFORM_SLOT_BYTES) || !this.aux.fits(auxBytes)) this.flush();
    if (!this.aux.fits(auxBytes)) this.aux.grow(auxBytes);

    const isolate = this.debug || !this.checked.has(variant);
    if (isolate) {
      this.flush();
      this.device.pushErrorScope('validation');
    }
    const pipeline = this.pipeline(variant, request, aliased);

    const uniformOffset = this.uniforms.allocate(UNIFORM_SLOT_BYTES);
    const u32 = request.uniforms.u32;
    const f32 = request.uniforms.f32 ?? [];
    this.uniforms.u32(uniformOffset, u32.length).set(u32);
    this.uniforms.f32(uniformOffset + u32.length * 4, f32.length).set(f32);
    const entries: GPUBindGroupEntry[] = [
      {
        binding: 0,
        resource: { buffer: this.uniforms.buffer, offset: uniformOffset, size: UNIFORM_SLOT_BYTES },
      },
    ];
    if (request.aux !== undefined) {
      const offset = this.aux.allocate(auxBytes);
      request.aux.fill(this.aux.u32(offset, request.aux.words), this.aux.f32(offset, request.aux.words));
      entries.push({ binding: 1, resource: { buffer: this.aux.buffer, offset, size: auxBytes } });
    }
    request.inputs.forEach(([, tensor, , range], index) => {
      if (aliased[index]) return;
      entries.push({ binding: entries.length, resource: this.bindingOf(tensor, range) });
    });
    entries.push({ binding: entries.length, resource: this.bindingOf(request.out) });

    this.pass ??= this.commandEncoder().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(
      0,
      this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }),
    );
    const x = Math.min(request.workgroups, this.maxGroupsPerDimension);
    this.pass.dispatchWorkgroups(x, Math.ceil(request.workgroups / x));

    if (isolate) {
      this.flush();
      this.checked.add(variant);
      this.watch(request.kernel, this.device.popErrorScope());
    }
  }

  /** Names of the program variants compiled so far, for diagnostics and tests of path selection. */
  programs(): string[] {
    return [...this.pipelines.keys()];
  }

  /** Encodes a buffer-to-buffer copy into the pending batch. */
  copy(
    source: WebGpuTensor,
    target: WebGpuTensor,
    targetByteOffset: number,
    bytes: number,
    sourceByteOffset = 0,
  ): void {
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(
      source.buffer,
      sourceByteOffset,
      target.buffer,
      targetByteOffset,
      bytes,
    );
    this.pendingBuffers.add(source.buffer).add(target.buffer);
  }

  /** Submits the pending batch (its uniforms and aux words are written just before it). */
  flush(): void {
    if (this.encoder === undefined) return;
    this.endPass();
    this.uniforms.flush(this.device.queue);
    this.aux.flush(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.pendingBuffers.clear();
    for (const buffer of this.doomed) buffer.destroy();
    this.doomed = [];
  }

  /** Destroys `buffer` now, or right after the pending batch that uses it is submitted. */
  destroyBuffer(buffer: GPUBuffer): void {
    if (this.pendingBuffers.has(buffer)) this.doomed.push(buffer);
    else buffer.destroy();
  }

  /** Resolves when every submitted command finished; throws a typed error for device loss or a GPU error. */
  async sync(where: string): Promise<void> {
    this.flush();
    await this.untilLost(where, this.device.queue.onSubmittedWorkDone());
    await this.raiseErrors(where);
  }

  /** Copies the first `bytes` of `buffer` into host memory through a pooled staging buffer. */
  async readBytes(where: string, buffer: GPUBuffer, bytes: number, into: Float32Array): Promise<void> {
    this.flush();
    if (bytes > 0) {
      const staging = this.staging(bytes);
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      try {
        await this.untilLost(where, staging.mapAsync(MAP_READ, 0, bytes));
      } catch (error) {
        staging.destroy();
        throw error;
      }
      into.set(new Float32Array(staging.getMappedRange(0, bytes)));
      staging.unmap();
      if (this.freeStaging.length < STAGING_POOL) this.freeStaging.push(staging);
      else staging.destroy();
    }
    await this.raiseErrors(where);
  }

  /** Releases every GPU resource and the device. */
  destroy(): void {
    this.encoder = undefined;
    this.pass = undefined;
    this.device.destroy();
  }

  private pipeline(variant: string, request: Dispatch, aliased: readonly boolean[]): GPUComputePipeline {
    let pipeline = this.pipelines.get(variant);
    if (pipeline === undefined) {
      const module = this.device.createShaderModule({
        label: request.program,
        code: request.code(bindings(request, aliased)),
      });
      pipeline = this.device.createComputePipeline({
        label: request.program,
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(variant, pipeline);
    }
    return pipeline;
  }

  private bindingOf(tensor: WebGpuTensor | undefined, range?: BindingRange): GPUBufferBinding {
    if (tensor === undefined) return { buffer: this.zeros };
    this.pendingBuffers.add(tensor.buffer);
    if (range !== undefined) return { buffer: tensor.buffer, offset: range.offset, size: range.bytes };
    // A zero-size binding is invalid; an empty tensor's buffer still holds 4 bytes that no thread reads.
    return { buffer: tensor.buffer, offset: 0, size: Math.max(4, align(tensor.byteLength, 4)) };
  }

  /**
   * Rejects a binding larger than {@link maxBindingBytes}, naming the kernel, the tensor (argument,
   * shape, dtype), the limit and where it comes from (the device, or a smaller `kernelLimits` override).
   */
  private checkBinding(kernel: string, what: string, tensor: WebGpuTensor, bytes: number): void {
    if (bytes <= this.maxBindingBytes) return;
    const deviceLimit = this.device.limits.maxStorageBufferBindingSize;
    const source =
      this.maxBindingBytes < deviceLimit
        ? `kernelLimits.maxBindingBytes; the device allows ${deviceLimit}`
        : "the device's maxStorageBufferBindingSize";
    throw new UnsupportedError(
      `${mismatch(
        `${what} [${tensor.shape.join(', ')}] ${tensor.dtype} size`,
        `webgpu ${kernel}`,
        `at most ${this.maxBindingBytes} bytes in one storage binding (${source})`,
        bytes,
      )}; this kernel binds it whole (only matmul weights and embedding tables are split across bindings)`,
      {
        details: {
          kernel,
          tensor: what,
          shape: [...tensor.shape],
          bytes,
          maxBindingBytes: this.maxBindingBytes,
        },
      },
    );
  }

  /**
   * A read-write buffer of at least `bytes` for a kernel's intermediate results, reused by every
   * call: dispatches of one batch run in order, so a later kernel's use cannot race an earlier
   * one's. A larger request replaces it (the old one is destroyed after its pending batch).
   */
  scratch(bytes: number): GPUBuffer {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(4, bytes))));
    if (this.scratchBuffer === undefined || this.scratchBuffer.size < size) {
      if (this.scratchBuffer !== undefined) this.destroyBuffer(this.scratchBuffer);
      this.scratchBuffer = this.device.createBuffer({ size, usage: BUFFER_USAGE.STORAGE });
    }
    return this.scratchBuffer;
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  private staging(bytes: number): GPUBuffer {
    const index = this.freeStaging.findIndex((buffer) => buffer.size >= bytes);
    if (index >= 0) return this.freeStaging.splice(index, 1)[0];
    return this.device.createBuffer({
      size: 2 ** Math.ceil(Math.log2(Math.max(bytes, 256))),
      usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST,
    });
  }

  private watch(kernel: string, scope: Promise<GPUError | null>): void {
    this.scopeChecks.push(
      scope.then(
        (error) =>
          error === null ? undefined : `webgpu ${kernel}: the GPU rejected the kernel: ${error.message}`,
        () => undefined,
      ),
    );
  }

  private async raiseErrors(where: string): Promise<void> {
    const checks = this.scopeChecks;
    this.scopeChecks = [];
    const messages = (await Promise.all(checks)).filter((message) => message !== undefined);
    if (this.lostInfo !== undefined) throw deviceLost(where, this.lostInfo);
    const message = messages[0] ?? this.uncaptured;
    this.uncaptured = undefined;
    if (message !== undefined) {
      throw new UnsupportedError(
        message.startsWith('webgpu ') ? message : `webgpu ${where}: GPU error: ${message}`,
      );
    }
  }

  /** `work`, or a {@link DeviceLostError} as soon as the device is lost first. */
  private async untilLost<T>(where: string, work: Promise<T>): Promise<T> {
    const lost = this.lost.then((info): never => {
      throw deviceLost(where, info);
    });
    try {
      return await Promise.race([work, lost]);
    } catch (error) {
      if (this.lostInfo !== undefined) throw deviceLost(where, this.lostInfo);
      throw error;
    } finally {
      lost.catch(() => undefined);
    }
  }
}

function deviceLost(where: string, info: LostInfo): DeviceLostError {
  const detail = info.message === '' ? info.reason : `${info.reason}: ${info.message}`;
  return new DeviceLostError(
    `webgpu ${where}: the GPU device was lost (${detail}); create a new backend or fall back to another one`,
    { details: { reason: info.reason, message: info.message } },
  );
}

/** WGSL binding declarations and input accessors for one program variant (see the file comment). */
function bindings(request: Dispatch, aliased: readonly boolean[]): string {
  const lines = ['@group(0) @binding(0) var<uniform> params: Params;'];
  if (request.aux !== undefined) lines.push('@group(0) @binding(1) var<storage, read> aux: array<u32>;');
  let binding = lines.length;
  request.inputs.forEach(([name, , element], index) => {
    if (element === 'u32') {
      lines.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}: array<u32>;`);
      return;
    }
    if (element === 'vec4') {
      lines.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}: array<vec4f>;`);
      lines.push(`fn ${name}_at4(i: u32) -> vec4f { return ${name}[i]; }`);
      return;
    }
    if (aliased[index]) {
      lines.push(`fn ${name}_at(i: u32) -> f32 { return out[i]; }`);
      return;
    }
    lines.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}: array<f32>;`);
    lines.push(`fn ${name}_at(i: u32) -> f32 { return ${name}[i]; }`);
  });
  lines.push(`@group(0) @binding(${binding}) var<storage, read_write> out: array<f32>;`);
  return lines.join('\n');
}
