/**
 * What a pool worker runs, as source text so any worker mechanism (a Blob URL in browsers,
 * `worker_threads` eval in Node) can start it without a separate file for bundlers to find.
 *
 * The text is a function expression `(post, listen) => void`: `listen` registers the handler of the
 * one setup message (module, shared memory, control-block address, worker index, kernel names);
 * the worker instantiates the kernels over the shared memory, posts `'ready'`, then loops forever:
 * wait for the generation counter to change (spinning briefly, then `Atomics.wait`), run its share of
 * the kernel named in the control block, add one to the done counter and notify. No message crosses
 * per kernel.
 *
 * Control block (int32 slots): 0 generation, 1 done, 2 kernel index, 3 stop flag, 4 argument count,
 * 5 work units, 6 unit alignment, 7 participants. Float64 slots from byte 64: 0 scratch base,
 * 1 scratch stride (0: the kernel takes no scratch), 2.. the arguments.
 */

/** Iterations a worker spins on the generation counter before sleeping in `Atomics.wait`. */
export const WORKER_SPINS = 20000;

/** The worker's main function as JavaScript source (ES5-level syntax, no outer references). */
export const WORKER_MAIN = `(function (post, listen) {
  listen(function (setup) {
    var memory = setup.memory;
    var instance = new WebAssembly.Instance(setup.module, { env: { memory: memory } });
    var kernels = setup.kernels.map(function (name) { return instance.exports[name]; });
    var control = new Int32Array(memory.buffer, setup.control, 16);
    var numbers = new Float64Array(memory.buffer, setup.control + 64, 32);
    var index = setup.index;
    var args = [];
    var seen = Atomics.load(control, 0);
    post('ready');
    for (;;) {
      var spins = 0;
      while (Atomics.load(control, 0) === seen) {
        if (++spins > ${WORKER_SPINS}) Atomics.wait(control, 0, seen);
      }
      seen = Atomics.load(control, 0);
      if (Atomics.load(control, 3) !== 0) return;
      var count = control[4];
      var units = control[5];
      var align = control[6];
      var share = Math.ceil(units / control[7] / align) * align;
      var first = Math.min(units, index * share);
      var last = Math.min(units, first + share);
      if (first < last) {
        args.length = 0;
        for (var a = 0; a < count; a++) args.push(numbers[2 + a]);
        if (numbers[1] > 0) args.push(numbers[0] + index * numbers[1]);
        args.push(first, last);
        kernels[control[2]].apply(null, args);
      }
      Atomics.add(control, 1, 1);
      Atomics.notify(control, 1);
    }
  });
})`;
