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
} from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { type Conversation, TextGenerator } from './generate.js';
import { parseGgufWeights } from './loaders/gguf.js';
import { parseLlama2cCheckpoint } from './loaders/llama2c.js';
import { looksLikeOnnx, parseOnnxWeights } from './loaders/onnx.js';
import { DecoderModel } from './model.js';
import type { ModelWeights, QuantizedWeightType } from './weights.js';

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
  /** Most prompts one batch may hold (`DecoderModelOptions.maxBatchSize`). Default 16. */
  maxBatchSize?: number;
  /** The model's Jinja chat template, for {@link LanguageModel.createConversation} and `chat`. */
  chatTemplate?: string;
  /**
   * Quantise f32 and f16 weight matrices to this GGUF block type at upload, where the backend
   * declares it (see `DecoderModelOptions.quantize`). Matrices kept block-quantized from a GGUF file
   * stay as they are.
   */
  quantize?: QuantizedWeightType;
}

/** A ready-to-use model: numeric core, tokenizer and generator. */
export interface LanguageModel {
  readonly model: DecoderModel;
  readonly tokenizer: Tokenizer;
  readonly generator: TextGenerator;
  /** How the backend was chosen, with the reason for every fallback. */
  readonly backendSelection: BackendSelection;
  /** The model's chat template, when it ships one. */
  readonly chatTemplate?: string;
  /** A conversation that reuses the KV cache turn by turn (with the model's chat template). */
  createConversation(): Conversation;
  /** Frees the model's tensors and the backend (when this call created it). */
  dispose(): void;
}

/**
 * Detects a single-file checkpoint's format from its bytes (GGUF, ONNX, llama2.c) and parses it.
 * GGUF results keep the parsed file (`gguf`) for its embedded vocabulary and chat template.
 */
export function parseModelWeights(
  bytes: Uint8Array | ArrayBuffer,
  options: { source?: string; keepQuantized?: boolean } = {},
): ModelWeights {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const source = options.source ?? 'model';
  if (view.byteLength >= 4 && String.fromCharCode(view[0], view[1], view[2], view[3]) === 'GGUF') {
    return parseGgufWeights(view, { source, keepQuantized: options.keepQuantized });
  }
  if (view.byteLength === 0) throw new FormatError(`${source}: empty file`);
  if (looksLikeOnnx(view)) return parseOnnxWeights(view, { source });
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
      maxBatchSize: options.maxBatchSize,
      quantize: options.quantize,
    });
    const generator = new TextGenerator(model, tokenizer);
    const { chatTemplate } = options;
    return {
      model,
      tokenizer,
      generator,
      backendSelection,
      chatTemplate,
      createConversation: () => generator.createConversation({ chatTemplate }),
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
