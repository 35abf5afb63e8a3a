/**
 * Batched forward and generation: a left-padded batch gives each sequence what it would get alone.
 * Random-weight models cover every positional-encoding family (rotary, score bias, additive
 * tables); stories260K checks the llama2.c texts and the generation API (stops, seeds, abort).
 */
import { readFile } from 'node:fs/promises';
import { createReferenceBackend, createWasmBackend } from '@rotor/attention-core';
import type { Backend, ModelConfig, PositionalEncodingSpec } from '@rotor/core';
import { isRotorError } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderModel, MAX_BATCH_SIZE } from './model.js';
import { loadLanguageModelFile } from './node/index.js';
import { gpt1Config, gpt2Config, llamaConfig, randomWeights } from './random-weights.js';
import { argmax } from './sampling.js';
import type { ModelWeights } from './weights.js';

const shape = {
  modelDim: 32,
  hiddenDim: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  vocabSize: 40,
  maxSequenceLength: 32,
};

/** A Llama-shaped model with another positional encoding (T5 gets a random bias table). */
function withEncoding(config: ModelConfig, positionalEncoding: PositionalEncodingSpec): ModelConfig {
  return { ...config, positionalEncoding };
}

const FAMILIES: [string, ModelConfig][] = [
  ['rope (interleaved, GQA)', llamaConfig(shape)],
  ['rope (half-split)', withEncoding(llamaConfig(shape), { type: 'rope', layout: 'half-split' })],
  ['alibi', withEncoding(llamaConfig(shape), { type: 'alibi' })],
  ['t5-relative', withEncoding(llamaConfig(shape), { type: 't5-relative', numBuckets: 8, maxDistance: 12 })],
  ['sinusoidal (post-norm GPT-1)', gpt1Config({ ...shape, numKvHeads: 4 })],
  ['learned (GPT-2)', gpt2Config({ ...shape, numKvHeads: 4 })],
];

const t5Table = Float32Array.from({ length: 8 * shape.numHeads }, (_, i) => Math.sin(i * 1.7));

async function build(weights: ModelWeights, backend: Backend, options: { maxPrefillRows?: number } = {}) {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
    weight: (name) => (name === 'relative_attention_bias' ? t5Table : weights.tensors.get(name)?.data),
  });
  return DecoderModel.create(weights, { backend, positionalEncoding, ...options });
}

/** Greedy tokens of one prompt alone, one decode step at a time. */
async function greedyAlone(model: DecoderModel, prompt: number[], steps: number): Promise<number[]> {
  const tokens: number[] = [];
  let logits = await model.forward(prompt, 0);
  for (let n = 0; n < steps; n++) {
    tokens.push(argmax(logits));
    if (n + 1 < steps) logits = await model.forward([tokens[n]], prompt.length + n);
  }
  return tokens;
}

/** Greedy tokens of every prompt, run as one batch. */
async function greedyBatch(model: DecoderModel, prompts: number[][], steps: number): Promise<number[][]> {
  const V = model.config.vocabSize;
  const B = prompts.length;
  const tokens = prompts.map(() => [] as number[]);
  const logits = new Float32Array(B * V);
  const next = new Int32Array(B);
  await model.prefillBatch(prompts, logits);
  for (let n = 0; n < steps; n++) {
    for (let b = 0; b < B; b++) {
      next[b] = argmax(logits.subarray(b * V, (b + 1) * V));
      tokens[b].push(next[b]);
    }
    if (n + 1 < steps) await model.decodeBatch(next, logits);
  }
  return tokens;
}

const PROMPTS = [[1, 5, 9, 13, 2, 7, 30], [3], [1, 22, 8], [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4], [17, 2]];

const backends: [string, Backend][] = [
  ['reference', createReferenceBackend()],
  ['wasm', await createWasmBackend({ threads: 2 })],
];
afterAll(() => {
  for (const [, backend] of backends) backend.destroy();
});

describe.each(backends)('batched forward on random weights (%s backend)', (_, backend) => {
  it.each(FAMILIES)('%s: batched greedy tokens and logits equal one prompt at a time', async (_, config) => {
    const weights = randomWeights(config, 11);
    // Few prefill rows: the batch's prefill runs in chunks of slots, some all padding for short prompts.
    const model = await build(weights, backend, { maxPrefillRows: 12 });
    const steps = 12;
    const alone = [];
    for (const prompt of PROMPTS) alone.push(await greedyAlone(model, prompt, steps));
    expect(await greedyBatch(model, PROMPTS, steps)).toEqual(alone);

    // The first logits agree closely too, not only their argmax.
    const V = config.vocabSize;
    const batched = await model.prefillBatch(PROMPTS);
    for (let b = 0; b < PROMPTS.length; b++) {
      const single = await model.forward(PROMPTS[b], 0);
      const row = batched.subarray(b * V, (b + 1) * V);
      for (let i = 0; i < V; i++) expect(Math.abs(row[i] - single[i])).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('a batch of one equals the single-sequence path, and the single path works after a batch', async () => {
    const model = await build(randomWeights(llamaConfig(shape), 3), backend);
    const prompt = [1, 6, 11, 16];
    const alone = await greedyAlone(model, prompt, 10);
    expect(await greedyBatch(model, [prompt], 10)).toEqual([alone]);
    // The batch overwrote the cache: the single path starts afresh and still agrees.
    expect(model.cachedPrefixLength(prompt)).toBe(0);
    expect(await greedyAlone(model, prompt, 10)).toEqual(alone);
    // A larger batch grows the cache; the single path keeps working on sequence 0.
    await greedyBatch(model, [prompt, prompt, prompt, [2]], 3);
    expect(await greedyAlone(model, prompt, 10)).toEqual(alone);
    model.dispose();
  });
});

describe('batched forward: any batch of prompts', () => {
  it('gives each prompt the greedy tokens it gets alone (property, reference backend)', async () => {
    const config = withEncoding(llamaConfig({ ...shape, numLayers: 1 }), { type: 'alibi' });
    const model = await build(randomWeights(config, 21), createReferenceBackend(), { maxPrefillRows: 8 });
    const prompt = fc.array(fc.integer({ min: 0, max: shape.vocabSize - 1 }), { minLength: 1, maxLength: 9 });
    await fc.assert(
      fc.asyncProperty(fc.array(prompt, { minLength: 1, maxLength: 6 }), async (prompts) => {
        const alone = [];
        for (const ids of prompts) alone.push(await greedyAlone(model, ids, 4));
        expect(await greedyBatch(model, prompts, 4)).toEqual(alone);
      }),
      { numRuns: 25 },
    );
    model.dispose();
  }, 60_000);
});

describe('batched forward: bad input', () => {
  const weights = randomWeights(llamaConfig({ ...shape, maxSequenceLength: 16 }), 5);

  it('rejects bad batches and steps with typed errors naming the problem', async () => {
    const model = await build(weights, createReferenceBackend());
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => model.prefillBatch([]), 'INVALID_ARGUMENT', /expected an array of 1 to 16 prompts.*found 0/],
      [
        () => model.prefillBatch(Array.from({ length: 17 }, () => [1])),
        'INVALID_ARGUMENT',
        /1 to 16 prompts \(maxBatchSize\), found 17/,
      ],
      [
        () => model.prefillBatch([[1], []]),
        'INVALID_ARGUMENT',
        /prompts\[1\]: expected at least one token id/,
      ],
      [
        () => model.prefillBatch([[1], Array.from({ length: 17 }, () => 1)]),
        'CONTEXT_OVERFLOW',
        /prompts\[1\]: 17 tokens exceed the context of 16 tokens/,
      ],
      [
        () => model.prefillBatch([[1, 40]]),
        'INVALID_ARGUMENT',
        /prompts\[0\]\[1\]: expected an integer in \[0, 40\), found 40/,
      ],
      [() => model.prefillBatch([[1], [-1]]), 'INVALID_ARGUMENT', /prompts\[1\]\[0\].*found -1/],
      [() => model.prefillBatch([[1.5]]), 'INVALID_ARGUMENT', /found 1.5/],
      [
        () => model.prefillBatch([[1]], new Float32Array(3)),
        'INVALID_ARGUMENT',
        /logits: expected at least 40/,
      ],
      [() => model.decodeBatch([1]), 'INVALID_ARGUMENT', /no batch to continue; call prefillBatch first/],
    ];
    for (const [run, code, pattern] of cases) {
      const error = await run().catch((e: unknown) => e);
      expect(isRotorError(error, code as never), String(error)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    }

    await model.prefillBatch([[1, 2], [3]]);
    await expect(model.decodeBatch([1])).rejects.toThrow(/expected one token id per sequence \(2\), found 1/);
    await expect(model.decodeBatch([1, 99])).rejects.toThrow(/ids\[1\]: expected an integer in \[0, 40\)/);
    for (let slot = 2; slot < 16; slot++) await model.decodeBatch([1, 2]);
    const full = await model.decodeBatch([1, 2]).catch((e: unknown) => e);
    expect(isRotorError(full, 'CONTEXT_OVERFLOW')).toBe(true);
    // A single-sequence forward ends the batch.
    await model.prefillBatch([[1, 2], [3]]);
    await model.forward([1], 0);
    await expect(model.decodeBatch([1, 2])).rejects.toThrow(/no batch to continue/);
    model.dispose();
    await expect(model.prefillBatch([[1]])).rejects.toThrow(/after dispose/);
  });

  it('documents its batch limit and rejects encodings whose angles depend on the length', async () => {
    const { config } = weights;
    const encode = (spec: PositionalEncodingSpec) =>
      createDefaultPositionalEncodingRegistry().create(spec, {
        modelDim: config.modelDim,
        numHeads: config.numHeads,
        headDim: config.headDim,
        maxPositions: config.maxSequenceLength,
      });
    const backend = createReferenceBackend();
    for (const maxBatchSize of [0, MAX_BATCH_SIZE + 1, 2.5]) {
      const error = await DecoderModel.create(weights, {
        backend,
        positionalEncoding: encode(config.positionalEncoding),
        maxBatchSize,
      }).catch((e: unknown) => e);
      expect(isRotorError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(/maxBatchSize: expected an integer in \[1, 256\]/);
    }
    const dynamic = await DecoderModel.create(weights, {
      backend,
      positionalEncoding: encode({
        type: 'rope',
        scaling: { type: 'dynamic-ntk', factor: 2, originalMaxPositions: 8 },
      }),
    });
    const error = await dynamic.prefillBatch([[1], [2, 3]]).catch((e: unknown) => e);
    expect(isRotorError(error, 'UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toMatch(/depend on the sequence length/);
  });

  it('allocates no tensors during a batched decode step', async () => {
    const backend = createReferenceBackend();
    const model = await build(weights, backend);
    await model.prefillBatch([[1, 2, 3], [4], [5, 6]]);
    const counts = { allocate: 0, upload: 0, view: 0 };
    for (const method of Object.keys(counts) as (keyof typeof counts)[]) {
      const original = backend[method].bind(backend) as (...args: unknown[]) => unknown;
      (backend as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        counts[method]++;
        return original(...args);
      };
    }
    const logits = new Float32Array(3 * 40);
    const ids = new Int32Array([7, 8, 9]);
    for (let step = 0; step < 5; step++) await model.decodeBatch(ids, logits);
    expect(counts).toEqual({ allocate: 0, upload: 0, view: 0 });
  });
});

/** llama2.c's reference outputs: prompt → file with its exact stdout. */
const REFERENCE_PROMPTS: [string, string][] = [
  ['Once upon a time', 'expected_once_upon_a_time_n200.txt'],
  ['', 'expected_noprompt_n200.txt'],
  ['Tom had a red ball', 'expected_tom_had_a_red_ball.txt'],
  ['One day, a little dog', 'expected_one_day_a_little_dog.txt'],
];

const load = (backend: string) =>
  loadLanguageModelFile(fixturePath('stories260K/stories260K.bin'), {
    tokenizerPath: fixturePath('stories260K/tok512.bin'),
    backend,
  });

describeWithFixtures(
  'batched generation on stories260K',
  [
    'stories260K/stories260K.bin',
    'stories260K/tok512.bin',
    ...REFERENCE_PROMPTS.map(([, f]) => `stories260K/reference/${f}`),
  ],
  () => {
    it.each(['reference', 'wasm'])(
      'the reference prompts in one batch reproduce each llama2.c text (%s backend)',
      async (backend) => {
        const { generator, dispose } = await load(backend);
        const prompts = REFERENCE_PROMPTS.map(([prompt]) => prompt);
        const texts = await generator.generateBatchText(prompts, { temperature: 0, maxNewTokens: 200 });
        expect(texts).toHaveLength(prompts.length);
        for (let b = 0; b < prompts.length; b++) {
          const file = fixturePath(`stories260K/reference/${REFERENCE_PROMPTS[b][1]}`);
          const expected = (await readFile(file, 'utf8')).replace(/\n$/, '');
          const text = prompts[b] + texts[b];
          expect(text.startsWith(expected), `prompt ${b}, got:\n${text}`).toBe(true);
        }
        const stats = generator.lastBatchStats!;
        expect(stats.batchSize).toBe(4);
        expect(stats.sequences.map((s) => s.promptTokens)).toEqual(
          prompts.map((p) => generator.tokenizer.encode(p, { addSpecialTokens: true }).length),
        );
        expect(stats.decodeTokensPerSecond).toBeGreaterThan(0);
        dispose();
      },
      60_000,
    );

    it('sequences of mixed lengths stop independently, each as it would alone', async () => {
      const { generator, dispose } = await load('reference');
      const prompts = ['Lily', 'Once upon a time, there was a big dog named Max', 'Tom', 'The sun'];
      const options = { temperature: 0, maxNewTokens: 40, stop: ['.'] };
      const alone = [];
      const reasons = [];
      for (const prompt of prompts) {
        alone.push(await generator.generateText(prompt, options));
        reasons.push(generator.lastStats!.stopReason);
      }
      expect(reasons).toContain('stop-string');
      const streamed = prompts.map(() => '');
      let order: number[] = [];
      for await (const piece of generator.generateBatch(prompts, options)) {
        streamed[piece.sequence] += piece.text;
        order.push(piece.sequence);
      }
      expect(streamed).toEqual(alone);
      const stats = generator.lastBatchStats!;
      expect(stats.sequences.map((s) => s.stopReason)).toEqual(reasons);
      // Interleaved by step: a stopped sequence drops out while the others go on.
      order = order.filter((s, i) => i === 0 || s !== order[i - 1]);
      expect(new Set(order.slice(0, prompts.length)).size).toBe(prompts.length);
      // Stopping at the end of text (the sampled BOS) and by token count.
      const long = ['Lily', 'Tom', 'Sue was happy'];
      const greedy = { temperature: 0, maxNewTokens: 240 };
      const texts = await generator.generateBatchText(long, greedy);
      expect(generator.lastBatchStats!.sequences.map((s) => s.stopReason)).toEqual([
        'end-of-text',
        'max-tokens',
        'end-of-text',
      ]);
      for (let b = 0; b < long.length; b++)
        expect(texts[b]).toBe(await generator.generateText(long[b], greedy));
      dispose();
    }, 60_000);

    it('a batch of one is the single generation', async () => {
      const { generator, dispose } = await load('reference');
      const options = { temperature: 0, maxNewTokens: 50 };
      const alone = await generator.generateText('One day, a little dog', options);
      expect(await generator.generateBatchText(['One day, a little dog'], options)).toEqual([alone]);
      dispose();
    });

    it('samples each sequence with its own seed, as it would alone', async () => {
      const { generator, dispose } = await load('reference');
      const prompts = ['Lily', 'Lily', 'Tom had a red ball'];
      const options = { temperature: 0.9, topP: 0.9, topK: 40, repetitionPenalty: 1.1, maxNewTokens: 30 };
      const seeds = [7, 8, 9];
      const alone = [];
      for (let b = 0; b < prompts.length; b++)
        alone.push(await generator.generateText(prompts[b], { ...options, seed: seeds[b] }));
      expect(await generator.generateBatchText(prompts, { ...options, seeds })).toEqual(alone);
      expect(generator.lastBatchStats!.sequences.map((s) => s.seed)).toEqual(seeds);
      // One shared seed: every sequence samples as it would alone with it.
      const shared = await generator.generateBatchText(prompts, { ...options, seed: 7 });
      expect(shared[0]).toBe(alone[0]);
      expect(shared[1]).toBe(alone[0]);
      // Without seeds, the sequences get distinct ones (reported, so a run can be repeated).
      await generator.generateBatchText(prompts, { ...options, maxNewTokens: 2 });
      expect(new Set(generator.lastBatchStats!.sequences.map((s) => s.seed)).size).toBe(3);
      dispose();
    }, 60_000);

    it('aborts mid-batch with a typed error and stays usable', async () => {
      const { generator, dispose } = await load('reference');
      const controller = new AbortController();
      let count = 0;
      const error = await (async () => {
        for await (const _ of generator.generateBatch(['Once upon a time', 'Tom'], {
          temperature: 0,
          signal: controller.signal,
        })) {
          if (++count === 5) controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(isRotorError(error, 'ABORTED')).toBe(true);
      expect(count).toBeLessThanOrEqual(6);
      const texts = await generator.generateBatchText(['Once upon a time', 'Tom'], {
        temperature: 0,
        maxNewTokens: 5,
      });
      expect(texts.every((t) => t.length > 0)).toBe(true);
      dispose();
    });

    it('rejects bad batches with typed errors', async () => {
      const { generator, dispose } = await load('reference');
      const failures: [() => Promise<unknown>, string, RegExp][] = [
        [() => generator.generateBatchText([]), 'INVALID_ARGUMENT', /expected 1 to 16 prompts/],
        [
          () => generator.generateBatchText(Array.from({ length: 17 }, () => 'a')),
          'INVALID_ARGUMENT',
          /found 17/,
        ],
        [
          () => generator.generateBatchText(['a', 3 as unknown as string]),
          'INVALID_ARGUMENT',
          /prompts: expected an array of strings/,
        ],
        [
          () => generator.generateBatchText(['', 'a'], { addSpecialTokens: false }),
          'INVALID_ARGUMENT',
          /prompts\[0\]: the prompt encodes to no tokens/,
        ],
        [
          () => generator.generateBatchText(['a', 'x'.repeat(2000)]),
          'CONTEXT_OVERFLOW',
          /prompts\[1\] of \d+ tokens leaves no room/,
        ],
        [
          () => generator.generateBatchText(['a'], { maxNewTokens: 600 }),
          'CONTEXT_OVERFLOW',
          /plus maxNewTokens 600 exceeds the context of 512 tokens/,
        ],
        [
          () => generator.generateBatchText(['a', 'b'], { seeds: [1] }),
          'INVALID_ARGUMENT',
          /seeds: expected one seed per prompt \(2\), found an array of 1/,
        ],
        [
          () => generator.generateBatchText(['a'], { seeds: [-1] }),
          'INVALID_ARGUMENT',
          /seed: expected an integer/,
        ],
        [
          () => generator.generateBatchText(['a'], { contextOverflow: 'sliding' as unknown as 'error' }),
          'UNSUPPORTED',
          /only "error" is supported for a batch/,
        ],
      ];
      for (const [run, code, pattern] of failures) {
        const error = await run().catch((e: unknown) => e);
        expect(isRotorError(error, code as never), String(error)).toBe(true);
        expect((error as Error).message).toMatch(pattern);
      }
      const running = generator.generateBatch(['Once', 'Twice'], { temperature: 0, maxNewTokens: 3 });
      await running.next();
      await expect(generator.generateText('Thrice')).rejects.toThrow(/already running/);
      await running.return(undefined);
      dispose();
    });
  },
);
