/**
 * Models the end-to-end and scaling suites run: stories260K and random weights of larger shapes.
 * Free of Node APIs (the browser page shares it); reading stories260K from the fixtures is in
 * `node-models.ts`.
 */
import type { Backend } from '@rotor/core';
import {
  DecoderModel,
  type LlamaShape,
  type ModelWeights,
  type QuantizedWeightType,
  randomLlamaWeights,
} from '@rotor/decoder-model';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';

/** How to get a model's weights again, in another process: plain data. */
export type ModelSpec =
  | { kind: 'stories260K'; fixtures: string }
  | { kind: 'random'; shape: string; maxSequenceLength?: number };

/** A model the benchmarks load. */
export interface BenchModel {
  name: string;
  spec: ModelSpec;
  load(): Promise<ModelWeights>;
}

const stories = (dim: number, hidden: number, layers: number, heads: number): LlamaShape => ({
  modelDim: dim,
  hiddenDim: hidden,
  numLayers: layers,
  numHeads: heads,
  numKvHeads: heads,
  vocabSize: 32000,
  maxSequenceLength: 256,
});

/** Random-weight models with the shapes of the tinyllamas checkpoints. */
export const RANDOM_SHAPES: Record<string, LlamaShape> = {
  'stories15M-shape': stories(288, 768, 6, 6),
  'stories42M-shape': stories(512, 1376, 8, 8),
  'stories110M-shape': stories(768, 2048, 12, 12),
};

/** stories260K's shape, for random weights when the fixture is missing. */
export const STORIES260K_SHAPE: LlamaShape = {
  modelDim: 64,
  hiddenDim: 172,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  vocabSize: 512,
  maxSequenceLength: 512,
};

/** Random weights of a named shape (seed 7, so every process draws the same). */
export function randomShapeWeights(name: string, maxSequenceLength?: number): ModelWeights {
  const shape = RANDOM_SHAPES[name];
  return randomLlamaWeights({ ...shape, maxSequenceLength: maxSequenceLength ?? shape.maxSequenceLength }, 7);
}

/** A random model of a named shape. */
export function randomModel(name: string, maxSequenceLength?: number): BenchModel {
  return {
    name,
    spec: { kind: 'random', shape: name, maxSequenceLength },
    load: async () => randomShapeWeights(name, maxSequenceLength),
  };
}

/** The model on a backend, with its own positional encoding; matrices quantised when asked. */
export async function instantiate(
  weights: ModelWeights,
  backend: Backend,
  maxSequenceLength?: number,
  quantize?: QuantizedWeightType,
): Promise<DecoderModel> {
  const { config } = weights;
  const positionalEncoding = createDefaultPositionalEncodingRegistry().create(config.positionalEncoding, {
    modelDim: config.modelDim,
    numHeads: config.numHeads,
    headDim: config.headDim,
    maxPositions: config.maxSequenceLength,
  });
  return DecoderModel.create(weights, {
    backend,
    positionalEncoding,
    maxSequenceLength,
    maxPrefillRows: 512,
    quantize,
  });
}

/** A fixed pseudo-random prompt of `length` ids in `[3, vocabSize)`. */
export function promptIds(length: number, vocabSize: number): number[] {
  return Array.from({ length }, (_, i) => 3 + ((i * 7919 + 13) % (vocabSize - 3)));
}
