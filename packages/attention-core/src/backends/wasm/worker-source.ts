/**
 * What a pool worker runs, as source text so any worker mechanism (a Blob URL in browsers,
 * `worker_threads` eval in Node) can start it without a separate file for bundlers to find.
 *
 * The text is a function expression `(post, listen) => void`: `listen` registers the handler of the
 * one setup message (module, shared memory, control-block address, worker index, kernel names);
 * the worker instantiates the kernels over the shared memory, posts `'ready'`, then loops forever:
 * wait for a new generation to be announced (spinning briefly, then `Atomics.wait`), join the
 * generation's block, claim chunks of the kernel's units from its counter until none remain, count
 * each finished chunk, and leave. No message crosses per kernel. Claiming chunks instead of taking
 * a fixed share means a worker the OS deschedules (the machine may be shared) only costs the chunk
 * it holds: the other threads take the rest.
 *
 * Control area: int32 slots 0 announced generation, 1 stop flag, 2 workers sleeping in
 * `Atomics.wait`; then two blocks, generation g using block g & 1, each of {@link BLOCK_BYTES}:
 * int32 slots 0 the block's generation (-1 while the caller rewrites it), 1 workers joined,
 * 2 chunks done, 3 next chunk to claim, 4 kernel index, 5 argument count, 6 work units, 7 units per
 * chunk, 8 chunks; float64 slots from byte 64: 0 scratch base, 1 scratch stride (0: the kernel
 * takes no scratch), 2.. the arguments. A worker joins by counting itself in and then finding the
 * block still holding its generation; the caller marks a block -1 before waiting for its joined
 * count to reach zero and rewriting it, so a joined worker's arguments cannot change under it, and
 * the caller never waits for a worker that is late for a finished kernel unless it is still late
 * two kernels later.
 */

/** Bytes of each of the control area's two generation blocks, after its first 64 bytes. */
export const BLOCK_BYTES = 320;

/** Iterations a worker spins on the announced generation before sleeping in `Atomics.wait`. */
export const WORKER_SPINS = 20000;

/** The worker's main function as JavaScript source (ES5-level syntax, no outer references). */
export const WORKER_MAIN = `(function (post, listen) {
  listen(function (setup) {
    var memory = setup.memory;
    var instance = new WebAssembly.Instance(setup.module, { env: { memory: memory } });
    var kernels = setup.kernels.map(function (name) { return instance.exports[name]; });
    var global = new Int32Array(memory.buffer, setup.control, 16);
    var blocks = [0, 1].map(function (b) {
      var at = setup.control + 64 + b * ${BLOCK_BYTES};
      return { ints: new Int32Array(memory.buffer, at, 16), numbers: new Float64Array(memory.buffer, at + 64, 32) };
    });
    var index = setup.index;
    var args = [];
    var seen = Atomics.load(global, 0);
    post('ready');
    for (;;) {
      var g = Atomics.load(global, 0);
      var spins = 0;
      while (g === seen) {
        if (Atomics.load(global, 1) !== 0) return;
        if (++spins > ${WORKER_SPINS}) {
          Atomics.add(global, 2, 1);
          Atomics.wait(global, 0, g);
          Atomics.sub(global, 2, 1);
          spins = 0;
        }
        g = Atomics.load(global, 0);
      }
      if (Atomics.load(global, 1) !== 0) return;
      seen = g;
      var ints = blocks[g & 1].ints;
      var numbers = blocks[g & 1].numbers;
      Atomics.add(ints, 1, 1);
      if (Atomics.load(ints, 0) === g) {
        var kernel = kernels[ints[4]];
        var count = ints[5];
        var units = ints[6];
        var chunk = ints[7];
        var chunks = ints[8];
        args.length = 0;
        for (var a = 0; a < count; a++) args.push(numbers[2 + a]);
        if (numbers[1] > 0) args.push(numbers[0] + index * numbers[1]);
        args.push(0, 0);
        var last = args.length - 1;
        for (var c = Atomics.add(ints, 3, 1); c < chunks; c = Atomics.add(ints, 3, 1)) {
          args[last - 1] = c * chunk;
          args[last] = Math.min(units, c * chunk + chunk);
          kernel.apply(null, args);
          if (Atomics.add(ints, 2, 1) + 1 === chunks) Atomics.notify(ints, 2);
        }
      }
      Atomics.sub(ints, 1, 1);
    }
  });
})`;
