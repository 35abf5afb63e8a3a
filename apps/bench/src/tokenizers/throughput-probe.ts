/**
 * `node throughput-probe.js PEER CORPUS SIZE RUNS PASSES FIXTURES ROOT OUT`: measures one
 * tokenizer's encode and decode throughput in this fresh process (no other tokenizer's heap, WASM
 * memory or garbage collections in the way) and writes {@link ThroughputProbeResult} as JSON to
 * `OUT`. Slice 0 of the corpus warms up encode and decode (no first-call work or unoptimised code
 * is timed); slices 1..RUNS are each encoded once and timed; decode is timed as PASSES passes over
 * all of their ids, a pass a few milliseconds long, as one decode is shorter than a collection.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { corpusNamed } from './corpora.js';
import { PEERS } from './peers.js';

/** What the probe writes. */
export interface ThroughputProbeResult {
  /** MB/s of UTF-8 of each timed encode. */
  encode: number[];
  /** MB/s of UTF-8 of each decode pass. */
  decode: number[];
  /** Ids of every slice, the warm-up slice first. */
  ids: number[][];
  /** Whether decode(encode(slice)) gave each slice back. */
  roundTrip: boolean;
}

const [peerName, corpusName, size, runs, passes, fixtures, repositoryRoot, out] = process.argv.slice(2);
const peer = PEERS.find((p) => p.name === peerName);
if (!peer) throw new Error(`throughput-probe: unknown tokenizer "${peerName}"`);
const corpus = corpusNamed(corpusName, repositoryRoot);
const texts = Array.from({ length: Number(runs) + 1 }, (_, i) => corpus.slice(i, Number(size)));
const utf8 = new TextEncoder();
const megabytes = texts.map((t) => utf8.encode(t).length / 1e6);
const tokenizer = await peer.load(fixtures);
const ids = [tokenizer.encode(texts[0])];
tokenizer.decode(ids[0]);
const encode: number[] = [];
for (let i = 1; i < texts.length; i++) {
  const start = performance.now();
  ids.push(tokenizer.encode(texts[i]));
  encode.push(megabytes[i] / ((performance.now() - start) / 1000));
}
const roundTrip = ids.every((sequence, i) => tokenizer.decode(sequence) === texts[i]);
const decode: number[] = [];
const passMegabytes = megabytes.slice(1).reduce((a, b) => a + b, 0);
for (let pass = 0; pass < Number(passes); pass++) {
  const start = performance.now();
  for (let i = 1; i < texts.length; i++) {
    const text = tokenizer.decode(ids[i]);
    // Reading a character makes V8 flatten a string built by concatenation, as any use would.
    text.charCodeAt(0);
  }
  decode.push(passMegabytes / ((performance.now() - start) / 1000));
}
const result: ThroughputProbeResult = { encode, decode, ids: ids.map((s) => Array.from(s)), roundTrip };
writeFileSync(out, JSON.stringify(result));
