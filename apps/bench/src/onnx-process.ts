/**
 * `node dist/onnx-process.js '<json>'`: runs onnxruntime-web on one model in a fresh process, so
 * it can use another thread count than the bench's own process (onnxruntime-web reads it once per
 * process). Prints what `runGreedy` measured, as JSON, on stdout.
 */
import type { OnnxExportForm } from '@rotor/decoder-model';
import { type ModelSpec, promptIds } from './models.js';
import { loadModelSpec } from './node-models.js';
import { createOnnxRunner } from './onnx-baseline.js';
import { type GreedyRun, runGreedy } from './runner.js';

/** What the parent asks for. */
export interface OnnxProcessRequest {
  spec: ModelSpec;
  form: OnnxExportForm;
  threads: number;
  prompt: number;
  decode: number;
  prefillRuns: number;
  /** Minimum untimed warm-up, ms ({@link runGreedy}). */
  warmupMs: number;
  maxSequenceLength: number;
}

/** What the child answers. */
export interface OnnxProcessResult {
  label: string;
  loadMs: number;
  rssMiB: number;
  run: GreedyRun;
}

const request = JSON.parse(process.argv[2]) as OnnxProcessRequest;
const weights = await loadModelSpec(request.spec);
const runner = await createOnnxRunner(weights, request.form, request.threads, request.maxSequenceLength);
const ids = promptIds(request.prompt, weights.config.vocabSize);
const run = await runGreedy(runner, ids, request.decode, request.prefillRuns, request.warmupMs);
await runner.dispose();
const result: OnnxProcessResult = {
  label: runner.label,
  loadMs: runner.loadMs,
  rssMiB: process.memoryUsage().rss / 2 ** 20,
  run: { ...run, prefillLogits: undefined },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
// onnxruntime-web's worker threads would keep the process alive.
process.exit(0);
