// prof260k.ts
import { performance } from "node:perf_hooks";
import { createWasmBackend } from "@rotor/attention-core";
import { argmax } from "@rotor/decoder-model";

// src/models.ts
import {
  DecoderModel,
  randomLlamaWeights
} from "@rotor/decoder-model";
import { createDefaultPositionalEncodingRegistry } from "@rotor/positional-encodings";
var stories = (dim, hidden, layers, heads) => ({
  modelDim: dim,
  hiddenDim: hidden,
  numLayers: layers,
  numHeads: heads,
  numKvHeads: heads,
  vocabSize: 32e3,
  maxSequenceLength: 256
});
var RANDOM_SHAPES = {
  "stories15M-shape": stories(288, 768, 6, 6),
  "stories42M-shape": stories(512, 1376, 8, 8),
  "stories110M-shape": stories(768, 2048, 12, 12)
};
var STORIES260K_SHAPE = {
  modelDim: 64,
  hiddenDim: 172,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  vocabSize: 512,
  maxSequenceLength: 512
};
function randomShapeWeights(name, maxSequenceLength) {
  const shape = RANDOM_SHAPES[name];
  return randomLlamaWeights({ ...shape, maxSequenceLength: maxSequenceLength ?? shape.maxSequenceLength }, 7);
}
async function instantiate(weights2, backend2, maxSequenceLength, quantize) {
  const { config } = weights2;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength
  });
  return DecoderModel.create(weights2, {
    backend: backend2,
    positionalEncoding,
    maxSequenceLength,
    maxPrefillRows: 512,
    quantize
  });
}
function promptIds(length, vocabSize) {
  return Array.from({ length }, (_, i) => 3 + (i * 7919 + 13) % (vocabSize - 3));
}

// src/node-models.ts
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomLlamaWeights as randomLlamaWeights2 } from "@rotor/decoder-model";
import { readModelWeightsFile } from "@rotor/decoder-model/node";
async function loadModelSpec(spec) {
  if (spec.kind === "random") return randomShapeWeights(spec.shape, spec.maxSequenceLength);
  const path = join(spec.fixtures, "stories260K/stories260K.bin");
  return existsSync(path) ? readModelWeightsFile(path) : randomLlamaWeights2(STORIES260K_SHAPE);
}
function stories260K(fixtures) {
  const spec = { kind: "stories260K", fixtures };
  return { name: "stories260K", spec, load: () => loadModelSpec(spec) };
}

// prof260k.ts
var weights = await stories260K("/work/shared/fixtures").load();
var backend = await createWasmBackend({ threads: Number(process.argv[2] ?? 1) });
var model = await instantiate(weights, backend, 32 + 256 + 1);
var logits = new Float32Array(weights.config.vocabSize);
var ids = promptIds(32, weights.config.vocabSize);
var rounds = Number(process.argv[3] ?? 6);
var rates = [];
for (let r = 0; r < rounds; r++) {
  let l = await model.forward(ids, 0, logits);
  const start = performance.now();
  for (let step = 0; step < 256; step++) l = await model.forward([argmax(l)], 32 + step, logits);
  rates.push(256 / ((performance.now() - start) / 1e3)); console.log("ROUND", r, rates[r].toFixed(0));
}
console.log(rates.map((x) => x.toFixed(0)).join(" "));
await model.dispose();
await backend.dispose?.();
