/**
 * Token sampling, following llama2.c `run.c` step for step so that seeded runs reproduce it:
 * temperature 0 → argmax; otherwise logits / temperature → (top-k) → softmax → top-p ("nucleus")
 * or plain multinomial, drawing one float from xorshift64* per token. All arithmetic that run.c
 * does in float32 is rounded to float32 here, and all buffers are allocated once.
 *
 * Controls run.c lacks slot in without changing its path when unset: repetition, presence and
 * frequency penalties adjust the logits of tokens already seen (before temperature, and before
 * the argmax of greedy decoding); min-p drops, after the softmax, every token whose probability is
 * below `minP` times the largest, and renormalises.
 */
import { InvalidArgumentError } from '@rotor/core';

/** Sampling controls. */
export interface SamplingOptions {
  /** Softmax temperature; 0 picks the most likely token (greedy). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 disables. Default 0. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability exceeds p; 0 or 1 disables. Default 0.9 (as run.c). */
  topP?: number;
  /** Keep only tokens with probability at least `minP` × the top probability; 0 disables. Default 0. */
  minP?: number;
  /**
   * Divides positive logits (multiplies negative ones) of every token already in the context by
   * this factor (CTRL / Hugging Face); 1 disables. Default 1.
   */
  repetitionPenalty?: number;
  /** Subtracted from the logit of every token already generated or in the prompt (OpenAI). Default 0. */
  presencePenalty?: number;
  /** Subtracted once per earlier occurrence of a token from its logit (OpenAI). Default 0. */
  frequencyPenalty?: number;
  /**
   * Seed of the random generator (an integer in [0, 2^53)). The same seed gives the same tokens.
   * Default: derived from the clock. run.c's seeds are reproduced exactly for seeds ≥ 1.
   */
  seed?: number;
}

/** Defaults, as llama2.c `run.c`. */
export const DEFAULT_SAMPLING: Required<Omit<SamplingOptions, 'seed'>> = {
  temperature: 1,
  topK: 0,
  topP: 0.9,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
};

/** Replaces a zero seed, which would keep xorshift at zero forever. */
const ZERO_SEED_REPLACEMENT = 0x2545f491;

/**
 * xorshift64* as in llama2.c (`random_u32`, `random_f32`), on two uint32 halves so no BigInt is
 * allocated per draw.
 */
export class XorShiftRandom {
  private hi: number;
  private lo: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new InvalidArgumentError(`random seed: expected an integer in [0, 2^53), found ${seed}`);
    }
    const value = seed === 0 ? ZERO_SEED_REPLACEMENT : seed;
    this.hi = Math.floor(value / 2 ** 32) >>> 0;
    this.lo = value >>> 0;
  }

  /** `random_u32`: the state advanced by xorshift, then the high 32 bits of state × 0x2545F4914F6CDD1D. */
  nextUint32(): number {
    let hi = this.hi;
    let lo = this.lo;
    // x ^= x >> 12
    lo = (lo ^ ((lo >>> 12) | (hi << 20))) >>> 0;
    hi = (hi ^ (hi >>> 12)) >>> 0;
    // x ^= x << 25
    hi = (hi ^ ((hi << 25) | (lo >>> 7))) >>> 0;
    lo = (lo ^ (lo << 25)) >>> 0;
    // x ^= x >> 27
    lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
    hi = (hi ^ (hi >>> 27)) >>> 0;
    this.hi = hi;
    this.lo = lo;
    // bits 32..63 of (hi·2^32 + lo) × (MH·2^32 + ML) mod 2^64
    const MH = 0x2545f491;
    const ML = 0x4f6cdd1d;
    return (mulHigh32(lo, ML) + Math.imul(hi, ML) + Math.imul(lo, MH)) >>> 0;
  }

  /** `random_f32`: a float32 in [0, 1). */
  nextFloat32(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }
}

/** High 32 bits of the 64-bit product of two uint32 values. */
function mulHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const low = a0 * b0;
  const mid1 = a1 * b0 + (low >>> 16);
  const mid2 = a0 * b1 + (mid1 & 0xffff);
  return (a1 * b1 + Math.floor(mid1 / 65536) + Math.floor(mid2 / 65536)) >>> 0;
}

/** Checks sampling options, naming the bad field. */
export function validateSampling(options: SamplingOptions): void {
  const { temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed } =
    options;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) {
    throw new InvalidArgumentError(`temperature: expected a finite number >= 0, found ${temperature}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) {
    throw new InvalidArgumentError(`topK: expected an integer >= 0, found ${topK}`);
  }
  if (topP !== undefined && !(topP >= 0 && topP <= 1)) {
    throw new InvalidArgumentError(`topP: expected a number in [0, 1], found ${topP}`);
  }
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) {
    throw new InvalidArgumentError(`minP: expected a number in [0, 1], found ${minP}`);
  }
  if (repetitionPenalty !== undefined && !(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0)) {
    throw new InvalidArgumentError(
      `repetitionPenalty: expected a finite number > 0, found ${repetitionPenalty}`,
    );
  }
  for (const [name, value] of [
    ['presencePenalty', presencePenalty],
    ['frequencyPenalty', frequencyPenalty],
  ] as const) {
    if (value !== undefined && !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${name}: expected a finite number, found ${value}`);
    }
  }
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) {
    throw new InvalidArgumentError(`seed: expected an integer in [0, 2^53), found ${seed}`);
  }
}

/**
 * Picks next tokens from logits. Owns its scratch buffers; `sample` allocates nothing. The
 * penalties read the token counts fed through {@link Sampler.observe}.
 */
export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly seed: number;
  private readonly random: XorShiftRandom;
  private readonly probabilities: Float32Array;
  private readonly order: Int32Array;
  /** Occurrences of each token in the context so far (only kept when a penalty is on). */
  private readonly counts?: Uint32Array;
  /** Ids with a non-zero count, so penalties touch only those. */
  private readonly seen: number[] = [];

  constructor(vocabSize: number, options: SamplingOptions = {}) {
    validateSampling(options);
    this.temperature = options.temperature ?? DEFAULT_SAMPLING.temperature;
    this.topK = options.topK ?? DEFAULT_SAMPLING.topK;
    this.topP = options.topP ?? DEFAULT_SAMPLING.topP;
    this.minP = options.minP ?? DEFAULT_SAMPLING.minP;
    this.repetitionPenalty = options.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty;
    this.presencePenalty = options.presencePenalty ?? DEFAULT_SAMPLING.presencePenalty;
    this.frequencyPenalty = options.frequencyPenalty ?? DEFAULT_SAMPLING.frequencyPenalty;
    this.seed = options.seed ?? Date.now() % 2 ** 32;
    this.random = new XorShiftRandom(this.seed);
    this.probabilities = new Float32Array(vocabSize);
    this.order = new Int32Array(vocabSize);
    if (this.repetitionPenalty !== 1 || this.presencePenalty !== 0 || this.frequencyPenalty !== 0) {
      this.counts = new Uint32Array(vocabSize);
    }
  }

  /** Records tokens entering the context (prompt and generated), for the penalties. */
  observe(ids: ArrayLike<number>): void {
    const counts = this.counts;
    if (!counts) return;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= counts.length) continue;
      if (counts[id]++ === 0) this.seen.push(id);
    }
  }

  /** Chooses the next token id from `logits` (`[V]`, read only). */
  sample(logits: Float32Array): number {
    const p = this.probabilities;
    const n = p.length;
    let scores: Float32Array = logits;
    if (this.counts && this.seen.length > 0) {
      p.set(logits);
      this.penalize(p);
      scores = p;
    }
    if (this.temperature === 0) return argmax(scores);
    const temperature = Math.fround(this.temperature);
    for (let i = 0; i < n; i++) p[i] = scores[i] / temperature;
    if (this.topK > 0 && this.topK < n) this.keepTopK(p, this.topK);
    softmaxFloat32(p);
    if (this.minP > 0) keepMinP(p, Math.fround(this.minP));
    const coin = this.random.nextFloat32();
    if (this.topP <= 0 || this.topP >= 1) return sampleMultinomial(p, coin);
    return this.sampleTopP(p, Math.fround(this.topP), coin);
  }

  /** Applies the repetition, presence and frequency penalties to the seen tokens' logits. */
  private penalize(values: Float32Array): void {
    const counts = this.counts!;
    for (const id of this.seen) {
      let value = values[id];
      if (this.repetitionPenalty !== 1) {
        value = value > 0 ? value / this.repetitionPenalty : value * this.repetitionPenalty;
      }
      values[id] = value - this.presencePenalty - this.frequencyPenalty * counts[id];
    }
  }

  /** Sets every value outside the k largest to -Infinity (ties broken towards lower ids). */
  private keepTopK(values: Float32Array, k: number): void {
    const order = this.order;
    for (let i = 0; i < values.length; i++) order[i] = i;
    order.sort((a, b) => values[b] - values[a] || a - b);
    for (let r = k; r < values.length; r++) values[order[r]] = Number.NEGATIVE_INFINITY;
  }

  /** run.c `sample_topp`: candidates above a cutoff, sorted by probability, truncated where the mass exceeds p. */
  private sampleTopP(p: Float32Array, topP: number, coin: number): number {
    const n = p.length;
    const cutoff = Math.fround(Math.fround(1 - topP) / (n - 1));
    const order = this.order;
    let count = 0;
    for (let i = 0; i < n; i++) if (p[i] >= cutoff) order[count++] = i;
    const candidates = order.subarray(0, count);
    candidates.sort((a, b) => p[b] - p[a] || a - b);
    let cumulative = 0;
    let last = count - 1;
    for (let i = 0; i < count; i++) {
      cumulative = Math.fround(cumulative + p[candidates[i]]);
      if (cumulative > topP) {
        last = i;
        break;
      }
    }
    const r = Math.fround(coin * cumulative);
    let cdf = 0;
    for (let i = 0; i <= last; i++) {
      cdf = Math.fround(cdf + p[candidates[i]]);
      if (r < cdf) return candidates[i];
    }
    return candidates[last];
  }
}

/** Index of the largest value; the first one on ties; NaN never wins. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bestValue) {
      bestValue = values[i];
      best = i;
    }
  }
  return best;
}

/** In-place softmax with run.c's float32 rounding. */
function softmaxFloat32(x: Float32Array): void {
  let max = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.exp(Math.fround(x[i] - max));
    sum = Math.fround(sum + x[i]);
  }
  for (let i = 0; i < x.length; i++) x[i] /= sum;
}

/** Zeroes probabilities below `minP` × the largest and renormalises (float32, as the rest). */
function keepMinP(p: Float32Array, minP: number): void {
  let max = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > max) max = p[i];
  const threshold = Math.fround(minP * max);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] < threshold) p[i] = 0;
    else sum = Math.fround(sum + p[i]);
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
}

/** run.c `sample_mult`: the first index where the running float32 CDF exceeds the coin. */
function sampleMultinomial(p: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < p.length; i++) {
    cdf = Math.fround(cdf + p[i]);
    if (coin < cdf) return i;
  }
  return p.length - 1;
}
