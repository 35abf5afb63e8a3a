/**
 * One protocol for every whole-model implementation (our backends and onnxruntime-web): warm up,
 * time the prompt's prefill a few times, then decode greedily token by token from it.
 */
import type { Backend } from '@rotor/core';
import { argmax, type ModelWeights, type QuantizedWeightType } from '@rotor/decoder-model';
import { instantiate } from './models.js';

/** A model ready to run, whoever runs it. */
export interface ModelRunner {
  label: string;
  /** Time it took to get ready (upload, compile, graph optimisation), ms. */
  loadMs: number;
  /** Runs the prompt from position 0 (replacing the cache); returns the last position's logits. */
  prefill(ids: readonly number[]): Promise<Float32Array>;
  /** Runs one token at `position` after the cached ones; returns its logits. */
  step(id: number, position: number): Promise<Float32Array>;
  dispose(): Promise<void> | void;
}

/** Our decoder on `backend`, its matrices quantised to `quantize` when given. */
export async function createRotorRunner(
  weights: ModelWeights,
  backend: Backend,
  maxSequenceLength: number,
  quantize?: QuantizedWeightType,
): Promise<ModelRunner> {
  const start = performance.now();
  const model = await instantiate(weights, backend, maxSequenceLength, quantize);
  const loadMs = performance.now() - start;
  const logits = new Float32Array(weights.config.vocabSize);
  return {
    label: backend.name,
    loadMs,
    prefill: (ids) => model.forward(ids, 0, logits),
    step: (id, position) => model.forward([id], position, logits),
    dispose: () => model.dispose(),
  };
}

/** What {@link runGreedy} measured. */
export interface GreedyRun {
  /** Greedy tokens after the prompt. */
  tokens: number[];
  /** Median prefill time, ms. */
  prefillMs: number;
  /** Time of the whole decode loop, ms. */
  decodeMs: number;
  /** Logits of the prompt's last position (from the untimed prefill). */
  prefillLogits?: Float32Array;
}

/** Untimed greedy passes stop after this many, however short the warm-up time. */
const MAX_WARMUP_PASSES = 64;

/**
 * Untimed prefills and greedy passes of `decode` steps for at least `warmupMs` (at least one
 * pass): JIT tiers, thread pools, pipeline caches. A JavaScript engine optimises a function
 * called once per token only after hundreds of tokens, so one short pass would time the
 * interpreter. Then `prefillRuns` timed prefills (median; each replaces the cache), then `decode`
 * greedy steps from the last one, timed together. Every runner gets the same protocol.
 */
export async function runGreedy(
  runner: ModelRunner,
  ids: readonly number[],
  decode: number,
  prefillRuns: number,
  warmupMs = 1000,
): Promise<GreedyRun> {
  let logits = await runner.prefill(ids);
  const prefillLogits = logits.slice();
  const warmupStart = performance.now();
  for (let pass = 0; pass < MAX_WARMUP_PASSES; pass++) {
    if (pass > 0) {
      if (performance.now() - warmupStart >= warmupMs) break;
      logits = await runner.prefill(ids);
    }
    for (let step = 0; step < decode; step++) logits = await runner.step(argmax(logits), ids.length + step);
  }
  const times: number[] = [];
  for (let i = 0; i < prefillRuns; i++) {
    const start = performance.now();
    logits = await runner.prefill(ids);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const tokens: number[] = [];
  const start = performance.now();
  for (let step = 0; step < decode; step++) {
    const next = argmax(logits);
    tokens.push(next);
    logits = await runner.step(next, ids.length + step);
  }
  return {
    tokens,
    prefillMs: times[Math.floor(times.length / 2)],
    decodeMs: performance.now() - start,
    prefillLogits,
  };
}
