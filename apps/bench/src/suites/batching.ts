/**
 * Batched decoding: total decode tokens per second across a batch of 1, 4 and 16 sequences. Decode
 * reads every weight once per step whatever the batch, so the rate should grow almost linearly
 * until arithmetic becomes the limit. Before timing, each batch's greedy tokens are checked
 * against each prompt decoded alone on the same backend.
 */
import { performance } from 'node:perf_hooks';
import { argmax, type DecoderModel } from '@rotor/decoder-model';
import { ValidationError, validateTokens } from '../harness.js';
import { type BenchModel, instantiate, promptIds, randomModel } from '../models.js';
import { stories260K } from '../node-models.js';
import { type BenchTask, backendFacts, compared, type Suite, type SuiteContext } from '../suite.js';

const BATCH_SIZES = [1, 4, 16];

/** B prompts of mixed lengths (`length` down to `length - 3` ids), each with its own tokens. */
function batchPrompts(batch: number, length: number, vocabSize: number): number[][] {
  return Array.from({ length: batch }, (_, b) => promptIds(length + b, vocabSize).slice(b + (b % 4)));
}

/** Greedy tokens of one prompt alone (the single-sequence path). */
async function greedyAlone(model: DecoderModel, prompt: number[], steps: number): Promise<number[]> {
  const tokens: number[] = [];
  let logits = await model.forward(prompt, 0);
  for (let n = 0; n < steps; n++) {
    tokens.push(argmax(logits));
    if (n + 1 < steps) logits = await model.forward([tokens[n]], prompt.length + n);
  }
  return tokens;
}

/** Greedy tokens of a whole batch, and the time of its decode steps (after the prefill), ms. */
async function greedyBatch(
  model: DecoderModel,
  prompts: number[][],
  steps: number,
): Promise<{ tokens: number[][]; decodeMs: number }> {
  const V = model.config.vocabSize;
  const B = prompts.length;
  const tokens = prompts.map(() => [] as number[]);
  const logits = new Float32Array(B * V);
  const next = new Int32Array(B);
  await model.prefillBatch(prompts, logits);
  const start = performance.now();
  for (let n = 0; n < steps; n++) {
    for (let b = 0; b < B; b++) {
      next[b] = argmax(logits.subarray(b * V, (b + 1) * V));
      tokens[b].push(next[b]);
    }
    if (n + 1 < steps) await model.decodeBatch(next, logits);
  }
  return { tokens, decodeMs: performance.now() - start };
}

function batchTask(model: BenchModel, backendNames: string[], prompt: number, steps: number): BenchTask {
  return {
    name: model.name,
    async run(context: SuiteContext) {
      const weights = await model.load();
      const runs = context.quick ? 1 : 5;
      for (const backend of context.backends.filter((b) => backendNames.includes(b.name))) {
        const instance = await instantiate(weights, backend, prompt + steps + 1);
        try {
          const base = (B: number) => ({
            suite: 'batching',
            name: `${model.name} B=${B}`,
            backend: backend.name,
            ...backendFacts(backend, context),
          });
          const batches = new Map<number, number[][]>();
          for (const B of BATCH_SIZES) {
            const prompts = batchPrompts(B, prompt, weights.config.vocabSize);
            try {
              const batched = await greedyBatch(instance, prompts, steps);
              for (let b = 0; b < B; b++) {
                validateTokens(
                  `${model.name} B=${B} sequence ${b} on ${backend.name} (batched vs alone)`,
                  batched.tokens[b],
                  await greedyAlone(instance, prompts[b], steps),
                );
              }
              batches.set(B, prompts);
            } catch (error) {
              if (!(error instanceof ValidationError)) throw error;
              context.record({
                ...base(B),
                metric: 'validation',
                value: 0,
                unit: 'pass',
                note: error.message,
              });
            }
          }
          // Batch sizes take turns, so a shared machine's changing load falls on all of them alike.
          const times = new Map<number, number[]>([...batches.keys()].map((B) => [B, []]));
          for (let r = 0; r < runs; r++) {
            for (const [B, prompts] of batches) {
              times.get(B)!.push((await greedyBatch(instance, prompts, steps)).decodeMs);
            }
          }
          let single: number | undefined;
          for (const [B, measured] of times) {
            measured.sort((a, b) => a - b);
            const at = (q: number) =>
              measured[Math.min(measured.length - 1, Math.floor(q * measured.length))];
            // steps - 1 decode steps of B tokens each (the first token comes from the prefill)
            const value = ((steps - 1) * B * 1000) / at(0.5);
            if (B === 1) single = value;
            context.record(
              compared(
                {
                  ...base(B),
                  metric: 'decode',
                  value,
                  unit: 'tokens/s',
                  runs,
                  spread: (at(0.75) - at(0.25)) / at(0.5),
                  note: `total across the batch; prompts of ${prompt - 3} to ${prompt} tokens, ${steps} greedy tokens each, equal to each prompt decoded alone`,
                },
                B === 1 ? undefined : single,
                'batch 1',
              ),
            );
          }
        } finally {
          instance.dispose();
        }
      }
    },
  };
}

export const batchingSuite: Suite = {
  name: 'batching',
  tasks({ quick, fixtures }) {
    return [
      batchTask(stories260K(fixtures), ['reference', 'wasm'], 16, quick ? 16 : 64),
      batchTask(randomModel('stories15M-shape'), ['wasm'], 16, quick ? 6 : 24),
    ];
  },
};
