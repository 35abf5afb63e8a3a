/**
 * Streaming text generation: prefill the prompt in one pass, then sample one token at a time,
 * yielding each token with the text it completes.
 */
import {
  AbortedError,
  ContextOverflowError,
  InvalidArgumentError,
  type Tokenizer,
  UnsupportedError,
} from '@rotor/core';
import type { DecoderModel } from './model.js';
import { Sampler, type SamplingOptions } from './sampling.js';

/** Options of {@link TextGenerator.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate. Default: until the context is full. */
  maxNewTokens?: number;
  /** Prepend the tokenizer's BOS token (as llama2.c does). Default true. */
  addSpecialTokens?: boolean;
  /** Cancels the generation; the iterator then throws `AbortedError`. */
  signal?: AbortSignal;
}

/** One generated token. */
export interface GeneratedToken {
  /**
   * Token id; `-1` only for a final fragment holding the bytes of a character left incomplete
   * when generation stopped (as U+FFFD).
   */
  readonly token: number;
  /** Text this token completes (empty while a multi-byte character is still incomplete). */
  readonly text: string;
}

/** Timings and counts of the latest generation. */
export interface GenerationStats {
  /** Seed the sampler used (reported so any run can be repeated). */
  seed: number;
  promptTokens: number;
  generatedTokens: number;
  /** Milliseconds spent prefilling the prompt (including the first logits). */
  prefillMs: number;
  /** Milliseconds spent producing the remaining tokens. */
  decodeMs: number;
  /** Generated tokens per second after the prefill (0 when fewer than two tokens were generated). */
  decodeTokensPerSecond: number;
  /** Why generation ended. */
  stopReason: 'end-of-text' | 'max-tokens' | 'context-full';
}

/** Generates text with a model and its tokenizer. One generation runs at a time per generator. */
export class TextGenerator {
  /** Statistics of the latest finished (or aborted) generation. */
  lastStats: GenerationStats | undefined;
  private busy = false;
  private readonly logits: Float32Array;
  private readonly nextId = new Int32Array(1);

  constructor(
    readonly model: DecoderModel,
    readonly tokenizer: Tokenizer,
  ) {
    if (tokenizer.vocabSize !== model.config.vocabSize) {
      throw new InvalidArgumentError(
        `generator: tokenizer vocabulary size: expected the model's ${model.config.vocabSize}, found ${tokenizer.vocabSize}`,
      );
    }
    this.logits = new Float32Array(model.config.vocabSize);
  }

  /** Streams generated tokens for `prompt`. The KV cache starts empty for each call. */
  async *generate(
    prompt: string,
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    if (this.busy) {
      throw new UnsupportedError(
        'generator: a generation is already running on this model; wait for it to finish',
      );
    }
    this.busy = true;
    try {
      yield* this.run(prompt, options);
    } finally {
      this.busy = false;
    }
  }

  /** Generates and returns the continuation of `prompt` as one string. */
  async generateText(prompt: string, options: GenerateOptions = {}): Promise<string> {
    let text = '';
    for await (const piece of this.generate(prompt, options)) text += piece.text;
    return text;
  }

  private async *run(
    prompt: string,
    options: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    const { model, tokenizer } = this;
    const capacity = model.maxSequenceLength;
    const promptIds = tokenizer.encode(prompt, { addSpecialTokens: options.addSpecialTokens ?? true });
    if (promptIds.length === 0) {
      throw new InvalidArgumentError('generate: the prompt encodes to no tokens and no BOS token was added');
    }
    const room = capacity - promptIds.length;
    if (room < 1) {
      throw new ContextOverflowError(
        `generate: prompt of ${promptIds.length} tokens leaves no room in the context of ${capacity} tokens`,
      );
    }
    const maxNewTokens = options.maxNewTokens ?? room;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new InvalidArgumentError(
        `generate: maxNewTokens: expected an integer >= 0, found ${maxNewTokens}`,
      );
    }
    if (maxNewTokens > room) {
      throw new ContextOverflowError(
        `generate: prompt of ${promptIds.length} tokens plus maxNewTokens ${maxNewTokens} exceeds the context of ${capacity} tokens`,
      );
    }
    const sampler = new Sampler(model.config.vocabSize, options);
    const { bos, eos } = tokenizer.specialTokens;
    const decoder = tokenizer.createStreamDecoder();
    for (const id of promptIds) decoder.push(id);

    const stats: GenerationStats = {
      seed: sampler.seed,
      promptTokens: promptIds.length,
      generatedTokens: 0,
      prefillMs: 0,
      decodeMs: 0,
      decodeTokensPerSecond: 0,
      stopReason: 'max-tokens',
    };
    this.lastStats = stats;
    const signal = options.signal;
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortedError('generate: aborted', { cause: signal.reason });
    };

    checkAbort();
    const prefillStart = performance.now();
    let logits = await model.forward(promptIds, 0, this.logits);
    stats.prefillMs = performance.now() - prefillStart;
    const decodeStart = performance.now();
    let position = promptIds.length;
    for (let n = 0; n < maxNewTokens; n++) {
      checkAbort();
      const token = sampler.sample(logits);
      if (token === bos || token === eos) {
        stats.stopReason = 'end-of-text';
        break;
      }
      stats.generatedTokens++;
      yield { token, text: decoder.push(token) };
      if (n + 1 === maxNewTokens) break;
      if (position >= capacity) {
        stats.stopReason = 'context-full';
        break;
      }
      this.nextId[0] = token;
      logits = await model.forward(this.nextId, position, this.logits);
      position++;
      stats.decodeMs = performance.now() - decodeStart;
    }
    const rest = decoder.flush();
    if (rest) yield { token: -1, text: rest };
    if (stats.generatedTokens > 1 && stats.decodeMs > 0) {
      stats.decodeTokensPerSecond = ((stats.generatedTokens - 1) * 1000) / stats.decodeMs;
    }
  }
}
