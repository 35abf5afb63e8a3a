import { type HostTensor, InvalidArgumentError, type ModelConfig } from '@rotor/core';
import { validateModelConfig } from './config.js';
import { XorShiftRandom } from './sampling.js';
import { type ModelWeights, llamaWeightNames as names } from './weights.js';

/** The Llama hyper-parameters a random model needs; the rest take Llama defaults. */
export type LlamaShape = Pick<
  ModelConfig,
  'modelDim' | 'hiddenDim' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'vocabSize' | 'maxSequenceLength'
> &
  Partial<Pick<ModelConfig, 'tiedEmbeddings'>>;

/** A Llama configuration with llama2.c's conventions (interleaved RoPE, RMSNorm eps 1e-5, SwiGLU). */
export function llamaConfig(shape: LlamaShape): ModelConfig {
  if (shape.modelDim % shape.numHeads !== 0) {
    throw new InvalidArgumentError(
      `llama config: numHeads: expected a divisor of modelDim ${shape.modelDim}, found ${shape.numHeads}`,
    );
  }
  return validateModelConfig({
    architecture: 'llama',
    ...shape,
    headDim: shape.modelDim / shape.numHeads,
    norm: 'rms-norm',
    normPlacement: 'pre',
    normEpsilon: 1e-5,
    mlp: 'swiglu',
    tiedEmbeddings: shape.tiedEmbeddings ?? true,
    positionalEncoding: { type: 'rope', layout: 'interleaved', base: 10000 },
  });
}

/**
 * Random Llama weights for tests and benchmarks: matrices uniform in ±1/sqrt(fan-in) (so
 * activations keep a sane scale), norm weights near 1. Deterministic for a given seed.
 */
export function randomLlamaWeights(shape: LlamaShape, seed = 1): ModelWeights {
  const config = llamaConfig(shape);
  const random = new XorShiftRandom(seed);
  const { modelDim: D, hiddenDim: F, vocabSize: V, numLayers } = config;
  const Q = config.numHeads * config.headDim;
  const KV = config.numKvHeads * config.headDim;
  const tensors = new Map<string, HostTensor<'f32'>>();
  const matrix = (name: string, rows: number, columns: number) => {
    const data = new Float32Array(rows * columns);
    const bound = 1 / Math.sqrt(columns);
    for (let i = 0; i < data.length; i++) data[i] = (random.nextFloat32() * 2 - 1) * bound;
    tensors.set(name, { dtype: 'f32', shape: [rows, columns], data });
  };
  const norm = (name: string) => {
    const data = new Float32Array(D);
    for (let i = 0; i < D; i++) data[i] = 1 + (random.nextFloat32() - 0.5) * 0.2;
    tensors.set(name, { dtype: 'f32', shape: [D], data });
  };
  matrix(names.tokenEmbedding, V, D);
  for (let l = 0; l < numLayers; l++) {
    norm(names.attentionNorm(l));
    matrix(names.wq(l), Q, D);
    matrix(names.wk(l), KV, D);
    matrix(names.wv(l), KV, D);
    matrix(names.wo(l), D, Q);
    norm(names.ffnNorm(l));
    matrix(names.w1(l), F, D);
    matrix(names.w2(l), D, F);
    matrix(names.w3(l), F, D);
  }
  norm(names.finalNorm);
  if (!config.tiedEmbeddings) matrix(names.classifier, V, D);
  return { config, tensors };
}
