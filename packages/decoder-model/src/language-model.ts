/**
 * Putting the pieces together: weights + tokenizer + backend + positional encoding → a model
 * that generates text.
 */
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import {
  type Backend,
  type BackendRegistry,
  type BackendSelection,
  FormatError,
  type PositionalEncodingSpec,
  type Tokenizer,
  UnsupportedError,
} from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { TextGenerator } from './generate.js';
import { parseLlama2cCheckpoint } from './loaders/llama2c.js';
import { DecoderModel } from './model.js';
import type { ModelWeights } from './weights.js';

/** Options of {@link createLanguageModel}. */
export interface LanguageModelOptions {
  /** A backend instance, or a registered name (`auto`, `reference`, ...). Default `auto`. */
  backend?: Backend | string;
  /** Where backend names are looked up. Default: every backend this build ships, in `auto` order. */
  backendRegistry?: BackendRegistry;
  /** Replaces the model's own positional encoding (a JSON spec for the positional-encoding registry). */
  positionalEncoding?: PositionalEncodingSpec;
  /** KV-cache capacity in tokens. Default: the model's trained context. */
  maxSequenceLength?: number;
}

/** A ready-to-use model: numeric core, tokenizer and generator. */
export interface LanguageModel {
  readonly model: DecoderModel;
  readonly tokenizer: Tokenizer;
  readonly generator: TextGenerator;
  /** How the backend was chosen, with the reason for every fallback. */
  readonly backendSelection: BackendSelection;
  /** Frees the model's tensors and the backend (when this call created it). */
  dispose(): void;
}

/** Detects a checkpoint's format from its bytes and parses it. */
export function parseModelWeights(
  bytes: Uint8Array | ArrayBuffer,
  options: { source?: string } = {},
): ModelWeights {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const source = options.source ?? 'model';
  if (view.byteLength >= 4 && String.fromCharCode(view[0], view[1], view[2], view[3]) === 'GGUF') {
    throw new UnsupportedError(
      `${source}: GGUF models are not supported yet; use a llama2.c .bin checkpoint`,
    );
  }
  if (view.byteLength === 0) throw new FormatError(`${source}: empty file`);
  return parseLlama2cCheckpoint(view, { source });
}

/** Builds a {@link LanguageModel} from parsed weights and a tokenizer. */
export async function createLanguageModel(
  weights: ModelWeights,
  tokenizer: Tokenizer,
  options: LanguageModelOptions = {},
): Promise<LanguageModel> {
  const requested = options.backend ?? 'auto';
  const backendSelection: BackendSelection =
    typeof requested === 'string'
      ? await (options.backendRegistry ?? createDefaultBackendRegistry()).select(requested)
      : { backend: requested, steps: [{ name: requested.name, chosen: true }] };
  const ownsBackend = typeof requested === 'string';
  const { backend } = backendSelection;
  try {
    const { config } = weights;
    const positionalEncoding = createDefaultPositionalEncodingRegistry().create(
      options.positionalEncoding ?? config.positionalEncoding,
      {
        modelDim: config.modelDim,
        numHeads: config.numHeads,
        headDim: config.headDim,
        maxPositions: config.maxSequenceLength,
        weight: (name) => weights.tensors.get(name)?.data,
      },
    );
    const model = await DecoderModel.create(weights, {
      backend,
      positionalEncoding,
      maxSequenceLength: options.maxSequenceLength,
    });
    const generator = new TextGenerator(model, tokenizer);
    return {
      model,
      tokenizer,
      generator,
      backendSelection,
      dispose() {
        model.dispose();
        if (ownsBackend) backend.destroy();
      },
    };
  } catch (error) {
    if (ownsBackend) backend.destroy();
    throw error;
  }
}
