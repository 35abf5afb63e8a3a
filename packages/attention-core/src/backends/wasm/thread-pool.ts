/**
 * The worker pool: `threads - 1` workers share the backend's `WebAssembly.Memory({ shared: true })`
 * with the calling thread, which takes share 0 of every parallel kernel itself. Dispatch is a few
 * stores into a control block and an `Atomics.notify`; completion is a counter the caller spins on.
 */
import { CONTROL_ADDRESS } from './wasm-memory.js';
import { WORKER_MAIN } from './worker-source.js';

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
  const source = `const { parentPort } = require('node:worker_threads');\n(${workerMain})((m) => parentPort.postMessage(m), (f) => parentPort.once('message', f));`;
  const worker = new threads.Worker(source, { eval: true });
  // Idle workers must not keep a Node process alive.
  worker.unref();
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onError: (listener) => worker.on('error', listener),
    terminate: () => {
      worker.terminate();
    },
  };
}

/** The default {@link WasmWorkerFactory}: web `Worker` when present, else Node `worker_threads`. */
export const defaultWorkerFactory: WasmWorkerFactory = (workerMain) =>
  typeof Worker === 'function' ? webWorker(workerMain) : nodeWorker(workerMain);

/** Int32 slots of the control block (see worker-source.ts). */
const GENERATION = 0;
const DONE = 1;
const KERNEL = 2;
const STOP = 3;
const ARG_COUNT = 4;
const UNITS = 5;
const ALIGN = 6;
const PARTICIPANTS = 7;

/** Spins of the calling thread before it sleeps in `Atomics.wait` (where the thread may block). */
const CALLER_SPINS = 1 << 16;

/** Workers plus the control block they watch. */
export class ThreadPool {
  private readonly control: Int32Array;
  private readonly numbers: Float64Array;
  private readonly canWait: boolean;
  private stopped = false;

  private constructor(
    private readonly workers: readonly WasmWorker[],
    memory: WebAssembly.Memory,
  ) {
    this.control = new Int32Array(memory.buffer, CONTROL_ADDRESS, 16);
    this.numbers = new Float64Array(memory.buffer, CONTROL_ADDRESS + 64, 32);
    this.canWait = blockingWaitAllowed(this.control);
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
   * Runs kernel `kernel` (an index into the pool's kernel names) on `units` work units split in
   * `align`-sized shares across every participant; `run(first, last, scratch)` computes the caller's
   * share. `args` are the kernel's arguments before its optional scratch pointer and its unit range.
   */
  dispatch(
    kernel: number,
    args: readonly number[],
    units: number,
    align: number,
    scratchBase: number,
    scratchStride: number,
    run: (first: number, last: number, scratch: number) => void,
  ): void {
    const control = this.control;
    const numbers = this.numbers;
    control[KERNEL] = kernel;
    control[ARG_COUNT] = args.length;
    control[UNITS] = units;
    control[ALIGN] = align;
    control[PARTICIPANTS] = this.participants;
    numbers[0] = scratchBase;
    numbers[1] = scratchStride;
    for (let a = 0; a < args.length; a++) numbers[2 + a] = args[a];
    Atomics.store(control, DONE, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    const share = Math.ceil(units / this.participants / align) * align;
    run(0, Math.min(units, share), scratchBase);
    const expected = this.workers.length;
    let spins = 0;
    for (let done = Atomics.load(control, DONE); done < expected; done = Atomics.load(control, DONE)) {
      if (this.canWait && ++spins > CALLER_SPINS) Atomics.wait(control, DONE, done, 1);
    }
  }

  /** Stops and terminates every worker. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
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
