/**
 * The WASM backend's heap: one `WebAssembly.Memory` whose bytes from {@link HEAP_START} on are handed
 * out by a first-fit free list with coalescing, growing the memory when the free list has no room.
 * Every tensor, the KV cache and kernel scratch live here, so kernels never copy or allocate.
 */
import { UnsupportedError } from '@rotor/core';

/** Bytes of one wasm page. */
export const PAGE_BYTES = 65536;

/** The wasm32 address space: 65536 pages, 4 GiB. */
export const WASM32_MAX_BYTES = 65536 * PAGE_BYTES;

/**
 * Bytes below this address belong to the kernels module (its constant tables) and to the thread
 * pool's control block; allocations start here.
 */
export const HEAP_START = PAGE_BYTES;

/** Address of the thread pool's control block, inside the reserved first page. */
export const CONTROL_ADDRESS = PAGE_BYTES - 1024;

/** Every allocation is aligned to (and a multiple of) one SIMD vector. */
const ALIGN = 16;

interface Block {
  address: number;
  bytes: number;
}

/** First-fit allocator over a growable memory. */
export class WasmHeap {
  private readonly free: Block[] = [];
  private top = HEAP_START;
  private inUse = 0;
  private f32: Float32Array;
  private i32: Int32Array;

  constructor(
    /** The memory the kernels module imports. */
    readonly memory: WebAssembly.Memory,
    /** Bytes the memory may grow to (at most {@link WASM32_MAX_BYTES}). */
    readonly maxBytes: number,
  ) {
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
  }

  /** The memory as float32 elements (a fresh view after the memory grew). */
  get floats(): Float32Array {
    this.refresh();
    return this.f32;
  }

  /** The memory as int32 elements. */
  get ints(): Int32Array {
    this.refresh();
    return this.i32;
  }

  /** Bytes currently allocated. */
  get bytesInUse(): number {
    return this.inUse;
  }

  /**
   * Reserves `bytes` (rounded up to 16), zero-filled, and returns the address. Throws an
   * {@link UnsupportedError} naming the wasm32 limit when the memory cannot hold it.
   */
  allocate(bytes: number, where: string): Block {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i];
      if (block.bytes < size) continue;
      const taken = { address: block.address, bytes: size };
      if (block.bytes === size) this.free.splice(i, 1);
      else {
        block.address += size;
        block.bytes -= size;
      }
      new Uint8Array(this.memory.buffer, taken.address, size).fill(0);
      this.inUse += size;
      return taken;
    }
    const address = this.top;
    const end = address + size;
    if (end > this.maxBytes) {
      throw new UnsupportedError(
        `${where}: memory: expected at most ${this.maxBytes} bytes in the backend's WebAssembly.Memory ` +
          `(wasm32 addresses 4 GiB; this backend's limit), found ${this.inUse} bytes in use plus ${size} requested`,
        { details: { inUse: this.inUse, requested: size, maxBytes: this.maxBytes } },
      );
    }
    if (end > this.memory.buffer.byteLength) this.grow(end, where);
    this.top = end;
    this.inUse += size;
    // Memory below the high-water mark may hold a released tensor's bytes.
    new Uint8Array(this.memory.buffer, address, size).fill(0);
    return { address, bytes: size };
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(block: Block): void {
    this.inUse -= block.bytes;
    let i = 0;
    while (i < this.free.length && this.free[i].address < block.address) i++;
    this.free.splice(i, 0, { ...block });
    const next = this.free[i + 1];
    if (next && block.address + block.bytes === next.address) {
      this.free[i].bytes += next.bytes;
      this.free.splice(i + 1, 1);
    }
    const previous = this.free[i - 1];
    if (previous && previous.address + previous.bytes === this.free[i].address) {
      previous.bytes += this.free[i].bytes;
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.address + last.bytes === this.top) {
      this.top = last.address;
      this.free.pop();
    }
  }

  private grow(end: number, where: string): void {
    const current = this.memory.buffer.byteLength;
    // Grow geometrically (at least 25%) so a model loaded tensor by tensor grows a few times, not per tensor.
    const wanted = Math.min(this.maxBytes, Math.max(end, current + Math.ceil(current / 4)));
    const pages = Math.ceil((wanted - current) / PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new UnsupportedError(
        `${where}: memory: expected the WebAssembly.Memory to grow from ${current} to ${current + pages * PAGE_BYTES} bytes, found the host refused (${String(cause)})`,
        { cause, details: { current, requested: pages * PAGE_BYTES } },
      );
    }
  }

  private refresh(): void {
    if (this.f32.buffer !== this.memory.buffer || this.f32.length * 4 !== this.memory.buffer.byteLength) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
    }
  }
}
