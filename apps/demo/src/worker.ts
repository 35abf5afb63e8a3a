/**
 * The model worker: loads weights and tokenizer, generates, and streams tokens to the page, so
 * the page stays responsive while the model runs.
 */
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import type { PositionalEncodingSpec } from '@rotor/core';
import { createLanguageModel, type LanguageModel } from '@rotor/decoder-model';
import { fetchDefaultModel } from './model-source.js';
import { type OpenedModel, openModel } from './open-model.js';
import type { FromWorker, GenerateSettings, ModelFiles, OpenedFile, ToWorker } from './protocol.js';

const post = (message: FromWorker) => self.postMessage(message);

let current: LanguageModel | undefined;
let source: OpenedModel | undefined;
let sourceKey: ModelFiles | undefined;
let stopRequested: AbortController | undefined;
/** Prompt and generated ids of the latest generation, for the attention view. */
let lastSequence: number[] = [];

/** Lets queued messages (such as `stop`) run between tokens; a MessageChannel avoids setTimeout's 4 ms clamp. */
const channel = new MessageChannel();
const yieldToEventLoop = () =>
  new Promise<void>((resolve) => {
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });

async function load(
  files: ModelFiles,
  backend: string,
  positionalEncoding?: PositionalEncodingSpec,
): Promise<void> {
  if (!source || sourceKey !== files) {
    const opened: OpenedFile[] =
      files.kind === 'files'
        ? files.files
        : await fetchDefaultModel(
            (what) => (loaded, total) => post({ type: 'progress', loaded, total, what }),
          ).then(({ model, tokenizer }) => [
            { name: 'stories260K.bin', bytes: model },
            { name: 'tok512.bin', bytes: tokenizer },
          ]);
    source = openModel(opened);
    sourceKey = files;
  }
  current?.dispose();
  current = undefined;
  const tokenizer = source.tokenizer();
  // A software WebGPU adapter (SwiftShader) is skipped by `auto` but used when picked explicitly.
  const backendRegistry = createDefaultBackendRegistry({ allowSoftwareAdapter: backend === 'webgpu' });
  current = await createLanguageModel(source.weights, tokenizer, {
    backend,
    backendRegistry,
    positionalEncoding,
  });
  const { config } = current.model;
  post({
    type: 'loaded',
    backend: current.backendSelection.backend.name,
    description: current.backendSelection.backend.description,
    fallbacks: current.backendSelection.steps
      .filter((s) => !s.chosen)
      .map((s) => ({ name: s.name, reason: s.reason ?? '' })),
    config: {
      modelDim: config.modelDim,
      numHeads: config.numHeads,
      headDim: config.headDim,
      numLayers: config.numLayers,
      vocabSize: config.vocabSize,
      maxSequenceLength: current.model.maxSequenceLength,
    },
    positionalEncoding: current.model.positionalEncoding.spec,
  });
}

async function generate(prompt: string, settings: GenerateSettings): Promise<void> {
  if (!current) throw new Error('no model is loaded');
  const { generator, tokenizer } = current;
  const promptIds = tokenizer.encode(prompt, { addSpecialTokens: true });
  const promptDecoder = tokenizer.createStreamDecoder();
  post({ type: 'prompt-tokens', tokens: promptIds.map((id) => ({ id, text: promptDecoder.push(id) })) });
  stopRequested = new AbortController();
  lastSequence = [...promptIds];
  try {
    for await (const piece of generator.generate(prompt, {
      maxNewTokens: Math.min(settings.maxNewTokens, current.model.maxSequenceLength - promptIds.length),
      temperature: settings.temperature,
      topK: settings.topK,
      topP: settings.topP,
      minP: settings.minP,
      seed: settings.seed,
      signal: stopRequested.signal,
    })) {
      post({ type: 'token', piece: { id: piece.token, text: piece.text } });
      if (piece.token >= 0) lastSequence.push(piece.token);
      await yieldToEventLoop();
    }
  } catch (error) {
    if (!stopRequested.signal.aborted) throw error;
  }
  const stats = generator.lastStats;
  post({
    type: 'done',
    stopReason: stopRequested.signal.aborted ? 'stopped' : (stats?.stopReason ?? 'done'),
    tokensPerSecond: stats?.decodeTokensPerSecond ?? 0,
    generatedTokens: stats?.generatedTokens ?? 0,
  });
}

/** Attention probabilities `[H, T, T]` of one layer over the latest prompt and output. */
async function attention(layer: number): Promise<void> {
  if (!current || lastSequence.length === 0) return;
  const ids = lastSequence.slice(0, current.model.maxSequenceLength);
  const weights = await current.model.attentionWeights(ids, layer);
  self.postMessage(
    {
      type: 'attention',
      layer,
      heads: current.model.config.numHeads,
      length: ids.length,
      weights,
    } satisfies FromWorker,
    { transfer: [weights.buffer] },
  );
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === 'load') await load(message.files, message.backend, message.positionalEncoding);
    else if (message.type === 'generate') await generate(message.prompt, message.settings);
    else if (message.type === 'attention') await attention(message.layer);
    else stopRequested?.abort();
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};
