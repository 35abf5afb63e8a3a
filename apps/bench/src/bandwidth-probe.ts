/**
 * `node dist/bandwidth-probe.js '<json>'`: the streaming-read bandwidth on `threads` threads over a
 * `bytes` buffer, measured now in a fresh process (so the end-to-end suite can hold a decode to
 * the bandwidth of the same minute, without the probe's buffer in its own memory). Prints
 * `{ value, spread }` (GB/s, median of `runs`).
 */
import { MachineProbes } from './probes.js';

/** What the parent asks for. */
export interface BandwidthProbeRequest {
  threads: number;
  bytes: number;
  runs: number;
}

/** What the child answers. */
export interface BandwidthProbeResult {
  value: number;
  spread: number;
}

const { threads, bytes, runs } = JSON.parse(process.argv[2]) as BandwidthProbeRequest;
const probes = await MachineProbes.create(threads, bytes);
try {
  const result: BandwidthProbeResult = await probes.medianBandwidth(threads, bytes, runs);
  process.stdout.write(JSON.stringify(result));
} finally {
  await probes.dispose();
}
