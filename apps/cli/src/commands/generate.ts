import { createDefaultBackendRegistry } from '@rotor/attention-core';
import { createNodeGpu } from '@rotor/attention-core/node';
import type { BackendRegistry, PositionalEncodingSpec } from '@rotor/core';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import { defaultModel } from '../default-model.js';
import { UsageError } from '../errors.js';

/** Parsed options of `rotor generate`. */
export interface GenerateCommandOptions {
  model?: string;
  tokenizer?: string;
  prompt: string;
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
 * newline (as llama2.c's run.c prints them); everything else goes to stderr.
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
  });
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onInterrupt);
  try {
    const { backendSelection, generator } = loaded;
    const pieces = generator.generate(options.prompt, {
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
    });
    // The first step validates the request and prefills; only then is anything printed.
    const first = await pieces.next();
    for (const step of backendSelection.steps) {
      if (!step.chosen) log(`backend ${step.name} skipped: ${step.reason}`);
    }
    log(
      `${paths.modelPath} on backend ${backendSelection.backend.name}, loaded in ${loaded.loadMs.toFixed(1)} ms`,
    );
    process.stdout.write(options.prompt);
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
  } finally {
    process.off('SIGINT', onInterrupt);
    loaded.dispose();
  }
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
