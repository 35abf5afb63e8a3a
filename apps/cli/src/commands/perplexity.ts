import { readFile } from 'node:fs/promises';
import { IoError } from '@rotor/core';
import { evaluate } from '@rotor/decoder-model';
import { loadLanguageModelFile } from '@rotor/decoder-model/node';
import { defaultModel } from '../default-model.js';
import { backendRegistry, parseSpec } from './generate.js';

/** Parsed options of `rotor perplexity`. */
export interface PerplexityCommandOptions {
  model?: string;
  tokenizer?: string;
  file: string;
  context?: number;
  stride?: number;
  backend: string;
  positionalEncoding?: string;
}

const log = (line: string) => process.stderr.write(`rotor: ${line}\n`);

/**
 * `rotor perplexity`: the sliding-window perplexity of a text file; stdout carries one line of JSON
 * `{"tokens","scored_tokens","mean_nll","perplexity"}`, everything else goes to stderr.
 */
export async function perplexityCommand(options: PerplexityCommandOptions): Promise<void> {
  const positionalEncoding = parseSpec(options.positionalEncoding);
  const text = await readFile(options.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new IoError(`--file: cannot read ${JSON.stringify(options.file)}: ${error.code ?? error.message}`, {
      cause: error,
    });
  });
  const paths = options.model
    ? { modelPath: options.model, tokenizerPath: options.tokenizer }
    : await defaultModel(log).then((d) => ({
        modelPath: d.modelPath,
        tokenizerPath: options.tokenizer ?? d.tokenizerPath,
      }));

  // A context longer than the trained one needs a KV cache that long (a position study).
  const loaded = await loadLanguageModelFile(paths.modelPath, {
    tokenizerPath: paths.tokenizerPath,
    backend: options.backend,
    backendRegistry: await backendRegistry(options.backend),
    positionalEncoding,
    maxSequenceLength: options.context,
  });
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onInterrupt);
  try {
    const result = await evaluate(loaded, text, {
      contextLength: options.context,
      stride: options.stride,
      signal: controller.signal,
    });
    // Logged only after the options were accepted, so a failure stays one line.
    const { backendSelection } = loaded;
    for (const step of backendSelection.steps) {
      if (!step.chosen) log(`backend ${step.name} skipped: ${step.reason}`);
    }
    log(
      `${paths.modelPath} on backend ${backendSelection.backend.name}, context ${options.context ?? loaded.model.maxSequenceLength}`,
    );
    process.stdout.write(
      `${JSON.stringify({
        tokens: result.tokens,
        scored_tokens: result.scoredTokens,
        mean_nll: result.meanNegativeLogLikelihood,
        perplexity: result.perplexity,
      })}\n`,
    );
  } finally {
    process.off('SIGINT', onInterrupt);
    loaded.dispose();
  }
}
