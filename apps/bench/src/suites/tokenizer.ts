/**
 * Tokenizer throughput on text that never repeats (so no cache can memorise it): encode and
 * decode MB/s of UTF-8 and the time to load the vocabulary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadLlama2cTokenizer } from '@rotor/tokenizer';
import { measure, summarize } from '../harness.js';
import type { BenchResult } from '../results.js';
import type { BenchTask, Suite, SuiteContext } from '../suite.js';
import { type Corpus, code, multilingual, prose } from '../tokenizers/corpora.js';
import { GPT2_GGUF, PEERS } from '../tokenizers/peers.js';
import type { ThroughputProbeResult } from '../tokenizers/throughput-probe.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = resolve(here, '../../..');

/** Index of the first difference between two id sequences, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Adds ratios against the fastest peer (any tokenizer but ours) of each metric. */
function againstFastestPeer(results: BenchResult[]): BenchResult[] {
  return results.map((r) => {
    const peers = results.filter((p) => p.metric === r.metric && p.backend !== 'rotor');
    const fastest = peers.reduce<BenchResult | undefined>(
      (best, p) => (best && best.value >= p.value ? best : p),
      undefined,
    );
    return fastest
      ? { ...r, baseline: fastest.value, baselineName: fastest.backend, ratio: r.value / fastest.value }
      : r;
  });
}

/** Encode and decode MB/s of every GPT-2 tokenizer on one corpus, each in a fresh process, validated against tiktoken. */
function gpt2Task(corpus: Corpus): BenchTask {
  return {
    name: `GPT-2 ${corpus.name}`,
    async run(context: SuiteContext) {
      const name = `GPT-2, ${corpus.name}`;
      if (!existsSync(join(context.fixtures, GPT2_GGUF))) {
        context.record({
          suite: 'tokenizer',
          name,
          backend: 'rotor',
          metric: 'skipped',
          value: 0,
          unit: '',
          note: `${GPT2_GGUF} is missing`,
        });
        return;
      }
      const size = context.quick ? 100_000 : 200_000;
      const runs = context.quick ? 3 : 4;
      const passes = context.quick ? 3 : 7;
      // Each tokenizer runs in `rounds` fresh processes, alternating with the others, and keeps
      // its best process: the machine may be shared, and a slow spell should not fall on one
      // tokenizer's only process.
      const rounds = context.quick ? 1 : 2;
      const scratch = mkdtempSync(join(tmpdir(), 'rotor-tokenizer-bench-'));
      const measured = new Map<string, ThroughputProbeResult[]>();
      try {
        for (let round = 0; round < rounds; round++) {
          for (const peer of PEERS) {
            if (round > 0 && !measured.has(peer.name)) continue;
            try {
              const result = throughputProbe(
                peer.name,
                corpus.name,
                [size, runs, passes],
                context.fixtures,
                scratch,
              );
              measured.set(peer.name, [...(measured.get(peer.name) ?? []), result]);
            } catch (error) {
              context.record({
                suite: 'tokenizer',
                name,
                backend: peer.name,
                metric: 'skipped',
                value: 0,
                unit: '',
                note: `does not run here: ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}`,
              });
              measured.delete(peer.name);
            }
          }
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      let oracle: number[][] | undefined;
      const results: BenchResult[] = [];
      for (const [peer, processes] of measured) {
        oracle ??= processes[0].ids;
        const disagreements = processes
          .flatMap((run) => run.ids.map((sequence, i) => ({ i, at: firstDifference(sequence, oracle![i]) })))
          .filter(({ at }) => at >= 0);
        const notes = [
          disagreements.length
            ? `DISAGREES with tiktoken (slice ${disagreements[0].i}, id ${disagreements[0].at} of ${oracle[disagreements[0].i].length})${disagreements[0].i === 0 ? ' before timing' : ''}`
            : peer === 'tiktoken'
              ? 'oracle'
              : 'ids equal tiktoken’s',
          processes.every((run) => run.roundTrip) ? '' : 'decode does not round-trip',
          rounds > 1 ? `best of ${processes.length} processes` : '',
        ]
          .filter(Boolean)
          .join('; ');
        const base = { suite: 'tokenizer', name, backend: peer, unit: 'MB/s', note: notes };
        const best = (metric: 'encode' | 'decode') =>
          processes.map((run) => summarize(run[metric])).reduce((a, b) => (a.median >= b.median ? a : b));
        const encode = best('encode');
        const decode = best('decode');
        results.push({ ...base, metric: 'encode', value: encode.median, runs, spread: encode.spread });
        results.push({
          ...base,
          metric: 'decode',
          value: decode.median,
          runs: passes,
          spread: decode.spread,
        });
      }
      for (const result of againstFastestPeer(results)) context.record(result);
    },
  };
}

/** Runs the throughput probe for one tokenizer and corpus in a fresh Node process. */
function throughputProbe(
  peer: string,
  corpus: string,
  [size, runs, passes]: [number, number, number],
  fixtures: string,
  scratch: string,
): ThroughputProbeResult {
  const out = join(scratch, 'result.json');
  rmSync(out, { force: true });
  const child = spawnSync(
    process.execPath,
    [
      join(here, 'throughput-probe.js'),
      peer,
      corpus,
      String(size),
      String(runs),
      String(passes),
      fixtures,
      repositoryRoot,
      out,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (child.status !== 0) throw new Error(child.stderr || `throughput probe of ${peer} failed`);
  return JSON.parse(readFileSync(out, 'utf8')) as ThroughputProbeResult;
}

/** Vocabulary load time and memory, each tokenizer in a fresh Node process. */
const loadTask: BenchTask = {
  name: 'GPT-2 load',
  async run(context: SuiteContext) {
    const probe = (peer: string) => {
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', join(here, 'load-probe.js'), peer, context.fixtures],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      if (child.status !== 0) throw new Error(child.stderr || `load probe of ${peer} failed`);
      return JSON.parse(child.stdout) as { loadMs: number; retainedMiB: number; maxRssMiB: number };
    };
    const bare = probe('none');
    const results: BenchResult[] = [];
    for (const peer of PEERS) {
      let measured: ReturnType<typeof probe>;
      try {
        measured = probe(peer.name);
      } catch (error) {
        context.record({
          suite: 'tokenizer',
          name: 'GPT-2 vocabulary',
          backend: peer.name,
          metric: 'skipped',
          value: 0,
          unit: '',
          note: String(error).slice(0, 200),
        });
        continue;
      }
      const base = { suite: 'tokenizer', name: 'GPT-2 vocabulary', backend: peer.name };
      results.push({
        ...base,
        metric: 'load',
        value: measured.loadMs,
        unit: 'ms',
        note: 'fresh process: import, load, first encode',
      });
      results.push({
        ...base,
        metric: 'memory',
        value: Math.max(0, measured.retainedMiB - bare.retainedMiB),
        unit: 'MiB',
        note: `heap + external + WASM kept after GC, above a bare process; peak RSS ${measured.maxRssMiB.toFixed(0)} MiB (bare ${bare.maxRssMiB.toFixed(0)} MiB)`,
      });
    }
    for (const r of results) {
      // Lower is better here, so the ratio is ours over the best peer's.
      const peers = results.filter((p) => p.metric === r.metric && p.backend !== 'rotor');
      const best = peers.reduce((a, b) => (a.value <= b.value ? a : b));
      context.record(
        best.value > 0
          ? { ...r, baseline: best.value, baselineName: best.backend, ratio: r.value / best.value }
          : r,
      );
    }
  },
};

const WORDS =
  'the a little girl boy dog cat ball tree park sun day happy sad big small red blue went saw played wanted said mom dad friend house garden bird fish cake toy car jumped ran looked found was were had her his they she he it and but so then because very too with to in on at of'.split(
    ' ',
  );

/** Seeded prose of `bytes` length: sentences of random words, never a repeating block. */
export function storyCorpus(bytes: number, seed = 1): string {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const count = 4 + (next() % 10);
    const words = Array.from({ length: count }, () => WORDS[next() % WORDS.length]);
    const sentence = `${words[0][0].toUpperCase()}${words.join(' ').slice(1)}${next() % 7 === 0 ? '!' : '.'}${next() % 5 === 0 ? '\n' : ' '}`;
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').slice(0, bytes);
}

export const tokenizerSuite: Suite = {
  name: 'tokenizer',
  tasks({ fixtures }) {
    const path = join(fixtures, 'stories260K/tok512.bin');
    return [
      gpt2Task(prose),
      gpt2Task(code(repositoryRoot)),
      gpt2Task(multilingual),
      loadTask,
      {
        name: 'llama2.c tok512',
        async run(context: SuiteContext) {
          if (!existsSync(path)) {
            context.record({
              suite: 'tokenizer',
              name: 'llama2.c tok512',
              backend: 'rotor',
              metric: 'skipped',
              value: 0,
              unit: '',
              note: `${path} is missing`,
            });
            return;
          }
          const bytes = readFileSync(path);
          const loadStart = performance.now();
          const tokenizer = loadLlama2cTokenizer(bytes, { vocabSize: 512 });
          const loadMs = performance.now() - loadStart;
          const size = context.quick ? 200_000 : 2_000_000;
          let round = 0;
          // A fresh corpus per run: nothing is encoded twice.
          const encode = await measure(() => tokenizer.encode(storyCorpus(size, ++round)), {
            warmup: 1,
            minRuns: 3,
            minTimeMs: 200,
          });
          const corpusStart = performance.now();
          storyCorpus(size, 999);
          const corpusMs = performance.now() - corpusStart;
          const ids = tokenizer.encode(storyCorpus(size, 12345));
          const decode = await measure(() => tokenizer.decode(ids), {
            warmup: 1,
            minRuns: 3,
            minTimeMs: 200,
          });
          const base = { suite: 'tokenizer', name: 'llama2.c tok512, English prose', backend: 'rotor' };
          const megabytes = size / 1e6;
          context.record({
            ...base,
            metric: 'encode',
            value: megabytes / ((encode.median - corpusMs) / 1000),
            unit: 'MB/s',
            spread: encode.spread,
            runs: encode.runs,
          });
          context.record({
            ...base,
            metric: 'decode',
            value: megabytes / (decode.median / 1000),
            unit: 'MB/s',
            spread: decode.spread,
            runs: decode.runs,
          });
          context.record({ ...base, metric: 'load', value: loadMs, unit: 'ms' });
        },
      },
    ];
  },
};
