/** Loading the benchmark models in Node: stories260K from the fixtures directory. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelWeights, randomLlamaWeights } from '@rotor/decoder-model';
import { readModelWeightsFile } from '@rotor/decoder-model/node';
import { type BenchModel, type ModelSpec, randomShapeWeights, STORIES260K_SHAPE } from './models.js';

/** The weights a spec names: stories260K from the fixtures (else random weights of its shape), or a random shape. */
export async function loadModelSpec(spec: ModelSpec): Promise<ModelWeights> {
  if (spec.kind === 'random') return randomShapeWeights(spec.shape, spec.maxSequenceLength);
  const path = join(spec.fixtures, 'stories260K/stories260K.bin');
  return existsSync(path) ? readModelWeightsFile(path) : randomLlamaWeights(STORIES260K_SHAPE);
}

/** stories260K from the fixtures, else random weights of its shape. */
export function stories260K(fixtures: string): BenchModel {
  const spec: ModelSpec = { kind: 'stories260K', fixtures };
  return { name: 'stories260K', spec, load: () => loadModelSpec(spec) };
}
