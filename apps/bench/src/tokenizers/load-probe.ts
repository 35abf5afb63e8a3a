/**
 * `node --expose-gc load-probe.js PEER FIXTURES`: loads one tokenizer in this fresh process and
 * prints, as JSON, the time from before its import to after its first encode, the memory it keeps
 * (heap, external and WASM memory after a full collection) and the process's peak RSS. `PEER`
 * `none` measures a bare process.
 */
import { performance } from 'node:perf_hooks';
import { PEERS } from './peers.js';

const [name, fixtures] = process.argv.slice(2);
const start = performance.now();
if (name !== 'none') {
  const peer = PEERS.find((p) => p.name === name);
  if (!peer) throw new Error(`load-probe: unknown tokenizer "${name}"`);
  (await peer.load(fixtures)).encode('Hello world');
}
const loadMs = performance.now() - start;
(globalThis as { gc?: () => void }).gc?.();
const { heapUsed, external } = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ loadMs, retainedMiB: (heapUsed + external) / 2 ** 20, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
