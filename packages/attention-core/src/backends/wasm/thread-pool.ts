/**
 * The worker pool: `threads - 1` workers share the backend's `WebAssembly.Memory({ shared: true })`
 * with the calling thread. Dispatch is a few stores into a control block and, only when a worker
 * sleeps, an `Atomics.notify`; every participant, the caller included, then claims chunks of the
 * kernel's units from a shared counter, so a worker the OS does not schedule in time (the machine
 * may be shared) delays the kernel by at most the chunk it holds; completion is a counter the
 * caller spins on. Protocol in worker-source.ts.
 */
import { CONTROL_ADDRESS } from './wasm-memory.js';
import { BLOCK_BYTES, WORKER_MAIN } from './worker-source.js';

/** A started worker, as {@link WasmWorkerFactory} returns it. */
export interface WasmWorker {
  /** Sends a message (structured clone; a shared memory and a compiled module must be transferable). */
  postMessage(message: unknown): void;
  /** Registers the listener for the worker's messages. */
  onMessage(listener: (message: unknown) => void): void;
  /** Registers the listener for the worker failing. */
  onError(listener: (error: unknown) => void): void;
  /** Stops the worker. */
  terminate(): void;
}

/**
 * Starts a worker running `workerMain`: the source of a function expression `(post, listen) => void`
 * that the worker must call with a function posting a message to the creating thread and a function
 * registering the listener of messages from it. The default uses the web `Worker` (Blob URL) where it
 * exists and Node's `worker_threads` otherwise; inject your own for other environments.
 */
export type WasmWorkerFactory = (workerMain: string) => WasmWorker | Promise<WasmWorker>;

interface NodeWorkerLike {
  postMessage(message: unknown): void;
  on(event: string, listener: (value: unknown) => void): void;
  unref(): void;
  terminate(): unknown;
}

/** Web workers from a Blob URL. */
function webWorker(workerMain: string): WasmWorker {
  const source = `(${workerMain})(function (m) { self.postMessage(m); }, function (f) { self.onmessage = function (e) { f(e.data); }; });`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => {
      worker.onmessage = (event) => listener(event.data);
    },
    onError: (listener) => {
      worker.onerror = (event) => listener(event);
    },
    terminate: () => worker.terminate(),
  };
}

/**
 * Node workers. The module specifier is computed and marked ignored so bundlers targeting browsers
 * neither resolve nor bundle `worker_threads`; browsers never reach this path (they have `Worker`).
 */
async function nodeWorker(workerMain: string): Promise<WasmWorker> {
  const specifier = ['node', 'worker_threads'].join(':');
  const threads = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as {
    Worker: new (source: string, options: { eval: boolean }) => NodeWorkerLike;
  };
  // `import()` works whether the eval'd worker runs as CommonJS or, when the process was started
  // with --input-type=module (inherited), as an ES module; messages wait for the listener.
  const source = `import('node:worker_threads').then(({ parentPort }) => (${workerMain})((m) => parentPort.postMessage(m), (f) => parentPort.once('message', f)));`;
  const worker = new threads.Worker(source, { eval: true });
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => {
      worker.on('message', (message) => {
        listener(message);
        // Its one message is 'ready': from then on an idle worker must not keep the process
        // alive (unref'd before it, the process could exit while waiting for it; a 'message'
        // listener refs it again, so this comes after).
        worker.unref();
      });
    },
    onError: (listener) => worker.on('error', listener),
    terminate: () => {
      worker.terminate();
    },
  };
}

/** The default {@link WasmWorkerFactory}: web `Worker` when present, else Node `worker_threads`. */
export const defaultWorkerFactory: WasmWorkerFactory = (workerMain) =>
  typeof Worker === 'function' ? webWorker(workerMain) : nodeWorker(workerMain);

/** Int32 slots of the control area and of its blocks (see worker-source.ts). */
const ANNOUNCED = 0;
const STOP = 1;
const SLEEPERS = 2;
const GENERATION = 0;
const JOINED = 1;
const DONE = 2;
const NEXT = 3;
const KERNEL = 4;
const ARG_COUNT = 5;
const UNITS = 6;
const CHUNK = 7;
const CHUNKS = 8;

/** Generations wrap below 2^30, so they stay positive int32 values (a block being rewritten holds -1). */
const GENERATIONS = 1 << 30;

/**
 * Chunks per participant a kernel's units are cut into, so threads that run faster take more.
 * Finer chunks shorten the wait for the last one: 16 decoded the 42M shape on 2 threads at
 * 97–109 tokens/s where 4 gave 83–90 (three interleaved rounds of 12 tokens, one process each).
 */
const CHUNKS_PER_THREAD = 16;

/** Spins of the calling thread before it sleeps in `Atomics.wait` (where the thread may block). */
const CALLER_SPINS = 1 << 16;

interface ControlBlock {
  readonly ints: Int32Array;
  readonly numbers: Float64Array;
}

/** Workers plus the control area they watch. */
export class ThreadPool {
  private readonly global: Int32Array;
  private readonly blocks: readonly ControlBlock[];
  private readonly canWait: boolean;
  private generation = 0;
  private stopped = false;
  /** The caller's arguments, reused across calls: the kernel's, its scratch, its unit range. */
  private readonly call: number[] = [];

  private constructor(
    private readonly workers: readonly WasmWorker[],
    memory: WebAssembly.Memory,
  ) {
    this.global = new Int32Array(memory.buffer, CONTROL_ADDRESS, 16);
    this.blocks = [0, 1].map((b) => {
      const at = CONTROL_ADDRESS + 64 + b * BLOCK_BYTES;
      return {
        ints: new Int32Array(memory.buffer, at, 16),
        numbers: new Float64Array(memory.buffer, at + 64, 32),
      };
    });
    this.canWait = blockingWaitAllowed(this.global);
  }

  /** Threads taking part in a parallel kernel: the workers plus the caller. */
  get participants(): number {
    return this.workers.length + 1;
  }

  /** Starts `workerCount` workers over `memory` and resolves once each has instantiated the kernels. */
  static async start(
    workerCount: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    kernels: readonly string[],
    factory: WasmWorkerFactory,
  ): Promise<ThreadPool> {
    const workers: WasmWorker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let index = 1; index <= workerCount; index++) {
        const worker = await factory(WORKER_MAIN);
        workers.push(worker);
        ready.push(
          new Promise<void>((resolve, reject) => {
            worker.onMessage((message) => (message === 'ready' ? resolve() : undefined));
            worker.onError(reject);
          }),
        );
        worker.postMessage({ module, memory, control: CONTROL_ADDRESS, index, kernels });
      }
      await Promise.all(ready);
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
    return new ThreadPool(workers, memory);
  }

  /**
   * Runs kernel `kernel` (an index into the pool's kernel names; `compute` is the caller's instance
   * of it) on `units` work units, cut into `align`-multiple chunks that every participant claims
   * until none remain. `args` are the kernel's arguments before its optional scratch pointer (when
   * `scratchStride > 0`, participant p gets `scratchBase + p * scratchStride`) and its unit range.
   */
  dispatch(
    kernel: number,
    compute: (...values: number[]) => void,
    args: readonly number[],
    units: number,
    align: number,
    scratchBase: number,
    scratchStride: number,
  ): void {
    const generation = (this.generation % (GENERATIONS - 1)) + 1;
    this.generation = generation;
    const { ints, numbers } = this.blocks[generation & 1];
    // Retire the block two kernels old; a worker still joined to it finishes its chunk first.
    Atomics.store(ints, GENERATION, -1);
    while (Atomics.load(ints, JOINED) !== 0);
    const chunk = Math.max(1, Math.ceil(units / (this.participants * CHUNKS_PER_THREAD) / align)) * align;
    const chunks = Math.ceil(units / chunk);
    ints[KERNEL] = kernel;
    ints[ARG_COUNT] = args.length;
    ints[UNITS] = units;
    ints[CHUNK] = chunk;
    ints[CHUNKS] = chunks;
    numbers[0] = scratchBase;
    numbers[1] = scratchStride;
    for (let a = 0; a < args.length; a++) numbers[2 + a] = args[a];
    const call = this.call;
    call.length = 0;
    for (let a = 0; a < args.length; a++) call.push(args[a]);
    if (scratchStride > 0) call.push(scratchBase);
    call.push(0, 0);
    const last = call.length - 1;
    Atomics.store(ints, NEXT, 0);
    Atomics.store(ints, DONE, 0);
    Atomics.store(ints, GENERATION, generation);
    Atomics.store(this.global, ANNOUNCED, generation);
    if (Atomics.load(this.global, SLEEPERS) > 0) Atomics.notify(this.global, ANNOUNCED);
    let finished = false;
    try {
      for (let c = Atomics.add(ints, NEXT, 1); c < chunks; c = Atomics.add(ints, NEXT, 1)) {
        call[last - 1] = c * chunk;
        call[last] = Math.min(units, c * chunk + chunk);
        compute.apply(null, call);
        Atomics.add(ints, DONE, 1);
      }
      finished = true;
    } finally {
      // after a failure (a trap), no further chunk is claimed
      if (!finished) Atomics.store(ints, NEXT, chunks);
    }
    // chunks a worker claimed and still runs
    let spins = 0;
    for (let done = Atomics.load(ints, DONE); done < chunks; done = Atomics.load(ints, DONE)) {
      if (this.canWait && ++spins > CALLER_SPINS) Atomics.wait(ints, DONE, done, 1);
    }
  }

  /** Stops and terminates every worker. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.global, STOP, 1);
    Atomics.add(this.global, ANNOUNCED, 1);
    Atomics.notify(this.global, ANNOUNCED);
    for (const worker of this.workers) worker.terminate();
  }
}

/** Whether this thread may block in `Atomics.wait` (browsers forbid it on the main thread). */
function blockingWaitAllowed(control: Int32Array): boolean {
  try {
    Atomics.wait(control, STOP, 1, 0);
    return true;
  } catch {
    return false;
  }
}
