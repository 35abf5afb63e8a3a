/**
 * Perplexity of a model on a text with Hugging Face's sliding window: windows of `contextLength`
 * tokens start every `stride` tokens, each on a fresh KV cache at position 0, and each scores only
 * the tokens the previous window did not. A token is scored from the logits of the position before
 * it in its window, so the first token of every window goes unscored (with `stride ===
 * contextLength` that loses one token per window, exactly as Hugging Face's recipe does).
 */
import {
  AbortedError,
  ContextOverflowError,
  InvalidArgumentError,
  mismatch,
  type Tokenizer,
} from '@rotor/core';
import type { DecoderModel } from './model.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Tokens per window (at most the model's KV-cache capacity). Default: the model's capacity. */
  contextLength?: number;
  /** Tokens between window starts, in `[1, contextLength]`. Default: half the context length. */
  stride?: number;
  /** Cancels the evaluation; it then rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** Called after each window with the tokens scored so far and the total to score. */
  onProgress?(progress: { scoredTokens: number; totalTokens: number }): void;
}

/** What {@link evaluate} measured. */
export interface EvaluationResult {
  /** Tokens of the text, the BOS token included when the tokenizer has one. */
  tokens: number;
  /** Tokens whose log-likelihood was counted. */
  scoredTokens: number;
  /** Mean negative log-likelihood of the scored tokens, in nats. */
  meanNegativeLogLikelihood: number;
  /** `exp(meanNegativeLogLikelihood)`. */
  perplexity: number;
}

/**
 * Measures the perplexity of `text` under a model (a `LanguageModel` or any `{ model, tokenizer }`)
 * with a sliding window. The model's KV cache is overwritten.
 */
export async function evaluate(
  languageModel: { readonly model: DecoderModel; readonly tokenizer: Tokenizer },
  text: string,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const { model, tokenizer } = languageModel;
  const capacity = model.maxSequenceLength;
  const contextLength = options.contextLength ?? capacity;
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new InvalidArgumentError(mismatch('contextLength', 'evaluate', 'an integer >= 2', contextLength));
  }
  if (contextLength > capacity) {
    throw new ContextOverflowError(
      mismatch(
        'contextLength',
        'evaluate',
        `at most the model's context of ${capacity} tokens`,
        contextLength,
      ),
    );
  }
  const stride = options.stride ?? Math.max(1, Math.floor(contextLength / 2));
  if (!Number.isInteger(stride) || stride < 1 || stride > contextLength) {
    throw new InvalidArgumentError(
      mismatch('stride', 'evaluate', `an integer in [1, ${contextLength}] (the context length)`, stride),
    );
  }
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new InvalidArgumentError(
      mismatch(
        'tokenizer vocabulary size',
        'evaluate',
        `the model's ${model.config.vocabSize}`,
        tokenizer.vocabSize,
      ),
    );
  }
  const ids = tokenizer.encode(text, { addSpecialTokens: true });
  if (ids.length < 2) {
    throw new InvalidArgumentError(
      mismatch('text', 'evaluate', 'at least 2 tokens (one to predict from, one to score)', ids.length),
    );
  }
  const signal = options.signal;
  const checkAborted = () => {
    if (signal?.aborted) throw new AbortedError('evaluate: aborted', { cause: signal.reason });
  };

  const logits = new Float32Array(model.config.vocabSize);
  const totalTokens = countScored(ids.length, contextLength, stride);
  let negativeLogLikelihood = 0;
  let scoredTokens = 0;
  let previousEnd = 0;
  for (let begin = 0; previousEnd < ids.length; begin += stride) {
    checkAborted();
    const end = Math.min(begin + contextLength, ids.length);
    const firstTarget = Math.max(previousEnd, begin + 1);
    previousEnd = end;
    if (firstTarget >= end) continue;
    // The context before the first target is prefilled in one pass; its last logits predict it.
    await model.forward(ids.slice(begin, firstTarget), 0, logits);
    for (let target = firstTarget; target < end; target++) {
      negativeLogLikelihood -= logSoftmaxAt(logits, ids[target]);
      scoredTokens++;
      if (target + 1 < end) {
        if ((target & 63) === 0) checkAborted();
        await model.forward([ids[target]], target - begin, logits);
      }
    }
    options.onProgress?.({ scoredTokens, totalTokens });
  }
  const meanNegativeLogLikelihood = negativeLogLikelihood / scoredTokens;
  return {
    tokens: ids.length,
    scoredTokens,
    meanNegativeLogLikelihood,
    perplexity: Math.exp(meanNegativeLogLikelihood),
  };
}

/** `log softmax(logits)[index]`, in float64 with the maximum subtracted so no term overflows. */
function logSoftmaxAt(logits: ArrayLike<number>, index: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[index] - max - Math.log(sum);
}

/** How many tokens {@link evaluate} scores, for progress reports. */
function countScored(length: number, contextLength: number, stride: number): number {
  let count = 0;
  let previousEnd = 0;
  for (let begin = 0; previousEnd < length; begin += stride) {
    const end = Math.min(begin + contextLength, length);
    count += end - Math.max(previousEnd, begin + 1);
    previousEnd = end;
  }
  return count;
}
