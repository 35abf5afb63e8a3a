/**
 * The demo page: controls, streaming output, the position lab and the token inspector. The model
 * runs in a Web Worker (worker.ts); this file only talks to it by messages.
 */
import type { PositionalEncodingSpec } from '@rotor/core';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';
import { drawAttention, drawCurves, drawHeatmap, drawRopeView } from './position-lab.js';
import type { FromWorker, GenerateSettings, ModelFiles, ToWorker } from './protocol.js';

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  status: element<HTMLSpanElement>('model-status'),
  progress: element<HTMLProgressElement>('load-progress'),
  fileInput: element<HTMLInputElement>('file-input'),
  dropZone: element<HTMLDivElement>('drop-zone'),
  prompt: element<HTMLTextAreaElement>('prompt'),
  temperature: element<HTMLInputElement>('temperature'),
  topK: element<HTMLInputElement>('top-k'),
  topP: element<HTMLInputElement>('top-p'),
  minP: element<HTMLInputElement>('min-p'),
  seed: element<HTMLInputElement>('seed'),
  maxTokens: element<HTMLInputElement>('max-tokens'),
  backend: element<HTMLSelectElement>('backend'),
  backendStatus: element<HTMLParagraphElement>('backend-status'),
  generate: element<HTMLButtonElement>('generate'),
  stop: element<HTMLButtonElement>('stop'),
  tokensPerSecond: element<HTMLOutputElement>('tokens-per-second'),
  output: element<HTMLDivElement>('output'),
  error: element<HTMLParagraphElement>('error'),
  positionalEncoding: element<HTMLSelectElement>('positional-encoding'),
  ropeBase: element<HTMLInputElement>('rope-base'),
  ropeFactor: element<HTMLInputElement>('rope-factor'),
  ropeOriginal: element<HTMLInputElement>('rope-original'),
  ropeLayout: element<HTMLSelectElement>('rope-layout'),
  spec: element<HTMLParagraphElement>('spec'),
  heatmap: element<HTMLCanvasElement>('heatmap'),
  heatmapCaption: element<HTMLElement>('heatmap-caption'),
  curves: element<HTMLCanvasElement>('curves'),
  curveDims: element<HTMLInputElement>('curve-dims'),
  ropeView: element<HTMLCanvasElement>('rope-view'),
  ropePair: element<HTMLInputElement>('rope-pair'),
  tokens: element<HTMLDivElement>('tokens'),
  attentionLayer: element<HTMLSelectElement>('attention-layer'),
  attentionHead: element<HTMLSelectElement>('attention-head'),
  attentionHeatmap: element<HTMLCanvasElement>('attention-heatmap'),
  attentionCaption: element<HTMLElement>('attention-caption'),
};

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (message: ToWorker, transfer: Transferable[] = []) => worker.postMessage(message, transfer);

let files: ModelFiles = { kind: 'default' };
let loaded: Extract<FromWorker, { type: 'loaded' }> | undefined;
let generating = false;
let outputText = '';
let attention: Extract<FromWorker, { type: 'attention' }> | undefined;
const tokenTimes: number[] = [];

/** The spec the position-lab controls describe; undefined keeps the model's own. */
function selectedSpec(): PositionalEncodingSpec | undefined {
  const base = Number(ui.ropeBase.value);
  const factor = Number(ui.ropeFactor.value);
  const originalMaxPositions = Number(ui.ropeOriginal.value);
  const layout = ui.ropeLayout.value;
  const rope = (scaling?: Record<string, unknown>): PositionalEncodingSpec =>
    scaling ? { type: 'rope', base, layout, scaling } : { type: 'rope', base, layout };
  switch (ui.positionalEncoding.value) {
    case 'rope':
      return rope();
    case 'rope-linear':
      return rope({ type: 'linear', factor });
    case 'rope-ntk':
      return rope({ type: 'ntk', factor });
    case 'rope-dynamic-ntk':
      return rope({ type: 'dynamic-ntk', factor, originalMaxPositions });
    case 'rope-yarn':
      return rope({ type: 'yarn', factor, originalMaxPositions });
    case 'sinusoidal':
      return { type: 'sinusoidal' };
    case 'alibi':
      return { type: 'alibi' };
    case 'none':
      return { type: 'none' };
    default:
      return undefined;
  }
}

function showError(message: string | undefined): void {
  ui.error.hidden = !message;
  ui.error.textContent = message ?? '';
}

function load(transfer: Transferable[] = []): void {
  loaded = undefined;
  delete ui.backendStatus.dataset.backend;
  ui.generate.disabled = true;
  ui.status.textContent = 'Loading…';
  showError(undefined);
  send({ type: 'load', files, backend: ui.backend.value, positionalEncoding: selectedSpec() }, transfer);
}

function drawLab(): void {
  if (!loaded) return;
  const spec = selectedSpec() ?? loaded.positionalEncoding;
  ui.spec.textContent = JSON.stringify(spec);
  try {
    const { config } = loaded;
    const encoding = createDefaultPositionalEncodingRegistry().create(spec, {
      modelDim: config.modelDim,
      numHeads: config.numHeads,
      headDim: config.headDim,
      maxPositions: config.maxSequenceLength,
    });
    ui.heatmapCaption.textContent = drawHeatmap(ui.heatmap, encoding, 128);
    const dims = ui.curveDims.value.split(/[ ,]+/).filter(Boolean).map(Number);
    drawCurves(ui.curves, encoding, 128, dims);
    drawRopeView(ui.ropeView, encoding, 128, Number(ui.ropePair.value));
  } catch (error) {
    showError(error instanceof Error ? error.message : String(error));
  }
}

function fillOptions(select: HTMLSelectElement, count: number): void {
  const keep = Number(select.value) < count ? select.value : '0';
  select.replaceChildren(
    ...Array.from({ length: count }, (_, i) =>
      Object.assign(document.createElement('option'), { value: String(i), textContent: String(i) }),
    ),
  );
  select.value = keep;
}

function drawAttentionView(): void {
  if (!attention) return;
  const head = Math.min(Number(ui.attentionHead.value), attention.heads - 1);
  drawAttention(ui.attentionHeatmap, attention.weights, head, attention.length);
  ui.attentionHeatmap.dataset.ready = 'true';
  ui.attentionCaption.textContent = `Layer ${attention.layer}, head ${head}: ${attention.length} tokens, row i is how much token i attends to each earlier token (darker = more).`;
}

function addToken(id: number, text: string, prompt: boolean): void {
  const span = document.createElement('span');
  span.textContent = text;
  span.title = `id ${id}`;
  span.className = prompt ? 'prompt' : '';
  span.style.background = `hsl(${(id * 47) % 360}, 70%, 88%)`;
  ui.tokens.append(span);
}

function setGenerating(value: boolean): void {
  generating = value;
  ui.output.dataset.state = value ? 'generating' : 'done';
  ui.generate.disabled = value || !loaded;
  ui.stop.disabled = !value;
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'progress':
      ui.progress.max = message.total;
      ui.progress.value = message.loaded;
      ui.status.textContent = `Loading ${message.what}: ${(message.loaded / 1024).toFixed(0)} KiB`;
      break;
    case 'loaded': {
      loaded = message;
      const c = message.config;
      ui.status.textContent = `Model: ${c.numLayers} layers, width ${c.modelDim}, ${c.numHeads} heads, vocabulary ${c.vocabSize}, context ${c.maxSequenceLength}`;
      ui.progress.value = ui.progress.max;
      const fallbacks = message.fallbacks.map((f) => `${f.name} skipped: ${f.reason}`).join('; ');
      ui.backendStatus.textContent = `Running on ${message.backend} (${message.description})${fallbacks ? ` — ${fallbacks}` : ''}`;
      ui.backendStatus.dataset.backend = message.backend;
      ui.generate.disabled = generating;
      fillOptions(ui.attentionLayer, c.numLayers);
      fillOptions(ui.attentionHead, c.numHeads);
      drawLab();
      break;
    }
    case 'attention':
      attention = message;
      drawAttentionView();
      break;
    case 'prompt-tokens':
      ui.tokens.replaceChildren();
      for (const token of message.tokens) addToken(token.id, token.text, true);
      break;
    case 'token':
      outputText += message.piece.text;
      ui.output.textContent = outputText;
      addToken(message.piece.id, message.piece.text, false);
      tokenTimes.push(performance.now());
      if (tokenTimes.length > 1) {
        const recent = tokenTimes.slice(-32);
        const rate = ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0] || 1);
        ui.tokensPerSecond.value = rate.toFixed(0);
      }
      break;
    case 'done':
      ui.tokensPerSecond.value =
        message.tokensPerSecond > 0 ? message.tokensPerSecond.toFixed(0) : ui.tokensPerSecond.value;
      setGenerating(false);
      send({ type: 'attention', layer: Number(ui.attentionLayer.value) });
      break;
    case 'error':
      showError(message.message);
      ui.status.textContent = loaded ? ui.status.textContent : 'No model loaded';
      setGenerating(false);
      break;
  }
};

ui.generate.addEventListener('click', () => {
  if (!loaded || generating) return;
  showError(undefined);
  const settings: GenerateSettings = {
    maxNewTokens: Number(ui.maxTokens.value),
    temperature: Number(ui.temperature.value),
    topK: Number(ui.topK.value),
    topP: Number(ui.topP.value),
    minP: Number(ui.minP.value),
    seed: Number(ui.seed.value),
  };
  outputText = ui.prompt.value;
  ui.output.textContent = outputText;
  tokenTimes.length = 0;
  delete ui.attentionHeatmap.dataset.ready;
  ui.tokensPerSecond.value = '–';
  setGenerating(true);
  send({ type: 'generate', prompt: ui.prompt.value, settings });
});
ui.stop.addEventListener('click', () => send({ type: 'stop' }));
ui.backend.addEventListener('change', () => load());
for (const control of [ui.positionalEncoding, ui.ropeBase, ui.ropeFactor, ui.ropeOriginal, ui.ropeLayout]) {
  control.addEventListener('change', () => load());
}
for (const control of [ui.curveDims, ui.ropePair]) control.addEventListener('change', drawLab);
ui.attentionHead.addEventListener('change', drawAttentionView);
ui.attentionLayer.addEventListener('change', () =>
  send({ type: 'attention', layer: Number(ui.attentionLayer.value) }),
);

async function openFiles(list: FileList | File[]): Promise<void> {
  const opened = await Promise.all(
    [...list].map(async (file) => ({ name: file.name, bytes: await file.arrayBuffer() })),
  );
  if (opened.length === 0) return;
  files = { kind: 'files', files: opened };
  load();
}
ui.fileInput.addEventListener('change', () => ui.fileInput.files && void openFiles(ui.fileInput.files));
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.dropZone.hidden = false;
});
document.addEventListener('dragleave', () => {
  ui.dropZone.hidden = true;
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.dropZone.hidden = true;
  if (event.dataTransfer?.files.length) void openFiles(event.dataTransfer.files);
});

load();
