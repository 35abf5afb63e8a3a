import { readFile } from 'node:fs/promises';
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import { type BackendRegistry, IoError, type PositionalEncodingSpec } from '@rotor/core';
import { type GenerateBatchOptions, type GenerateOptions, MAX_BATCH_SIZE } from '@rotor/decoder-model';
import { type LoadedLanguageModel, loadLanguageModelFile } from '@rotor/decoder-model/node';
import { defaultModel } from '../default-model.js';
import { UsageError } from '../errors.js';

/** Parsed options of `rotor generate`. */
export interface GenerateCommandOptions {
  model?: string;
  tokenizer?: string;
  /** One prompt, or several (run as one batch). */
  prompt?: string[];
  /** A file of prompts, one per line, run as one batch (after any `prompt`s). */
  promptsFile?: string;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  stop?: string[];
  contextOverflow?: string;
  seed?: number;
  backend: string;
  positionalEncoding?: string;
  stats?: string;
}

const log = (line: string) => process.stderr.write(`rotor: ${line}\n`);

/**
 * `rotor generate`: stdout carries exactly the prompt followed by the generated text and a final
 * newline (as llama2.c's run.c prints them); everything else goes to stderr. Several prompts run
 * as one batch and print one such result each, after a `--- sequence i of n ---` line.
 */
export async function generateCommand(options: GenerateCommandOptions): Promise<void> {
  if (options.stats !== undefined && options.stats !== 'json') {
    throw new UsageError(`--stats: expected "json", found ${JSON.stringify(options.stats)}`);
  }
  const positionalEncoding = parseSpec(options.positionalEncoding);
  const contextOverflow = options.contextOverflow ?? 'error';
  if (contextOverflow !== 'error' && contextOverflow !== 'sliding') {
    throw new UsageError(
      `--context-overflow: expected "error" or "sliding", found ${JSON.stringify(contextOverflow)}`,
    );
  }
  const prompts = await readPrompts(options);
  const batch = options.promptsFile !== undefined || prompts.length > 1;
  if (prompts.length > MAX_BATCH_SIZE) {
    throw new UsageError(
      `--prompt/--prompts-file: expected at most ${MAX_BATCH_SIZE} prompts in one batch, found ${prompts.length}`,
    );
  }
  const paths = options.model
    ? { modelPath: options.model, tokenizerPath: options.tokenizer }
    : await defaultModel(log).then((d) => ({
        modelPath: d.modelPath,
        tokenizerPath: options.tokenizer ?? d.tokenizerPath,
      }));

  const loaded = await loadLanguageModelFile(paths.modelPath, {
    tokenizerPath: paths.tokenizerPath,
    backend: options.backend,
    backendRegistry: await backendRegistry(options.backend),
    positionalEncoding,
    maxBatchSize: batch ? Math.max(1, prompts.length) : undefined,
  });
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onInterrupt);
  try {
    const generateOptions: GenerateOptions = {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      minP: options.minP,
      repetitionPenalty: options.repetitionPenalty,
      presencePenalty: options.presencePenalty,
      frequencyPenalty: options.frequencyPenalty,
      stop: options.stop,
      contextOverflow,
      seed: options.seed,
      signal: controller.signal,
    };
    const announce = () => logBackend(loaded, paths.modelPath);
    if (batch)
      await generateBatch(loaded, prompts, generateOptions as GenerateBatchOptions, options, announce);
    else await generateOne(loaded, prompts[0], generateOptions, options, announce);
  } finally {
    process.off('SIGINT', onInterrupt);
    loaded.dispose();
  }
}

/** The `--prompt` values, then the lines of `--prompts-file`; one empty prompt when there are none. */
async function readPrompts(options: GenerateCommandOptions): Promise<string[]> {
  const prompts = [...(options.prompt ?? [])];
  if (options.promptsFile !== undefined) {
    const path = options.promptsFile;
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new IoError(
        `--prompts-file: cannot read ${JSON.stringify(path)}: ${error.code ?? error.message}`,
        {
          cause: error,
        },
      );
    });
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
    if (lines.length === 0) {
      throw new UsageError(`--prompts-file: expected at least one non-blank line in ${JSON.stringify(path)}`);
    }
    prompts.push(...lines);
  }
  return prompts.length > 0 ? prompts : [''];
}

/** One prompt, streamed: the prompt and its continuation, as llama2.c prints them. */
async function generateOne(
  loaded: LoadedLanguageModel,
  prompt: string,
  generateOptions: GenerateOptions,
  options: GenerateCommandOptions,
  announce: () => void,
): Promise<void> {
  const { backendSelection, generator } = loaded;
  const pieces = generator.generate(prompt, generateOptions);
  // The first step validates the request and prefills; only then is anything printed.
  const first = await pieces.next();
  announce();
  process.stdout.write(prompt);
  if (!first.done) process.stdout.write(first.value.text);
  for await (const piece of pieces) process.stdout.write(piece.text);
  process.stdout.write('\n');
  const stats = generator.lastStats;
  if (options.stats === 'json' && stats) {
    process.stderr.write(
      `${JSON.stringify({
        prompt_tokens: stats.promptTokens,
        generated_tokens: stats.generatedTokens,
        load_ms: round(loaded.loadMs),
        prefill_ms: round(stats.prefillMs),
        decode_ms: round(stats.decodeMs),
        decode_tokens_per_s: round(stats.decodeTokensPerSecond),
        stop_reason: stats.stopReason,
        seed: stats.seed,
        backend: backendSelection.backend.name,
      })}\n`,
    );
  }
}

/**
 * Several prompts as one batch; once all are done, each result (prompt and continuation) follows
 * a `--- sequence i of n ---` line, with a blank line between results.
 */
async function generateBatch(
  loaded: LoadedLanguageModel,
  prompts: string[],
  generateOptions: GenerateBatchOptions,
  options: GenerateCommandOptions,
  announce: () => void,
): Promise<void> {
  const { backendSelection, generator } = loaded;
  const texts = await generator.generateBatchText(prompts, generateOptions);
  announce();
  const blocks = prompts.map(
    (prompt, b) => `--- sequence ${b + 1} of ${prompts.length} ---\n${prompt}${texts[b]}\n`,
  );
  process.stdout.write(blocks.join('\n'));
  const stats = generator.lastBatchStats;
  if (options.stats === 'json' && stats) {
    process.stderr.write(
      `${JSON.stringify({
        batch_size: stats.batchSize,
        prompt_tokens: stats.sequences.map((s) => s.promptTokens),
        generated_tokens: stats.sequences.map((s) => s.generatedTokens),
        load_ms: round(loaded.loadMs),
        prefill_ms: round(stats.prefillMs),
        decode_ms: round(stats.decodeMs),
        decode_tokens_per_s: round(stats.decodeTokensPerSecond),
        stop_reasons: stats.sequences.map((s) => s.stopReason),
        seeds: stats.sequences.map((s) => s.seed),
        backend: backendSelection.backend.name,
      })}\n`,
    );
  }
}

/** Reports on stderr which backend runs the model (and why others were skipped). */
function logBackend(loaded: LoadedLanguageModel, modelPath: string): void {
  const { backendSelection } = loaded;
  for (const step of backendSelection.steps) {
    if (!step.chosen) log(`backend ${step.name} skipped: ${step.reason}`);
  }
  log(`${modelPath} on backend ${backendSelection.backend.name}, loaded in ${loaded.loadMs.toFixed(1)} ms`);
}

/** Parses `--positional-encoding` JSON into a spec, or throws a {@link UsageError}. */
export function parseSpec(raw: string | undefined): PositionalEncodingSpec | undefined {
  if (raw === undefined) return undefined;
  let spec: unknown;
  try {
    spec = JSON.parse(raw);
  } catch {
    throw new UsageError(
      `--positional-encoding: expected a JSON object, found ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  if (
    typeof spec !== 'object' ||
    spec === null ||
    Array.isArray(spec) ||
    typeof (spec as { type?: unknown }).type !== 'string'
  ) {
    throw new UsageError(
      `--positional-encoding: expected a JSON object with a string "type", found ${raw.slice(0, 80)}`,
    );
  }
  return spec as PositionalEncodingSpec;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * The backends this command can use. WebGPU comes from Dawn (npm `webgpu`) when it loads; a
 * software adapter (SwiftShader) is used only when WebGPU was asked for by name.
 */
export async function backendRegistry(backend: string): Promise<BackendRegistry> {
  const gpu =
    backend === 'webgpu' || backend === 'auto' ? await createNodeGpu().catch(() => undefined) : undefined;
  return createDefaultBackendRegistry({ gpu, allowSoftwareAdapter: backend === 'webgpu' });
}
