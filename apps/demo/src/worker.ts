/**
 * The model worker: loads weights and tokenizer, generates, and streams tokens to the page, so
 * the page stays responsive while the model runs.
 */
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import type { PositionalEncodingSpec } from '@rotor/core';
import {
  createLanguageModel,
  type LanguageModel,
  type ModelWeights,
  parseModelWeights,
} from '@rotor/decoder-model';
import { detectTokenizerFormat, loadGgufTokenizer, loadLlama2cTokenizer } from '@rotor/tokenizer';
import { fetchDefaultModel } from './model-source.js';
import type { FromWorker, GenerateSettings, ModelFiles, ToWorker } from './protocol.js';

const post = (message: FromWorker) => self.postMessage(message);

let current: LanguageModel | undefined;
let source: { weights: ModelWeights; tokenizerBytes: ArrayBuffer } | undefined;
let sourceKey: ModelFiles | undefined;
let stopRequested: AbortController | undefined;

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
    const bytes =
      files.kind === 'default'
        ? await fetchDefaultModel(
            (what) => (loaded, total) => post({ type: 'progress', loaded, total, what }),
          )
        : { model: files.model, tokenizer: files.tokenizer };
    const name = files.kind === 'default' ? 'stories260K.bin' : files.modelName;
    const weights = parseModelWeights(bytes.model, { source: name });
    // A GGUF file carries its own vocabulary; other formats need a tokenizer file beside them.
    const ownVocabulary = detectTokenizerFormat(new Uint8Array(bytes.model)) === 'gguf';
    const tokenizerBytes = bytes.tokenizer ?? (ownVocabulary ? bytes.model : undefined);
    if (!tokenizerBytes)
      throw new Error(`${name}: this model format needs its tokenizer file (tokenizer.bin) opened with it`);
    source = { weights, tokenizerBytes };
    sourceKey = files;
  }
  current?.dispose();
  current = undefined;
  const tokenizerBytes = new Uint8Array(source.tokenizerBytes);
  const tokenizer =
    detectTokenizerFormat(tokenizerBytes) === 'gguf'
      ? loadGgufTokenizer(tokenizerBytes)
      : loadLlama2cTokenizer(tokenizerBytes, { vocabSize: source.weights.config.vocabSize });
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

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === 'load') await load(message.files, message.backend, message.positionalEncoding);
    else if (message.type === 'generate') await generate(message.prompt, message.settings);
    else stopRequested?.abort();
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};
