/**
 * Streaming text generation: prefill the prompt in one pass, then sample one token at a time,
 * yielding each token with the text it completes.
 *
 * The generator remembers which tokens the model's KV cache holds, so a call whose prompt starts
 * with the tokens of an earlier call (a conversation growing turn by turn, a repeated system
 * prompt) prefills only the new tokens. {@link Conversation} builds on that.
 */
import {
  AbortedError,
  ContextOverflowError,
  InvalidArgumentError,
  type Tokenizer,
  UnsupportedError,
} from '@rotor/core';
import { type ChatMessage, renderChatTemplate } from './chat-template.js';
import type { DecoderModel } from './model.js';
import { Sampler, type SamplingOptions } from './sampling.js';

/** What happens when the context is full: stop with an error, or slide the window and go on. */
export type ContextOverflowPolicy = 'error' | 'sliding';

/** Options of {@link TextGenerator.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /**
   * Most tokens to generate. Default: until the context is full (`error` policy) or one context
   * length (`sliding`).
   */
  maxNewTokens?: number;
  /** Prepend the tokenizer's BOS token (as llama2.c does). Default true. */
  addSpecialTokens?: boolean;
  /** Cancels the generation; the iterator then throws `AbortedError`. */
  signal?: AbortSignal;
  /** Stop when the text contains any of these strings; the stop string itself is not returned. */
  stop?: string | readonly string[];
  /**
   * `error` (default): a prompt plus `maxNewTokens` that does not fit the context is a
   * `ContextOverflowError`, and generation stops when the context is full. `sliding`: the
   * context keeps the BOS token and its most recent half, recomputed at their new positions,
   * and generation goes on (an over-long prompt keeps its end).
   */
  contextOverflow?: ContextOverflowPolicy;
  /** Reuse the KV cache of earlier calls for a shared prompt prefix. Default true. */
  reuseCache?: boolean;
}

/** One generated token. */
export interface GeneratedToken {
  /**
   * Token id; `-1` only for a final fragment of text held back until the end (the bytes of a
   * character left incomplete, or a possible start of a stop string that never completed).
   */
  readonly token: number;
  /** Text this token completes (empty while a multi-byte character or a possible stop string is incomplete). */
  readonly text: string;
}

/** Timings and counts of the latest generation. */
export interface GenerationStats {
  /** Seed the sampler used (reported so any run can be repeated). */
  seed: number;
  promptTokens: number;
  /** Prompt tokens whose keys and values were reused from the cache instead of prefilled. */
  cachedTokens: number;
  generatedTokens: number;
  /** Milliseconds spent prefilling the prompt (including the first logits). */
  prefillMs: number;
  /** Milliseconds spent producing the remaining tokens. */
  decodeMs: number;
  /** Generated tokens per second after the prefill (0 when fewer than two tokens were generated). */
  decodeTokensPerSecond: number;
  /** Times the context window slid (`contextOverflow: 'sliding'`). */
  slides: number;
  /** Why generation ended. */
  stopReason: 'end-of-text' | 'max-tokens' | 'context-full' | 'stop-string';
}

/** Options of {@link TextGenerator.generateBatch}: those of a single generation, for every sequence. */
export interface GenerateBatchOptions extends Omit<GenerateOptions, 'contextOverflow' | 'reuseCache'> {
  /**
   * Most tokens to generate per sequence. Default: until the context is full for the longest
   * prompt (all sequences share the cache's slots).
   */
  maxNewTokens?: number;
  /**
   * One seed per prompt (each sequence samples as a single generation with that seed would).
   * Default: `seed` for every sequence when given, else distinct seeds from the clock.
   */
  seeds?: readonly number[];
  /** Only `error` is supported for a batch (a prompt plus `maxNewTokens` must fit the context). */
  contextOverflow?: 'error';
}

/** One generated token of one sequence of a batch. */
export interface BatchGeneratedToken extends GeneratedToken {
  /** Index of the prompt this token continues. */
  readonly sequence: number;
}

/** Timings and counts of the latest batch. */
export interface BatchGenerationStats {
  /** Sequences in the batch. */
  batchSize: number;
  /** Each sequence's statistics (`prefillMs`, `decodeMs` and the rate are the batch's). */
  sequences: GenerationStats[];
  /** Milliseconds of the batched prefill (including the first logits). */
  prefillMs: number;
  /** Milliseconds spent producing the remaining tokens. */
  decodeMs: number;
  /** Tokens per second over the whole batch after the prefill (0 when no decode step ran). */
  decodeTokensPerSecond: number;
}

/** Generates text with a model and its tokenizer. One generation runs at a time per generator. */
export class TextGenerator {
  /** Statistics of the latest finished (or aborted) generation. */
  lastStats: GenerationStats | undefined;
  /** Statistics of the latest finished (or aborted) batch. */
  lastBatchStats: BatchGenerationStats | undefined;
  private busy = false;
  private readonly logits: Float32Array;
  private readonly nextId = new Int32Array(1);
  /** The context (prompt and generated tokens) at the end of the latest generation. */
  private lastContext: number[] = [];

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

  /** Streams generated tokens for `prompt`. */
  generate(prompt: string, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, void, undefined> {
    return this.generateFromIds(
      this.tokenizer.encode(prompt, { addSpecialTokens: options.addSpecialTokens ?? true }),
      options,
    );
  }

  /** Streams generated tokens after prompt token ids (already encoded, special tokens included). */
  async *generateFromIds(
    promptIds: readonly number[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    if (this.busy) {
      throw new UnsupportedError(
        'generator: a generation is already running on this model; wait for it to finish',
      );
    }
    this.busy = true;
    try {
      yield* this.run(promptIds, options);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Streams generated tokens for several prompts run as one batch: one batched prefill, then
   * every decode step feeds all sequences together. Sequences stop independently (end of text,
   * `maxNewTokens`, a stop string); greedy results equal those of each prompt generated alone.
   * Tokens arrive step by step, in prompt order within a step. The model's single-sequence cache
   * is overwritten, so the next single generation prefills afresh.
   */
  generateBatch(
    prompts: readonly string[],
    options: GenerateBatchOptions = {},
  ): AsyncGenerator<BatchGeneratedToken, void, undefined> {
    if (!Array.isArray(prompts) || !prompts.every((p) => typeof p === 'string')) {
      throw new InvalidArgumentError(
        `generateBatch: prompts: expected an array of strings, found ${describe(prompts)}`,
      );
    }
    const addSpecialTokens = options.addSpecialTokens ?? true;
    return this.generateBatchFromIds(
      prompts.map((prompt) => this.tokenizer.encode(prompt, { addSpecialTokens })),
      options,
    );
  }

  /** Streams a batch after prompts already encoded (special tokens included); see {@link generateBatch}. */
  async *generateBatchFromIds(
    promptIds: readonly (readonly number[])[],
    options: GenerateBatchOptions = {},
  ): AsyncGenerator<BatchGeneratedToken, void, undefined> {
    if (this.busy) {
      throw new UnsupportedError(
        'generator: a generation is already running on this model; wait for it to finish',
      );
    }
    this.busy = true;
    try {
      yield* this.runBatch(promptIds, options);
    } finally {
      this.busy = false;
    }
  }

  /** Generates the continuations of several prompts as one batch; one string per prompt, in order. */
  async generateBatchText(prompts: readonly string[], options: GenerateBatchOptions = {}): Promise<string[]> {
    const texts = prompts.map(() => '');
    for await (const piece of this.generateBatch(prompts, options)) texts[piece.sequence] += piece.text;
    return texts;
  }

  /** Generates and returns the continuation of `prompt` as one string. */
  async generateText(prompt: string, options: GenerateOptions = {}): Promise<string> {
    let text = '';
    for await (const piece of this.generate(prompt, options)) text += piece.text;
    return text;
  }

  /** A conversation that continues turn by turn, prefilling only each turn's new tokens. */
  createConversation(options: ConversationOptions = {}): Conversation {
    return new Conversation(this, options);
  }

  /** The context (prompt and generated tokens) the latest generation ended with. */
  get context(): readonly number[] {
    return this.lastContext;
  }

  private async *run(
    promptIds: readonly number[],
    options: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    const { model, tokenizer } = this;
    const capacity = model.maxSequenceLength;
    const policy = options.contextOverflow ?? 'error';
    if (policy !== 'error' && policy !== 'sliding') {
      throw new InvalidArgumentError(
        `generate: contextOverflow: expected "error" or "sliding", found ${policy}`,
      );
    }
    const sliding = policy === 'sliding';
    if (promptIds.length === 0) {
      throw new InvalidArgumentError('generate: the prompt encodes to no tokens and no BOS token was added');
    }
    const { bos, eos } = tokenizer.specialTokens;
    let context = [...promptIds];
    if (context.length >= capacity) {
      if (!sliding) {
        throw new ContextOverflowError(
          `generate: prompt of ${promptIds.length} tokens leaves no room in the context of ${capacity} tokens`,
        );
      }
      context = slideWindow(context, capacity, bos);
    }
    const room = capacity - context.length;
    const maxNewTokens = options.maxNewTokens ?? (sliding ? capacity : room);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new InvalidArgumentError(
        `generate: maxNewTokens: expected an integer >= 0, found ${maxNewTokens}`,
      );
    }
    if (!sliding && maxNewTokens > room) {
      throw new ContextOverflowError(
        `generate: prompt of ${promptIds.length} tokens plus maxNewTokens ${maxNewTokens} exceeds the context of ${capacity} tokens`,
      );
    }
    const stop = new StopFilter(options.stop);
    const sampler = new Sampler(model.config.vocabSize, options);
    sampler.observe(context);
    // Special tokens print nothing; a skipped BOS still drops the dummy-prefix space of the next piece.
    const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
    for (const id of context) decoder.push(id);

    const stats = initialStats(sampler.seed, promptIds.length);
    this.lastStats = stats;
    this.lastContext = context;
    const signal = options.signal;
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortedError('generate: aborted', { cause: signal.reason });
    };
    const reuse = options.reuseCache ?? true;

    checkAbort();
    const prefillStart = performance.now();
    let logits = await this.prefill(context, reuse, (n) => {
      stats.cachedTokens = n;
    });
    stats.prefillMs = performance.now() - prefillStart;
    const decodeStart = performance.now();
    for (let n = 0; n < maxNewTokens; n++) {
      checkAbort();
      const token = sampler.sample(logits);
      if (token === bos || token === eos) {
        stats.stopReason = 'end-of-text';
        break;
      }
      stats.generatedTokens++;
      sampler.observe([token]);
      context.push(token);
      const piece = stop.push(decoder.push(token));
      yield { token, text: piece };
      if (stop.stopped) {
        stats.stopReason = 'stop-string';
        break;
      }
      if (n + 1 === maxNewTokens) break;
      // The cache holds every context token but the one just sampled, which goes at its end.
      if (context.length - 1 >= capacity) {
        if (!sliding) {
          stats.stopReason = 'context-full';
          break;
        }
        context = slideWindow(context, capacity, bos);
        this.lastContext = context;
        stats.slides++;
        logits = await this.prefill(context, true, () => {});
      } else {
        logits = await this.step(token, context.length - 1);
      }
      stats.decodeMs = performance.now() - decodeStart;
    }
    if (!stop.stopped) {
      const rest = stop.push(decoder.flush()) + stop.flush();
      if (rest) yield { token: -1, text: rest };
    }
    if (stats.generatedTokens > 1 && stats.decodeMs > 0) {
      stats.decodeTokensPerSecond = ((stats.generatedTokens - 1) * 1000) / stats.decodeMs;
    }
  }

  private async *runBatch(
    prompts: readonly (readonly number[])[],
    options: GenerateBatchOptions,
  ): AsyncGenerator<BatchGeneratedToken, void, undefined> {
    const { model, tokenizer } = this;
    const where = 'generateBatch';
    const B = Array.isArray(prompts) ? prompts.length : 0;
    if (B === 0 || B > model.maxBatchSize) {
      throw new InvalidArgumentError(
        `${where}: expected 1 to ${model.maxBatchSize} prompts (the model's maxBatchSize), found ${Array.isArray(prompts) ? B : describe(prompts)}`,
      );
    }
    if (options.contextOverflow !== undefined && options.contextOverflow !== 'error') {
      throw new UnsupportedError(
        `${where}: contextOverflow: only "error" is supported for a batch, found ${JSON.stringify(options.contextOverflow)}`,
      );
    }
    const capacity = model.maxSequenceLength;
    let longest = 0;
    for (let b = 0; b < B; b++) {
      const ids = prompts[b];
      if (!Number.isInteger(ids?.length) || ids.length === 0) {
        throw new InvalidArgumentError(
          `${where}: prompts[${b}]: the prompt encodes to no tokens and no BOS token was added`,
        );
      }
      if (ids.length >= capacity) {
        throw new ContextOverflowError(
          `${where}: prompts[${b}] of ${ids.length} tokens leaves no room in the context of ${capacity} tokens`,
        );
      }
      longest = Math.max(longest, ids.length);
    }
    const room = capacity - longest;
    const maxNewTokens = options.maxNewTokens ?? room;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new InvalidArgumentError(
        `${where}: maxNewTokens: expected an integer >= 0, found ${maxNewTokens}`,
      );
    }
    if (maxNewTokens > room) {
      throw new ContextOverflowError(
        `${where}: the longest prompt, ${longest} tokens, plus maxNewTokens ${maxNewTokens} exceeds the context of ${capacity} tokens`,
      );
    }
    const { seeds } = options;
    if (seeds !== undefined && (!Array.isArray(seeds) || seeds.length !== B)) {
      throw new InvalidArgumentError(
        `${where}: seeds: expected one seed per prompt (${B}), found ${describe(seeds)}`,
      );
    }
    const clock = Date.now() % 2 ** 32;
    const { bos, eos } = tokenizer.specialTokens;
    const V = model.config.vocabSize;
    const sequences = prompts.map((ids, b) => {
      const sampler = new Sampler(V, { ...options, seed: seeds?.[b] ?? options.seed ?? clock + b });
      sampler.observe(ids);
      const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
      for (const id of ids) decoder.push(id);
      const stats = initialStats(sampler.seed, ids.length);
      return { sampler, decoder, stop: new StopFilter(options.stop), stats, done: false };
    });
    const batchStats: BatchGenerationStats = {
      batchSize: B,
      sequences: sequences.map((s) => s.stats),
      prefillMs: 0,
      decodeMs: 0,
      decodeTokensPerSecond: 0,
    };
    this.lastBatchStats = batchStats;
    const signal = options.signal;
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortedError(`${where}: aborted`, { cause: signal.reason });
    };
    const tokens = new Int32Array(B);

    checkAbort();
    const prefillStart = performance.now();
    const logits = await model.prefillBatch(prompts, new Float32Array(B * V));
    batchStats.prefillMs = performance.now() - prefillStart;
    const decodeStart = performance.now();
    try {
      for (let n = 0; n < maxNewTokens; n++) {
        checkAbort();
        for (let b = 0; b < B; b++) {
          const sequence = sequences[b];
          if (sequence.done) continue; // its row keeps running on its last token, unread
          const token = sequence.sampler.sample(logits.subarray(b * V, (b + 1) * V));
          tokens[b] = token;
          if (token === bos || token === eos) {
            sequence.stats.stopReason = 'end-of-text';
            sequence.done = true;
            continue;
          }
          sequence.stats.generatedTokens++;
          sequence.sampler.observe([token]);
          const piece = sequence.stop.push(sequence.decoder.push(token));
          yield { sequence: b, token, text: piece };
          if (sequence.stop.stopped) {
            sequence.stats.stopReason = 'stop-string';
            sequence.done = true;
          } else if (n + 1 === maxNewTokens) {
            sequence.done = true;
          }
        }
        if (sequences.every((s) => s.done)) break;
        checkAbort();
        await model.decodeBatch(tokens, logits);
        batchStats.decodeMs = performance.now() - decodeStart;
      }
      for (let b = 0; b < B; b++) {
        const { stop, decoder } = sequences[b];
        if (stop.stopped) continue;
        const rest = stop.push(decoder.flush()) + stop.flush();
        if (rest) yield { sequence: b, token: -1, text: rest };
      }
    } finally {
      // As for one sequence: each sequence's first token comes from the prefill.
      const perSecond = (count: number) =>
        count > 0 && batchStats.decodeMs > 0 ? (count * 1000) / batchStats.decodeMs : 0;
      let decoded = 0;
      for (const { stats } of sequences) {
        stats.prefillMs = batchStats.prefillMs;
        stats.decodeMs = batchStats.decodeMs;
        stats.decodeTokensPerSecond = perSecond(stats.generatedTokens - 1);
        decoded += Math.max(0, stats.generatedTokens - 1);
      }
      batchStats.decodeTokensPerSecond = perSecond(decoded);
    }
  }

  /**
   * Runs `ids` from position 0, reusing the cached keys and values of their longest prefix
   * shared with the cache (all but the last token at most, whose logits are needed).
   */
  private async prefill(
    ids: readonly number[],
    reuse: boolean,
    report: (cached: number) => void,
  ): Promise<Float32Array> {
    // All but the last token at most: its logits are needed.
    const common = reuse ? Math.min(this.model.cachedPrefixLength(ids), ids.length - 1) : 0;
    report(common);
    return this.model.forward(common === 0 ? ids : ids.slice(common), common, this.logits);
  }

  /** Feeds one token at `position` (the cache holds `[0, position)`). */
  private async step(token: number, position: number): Promise<Float32Array> {
    this.nextId[0] = token;
    return this.model.forward(this.nextId, position, this.logits);
  }
}

/** A short description of an unexpected value for an error message. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}

/**
 * The context after sliding: the BOS token when the context starts with it, then the most
 * recent tokens, half the capacity in all (so the next slide is half a context away).
 */
function slideWindow(context: readonly number[], capacity: number, bos: number | undefined): number[] {
  const keep = Math.max(1, Math.floor(capacity / 2));
  const head = bos !== undefined && context[0] === bos ? [bos] : [];
  return [...head, ...context.slice(context.length - (keep - head.length))];
}

/** Holds back text that may be the start of a stop string; cuts the text at the first stop string. */
class StopFilter {
  private readonly stops: readonly string[];
  private pending = '';
  stopped = false;

  constructor(stop: string | readonly string[] | undefined) {
    const list = stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0)) {
      throw new InvalidArgumentError(
        `generate: stop: expected non-empty strings, found ${JSON.stringify(stop)}`,
      );
    }
    this.stops = list;
  }

  /** Adds decoded text; returns the part that can be shown now. */
  push(text: string): string {
    if (this.stops.length === 0) return text;
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const shown = this.pending.slice(0, cut);
      this.pending = '';
      return shown;
    }
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const shown = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return shown;
  }

  /** Text still held back (generation ended without completing a stop string). */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}

/** Options of {@link TextGenerator.createConversation}. */
export interface ConversationOptions {
  /** A Jinja chat template (GGUF `tokenizer.chat_template`, Hugging Face `tokenizer_config.json`); needed by `chat`. */
  chatTemplate?: string;
}

/**
 * A conversation on one generator. `continue` appends raw text to the token stream; `chat`
 * appends a user message rendered through the chat template. Either way only the new tokens are
 * prefilled when the KV cache still holds the conversation (another generation on the same
 * model in between costs one re-prefill, never a wrong answer).
 */
export class Conversation {
  /** Messages so far (for `chat`). */
  readonly messages: ChatMessage[] = [];
  private ids: number[] = [];

  constructor(
    readonly generator: TextGenerator,
    private readonly options: ConversationOptions = {},
  ) {}

  /** The tokens of the conversation so far. */
  get tokens(): readonly number[] {
    return this.ids;
  }

  /** Streams the continuation of the conversation followed by `text`. */
  async *continue(
    text: string,
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    const first = this.ids.length === 0;
    const added = this.generator.tokenizer.encode(text, {
      addSpecialTokens: first && (options.addSpecialTokens ?? true),
    });
    yield* this.run([...this.ids, ...added], options);
  }

  /**
   * Adds a user message, renders the whole conversation with the chat template (with the
   * generation prompt) and streams the assistant's reply, which joins the messages.
   */
  async *chat(
    content: string,
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    const template = this.options.chatTemplate;
    if (template === undefined) {
      throw new UnsupportedError(
        'conversation.chat: the model has no chat template; pass chatTemplate or use continue()',
      );
    }
    const { tokenizer } = this.generator;
    const token = (id: number | undefined) => (id === undefined ? '' : (tokenizer.idToToken(id) ?? ''));
    const messages = [...this.messages, { role: 'user', content }];
    const prompt = renderChatTemplate(template, messages, {
      bosToken: token(tokenizer.specialTokens.bos),
      eosToken: token(tokenizer.specialTokens.eos),
      addGenerationPrompt: true,
    });
    const ids = tokenizer.encode(prompt, { addSpecialTokens: false, parseSpecialTokens: true });
    let reply = '';
    for await (const piece of this.run(ids, options)) {
      reply += piece.text;
      yield piece;
    }
    this.messages.push({ role: 'user', content }, { role: 'assistant', content: reply });
  }

  /** Runs to completion and returns the text (`continue`). */
  async continueText(text: string, options: GenerateOptions = {}): Promise<string> {
    let out = '';
    for await (const piece of this.continue(text, options)) out += piece.text;
    return out;
  }

  /** Runs to completion and returns the reply (`chat`). */
  async chatText(content: string, options: GenerateOptions = {}): Promise<string> {
    let out = '';
    for await (const piece of this.chat(content, options)) out += piece.text;
    return out;
  }

  private async *run(
    ids: number[],
    options: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    try {
      yield* this.generator.generateFromIds(ids, { ...options, reuseCache: options.reuseCache ?? true });
    } finally {
      this.ids = [...this.generator.context];
    }
  }
}

/** Statistics of a generation before its first token. */
function initialStats(seed: number, promptTokens: number): GenerationStats {
  return {
    seed,
    promptTokens,
    cachedTokens: 0,
    generatedTokens: 0,
    prefillMs: 0,
    decodeMs: 0,
    decodeTokensPerSecond: 0,
    slides: 0,
    stopReason: 'max-tokens',
  };
}
