/**
 * The machine's limits, measured by the bench's own WebAssembly probes: streaming-read bandwidth
 * (what f32 decode is bound by: it reads every weight once per token) and the f32x4 arithmetic
 * peak (what prefill GEMM is bound by). Both are written in WAT, assembled with wabt at run time,
 * and run in worker threads over one shared memory, on 1 thread and on every core.
 */
import { Worker } from 'node:worker_threads';
import initWabt from 'wabt';

/** Bytes summed per loop iteration: eight 16-byte loads into eight independent accumulators. */
const STRIDE = 128;

/** Legend: $p read pointer, $a0..$a7 accumulators, $m/$c the multiplier and addend of the chains. */
const PROBES_WAT = `
(module
  (import "env" "memory" (memory 1 65536 shared))
  ;; Sums bytes [start, end) as f32x4 lanes, reps times; end - start is a multiple of ${STRIDE}.
  (func (export "stream") (param $start i32) (param $end i32) (param $reps i32) (result f32)
    (local $p i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (loop $rep
      (local.set $p (local.get $start))
      (loop $scan
        (local.set $a0 (f32x4.add (local.get $a0) (v128.load offset=0 (local.get $p))))
        (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
        (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
        (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
        (local.set $a4 (f32x4.add (local.get $a4) (v128.load offset=64 (local.get $p))))
        (local.set $a5 (f32x4.add (local.get $a5) (v128.load offset=80 (local.get $p))))
        (local.set $a6 (f32x4.add (local.get $a6) (v128.load offset=96 (local.get $p))))
        (local.set $a7 (f32x4.add (local.get $a7) (v128.load offset=112 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const ${STRIDE})))
        (br_if $scan (i32.lt_u (local.get $p) (local.get $end))))
      (local.set $reps (i32.sub (local.get $reps) (i32.const 1)))
      (br_if $rep (i32.gt_s (local.get $reps) (i32.const 0))))
    ;; Folding the accumulators into the result keeps every load alive.
    (f32x4.extract_lane 0
      (f32x4.add
        (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))
        (f32x4.add (f32x4.add (local.get $a4) (local.get $a5)) (f32x4.add (local.get $a6) (local.get $a7))))))
  ;; iterations x 10 independent chains of a = a * m + c in registers: 80 flops per iteration.
  (func (export "arithmetic") (param $start i32) (param $end i32) (param $iterations i32) (result f32)
    (local $m v128) (local $c v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128)
    (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128)
    (local.set $m (f32x4.splat (f32.const 0.999)))
    (local.set $c (f32x4.splat (f32.const 0.001)))
    (local.set $a0 (f32x4.splat (f32.const 0.1)))
    (local.set $a1 (f32x4.splat (f32.const 0.2)))
    (local.set $a2 (f32x4.splat (f32.const 0.3)))
    (local.set $a3 (f32x4.splat (f32.const 0.4)))
    (local.set $a4 (f32x4.splat (f32.const 0.5)))
    (local.set $a5 (f32x4.splat (f32.const 0.6)))
    (local.set $a6 (f32x4.splat (f32.const 0.7)))
    (local.set $a7 (f32x4.splat (f32.const 0.8)))
    (local.set $a8 (f32x4.splat (f32.const 0.9)))
    (local.set $a9 (f32x4.splat (f32.const 1.0)))
    (loop $chain
      (local.set $a0 (f32x4.add (f32x4.mul (local.get $a0) (local.get $m)) (local.get $c)))
      (local.set $a1 (f32x4.add (f32x4.mul (local.get $a1) (local.get $m)) (local.get $c)))
      (local.set $a2 (f32x4.add (f32x4.mul (local.get $a2) (local.get $m)) (local.get $c)))
      (local.set $a3 (f32x4.add (f32x4.mul (local.get $a3) (local.get $m)) (local.get $c)))
      (local.set $a4 (f32x4.add (f32x4.mul (local.get $a4) (local.get $m)) (local.get $c)))
      (local.set $a5 (f32x4.add (f32x4.mul (local.get $a5) (local.get $m)) (local.get $c)))
      (local.set $a6 (f32x4.add (f32x4.mul (local.get $a6) (local.get $m)) (local.get $c)))
      (local.set $a7 (f32x4.add (f32x4.mul (local.get $a7) (local.get $m)) (local.get $c)))
      (local.set $a8 (f32x4.add (f32x4.mul (local.get $a8) (local.get $m)) (local.get $c)))
      (local.set $a9 (f32x4.add (f32x4.mul (local.get $a9) (local.get $m)) (local.get $c)))
      (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
      (br_if $chain (i32.gt_s (local.get $iterations) (i32.const 0))))
    (f32x4.extract_lane 0
      (f32x4.add
        (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))
        (f32x4.add
          (f32x4.add (f32x4.add (local.get $a4) (local.get $a5)) (f32x4.add (local.get $a6) (local.get $a7)))
          (f32x4.add (local.get $a8) (local.get $a9)))))))
`;

/** Bytes a bandwidth probe call reads (its buffer `reps` times over). */
const BYTES_PER_CALL = 128 * 2 ** 20;

/** Flops one `arithmetic` iteration does: 10 chains × 4 lanes × (mul + add). */
const FLOPS_PER_ITERATION = 80;

/**
 * Each worker instantiates the module on the shared memory, says it is ready, then runs one call
 * when told and answers with its own wall time, so message latency is not timed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
parentPort.postMessage('ready');
parentPort.on('message', ({ name, args }) => {
  const start = performance.now();
  const result = instance.exports[name](...args);
  parentPort.postMessage({ ms: performance.now() - start, result });
});
`;

/** The probes' module and shared memory, with one worker per thread. */
export class MachineProbes {
  private constructor(
    private readonly workers: Worker[],
    /** Bytes of the streaming buffer (filled, so no page is the shared zero page). */
    readonly bufferBytes: number,
  ) {}

  /** Assembles the probes and starts `threads` workers over a `bufferBytes` shared memory. */
  static async create(threads: number, bufferBytes: number): Promise<MachineProbes> {
    const wabt = await initWabt();
    const parsed = wabt.parseWat('probes.wat', PROBES_WAT, { simd: true, threads: true });
    const binary = new Uint8Array(parsed.toBinary({}).buffer);
    parsed.destroy();
    const module = await WebAssembly.compile(binary);
    const bytes = Math.ceil(bufferBytes / (threads * 65536 * STRIDE)) * threads * 65536 * STRIDE;
    const pages = bytes / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    new Uint8Array(memory.buffer).fill(1);
    const workers = await Promise.all(
      Array.from({ length: threads }, async () => {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory } });
        await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        return worker;
      }),
    );
    return new MachineProbes(workers, bytes);
  }

  /** Runs `name` on the first `threads` workers at once; returns the slowest worker's time in ms. */
  private async parallel(name: string, threads: number, args: (index: number) => number[]): Promise<number> {
    const times = await Promise.all(
      this.workers.slice(0, threads).map(
        (worker, index) =>
          new Promise<number>((resolve) => {
            worker.once('message', (message: { ms: number }) => resolve(message.ms));
            worker.postMessage({ name, args: args(index) });
          }),
      ),
    );
    return Math.max(...times);
  }

  /**
   * Streaming-read bandwidth in GB/s: `threads` workers each sum their share of the first `bytes`
   * of the buffer (rounded down to whole loop iterations) `reps` times.
   */
  async bandwidth(threads: number, reps: number, bytes = this.bufferBytes): Promise<number> {
    const share = Math.floor(Math.min(bytes, this.bufferBytes) / threads / STRIDE) * STRIDE;
    const ms = await this.parallel('stream', threads, (i) => [i * share, (i + 1) * share, reps]);
    return (share * threads * reps) / ms / 1e6;
  }

  /**
   * Median bandwidth of `runs` calls over the first `bytes` (after a warm-up call), each reading
   * about {@link BYTES_PER_CALL} so a call takes tens of milliseconds.
   */
  medianBandwidth(threads: number, bytes: number, runs: number): Promise<{ value: number; spread: number }> {
    const reps = Math.max(1, Math.round(BYTES_PER_CALL / bytes));
    return MachineProbes.median(runs, () => this.bandwidth(threads, reps, bytes));
  }

  /** f32 arithmetic in GFLOP/s: `threads` workers each run `iterations` of the register chains. */
  async arithmetic(threads: number, iterations: number): Promise<number> {
    const ms = await this.parallel('arithmetic', threads, () => [0, 0, iterations]);
    return (FLOPS_PER_ITERATION * iterations * threads) / ms / 1e6;
  }

  /** Ends the workers and lets the memory go. */
  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /** Medians of `runs` calls of `probe` after one warm-up call. */
  static async median(
    runs: number,
    probe: () => Promise<number>,
  ): Promise<{ value: number; spread: number }> {
    await probe();
    const values: number[] = [];
    for (let i = 0; i < runs; i++) values.push(await probe());
    values.sort((a, b) => a - b);
    const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
    const value = at(0.5);
    return { value, spread: value > 0 ? (at(0.75) - at(0.25)) / value : 0 };
  }
}
