/** Models the end-to-end and scaling suites run: stories260K and random weights of larger shapes. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '@rotor/core';
import { DecoderModel, type LlamaShape, type ModelWeights, randomLlamaWeights } from '@rotor/decoder-model';
import { readModelWeightsFile } from '@rotor/decoder-model/node';
import { createDefaultPositionalEncodingRegistry } from '@rotor/positional-encodings';

/** A model the benchmarks load. */
export interface BenchModel {
  name: string;
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

/** stories260K from the fixtures, else random weights of its shape. */
export function stories260K(fixtures: string): BenchModel {
  const path = join(fixtures, 'stories260K/stories260K.bin');
  return {
    name: 'stories260K',
    load: async () =>
      existsSync(path)
        ? readModelWeightsFile(path)
        : randomLlamaWeights({
            modelDim: 64,
            hiddenDim: 172,
            numLayers: 5,
            numHeads: 8,
            numKvHeads: 4,
            vocabSize: 512,
            maxSequenceLength: 512,
          }),
  };
}

/** A random model of a named shape. */
export function randomModel(name: string, maxSequenceLength?: number): BenchModel {
  const shape = RANDOM_SHAPES[name];
  return {
    name,
    load: async () =>
      randomLlamaWeights({ ...shape, maxSequenceLength: maxSequenceLength ?? shape.maxSequenceLength }, 7),
  };
}

/** The model on a backend, with its own positional encoding. */
export async function instantiate(
  weights: ModelWeights,
  backend: Backend,
  maxSequenceLength?: number,
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
  });
}

/** A fixed pseudo-random prompt of `length` ids in `[3, vocabSize)`. */
export function promptIds(length: number, vocabSize: number): number[] {
  return Array.from({ length }, (_, i) => 3 + ((i * 7919 + 13) % (vocabSize - 3)));
}
