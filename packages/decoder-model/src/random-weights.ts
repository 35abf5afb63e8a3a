import { type HostTensor, InvalidArgumentError, type ModelConfig } from '@rotor/core';
import { validateModelConfig } from './config.js';
import { XorShiftRandom } from './sampling.js';
import { type ModelWeights, weightNames as names } from './weights.js';

/** The hyper-parameters a random model needs; the rest follow the architecture's conventions. */
export type ModelShape = Pick<
  ModelConfig,
  'modelDim' | 'hiddenDim' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'vocabSize' | 'maxSequenceLength'
> &
  Partial<Pick<ModelConfig, 'tiedEmbeddings'>>;

/** The Llama hyper-parameters a random model needs (same as {@link ModelShape}). */
export type LlamaShape = ModelShape;

function headDim(shape: ModelShape, where: string): number {
  if (shape.modelDim % shape.numHeads !== 0) {
    throw new InvalidArgumentError(
      `${where}: numHeads: expected a divisor of modelDim ${shape.modelDim}, found ${shape.numHeads}`,
    );
  }
  return shape.modelDim / shape.numHeads;
}

/** A Llama configuration with llama2.c's conventions (interleaved RoPE, RMSNorm eps 1e-5, SwiGLU). */
export function llamaConfig(shape: ModelShape): ModelConfig {
  return validateModelConfig({
    architecture: 'llama',
    ...shape,
    headDim: headDim(shape, 'llama config'),
    norm: 'rms-norm',
    normPlacement: 'pre',
    normEpsilon: 1e-5,
    mlp: 'swiglu',
    tiedEmbeddings: shape.tiedEmbeddings ?? true,
    positionalEncoding: { type: 'rope', layout: 'interleaved', base: 10000 },
  });
}

/**
 * A GPT-2 configuration: pre-norm LayerNorm (eps 1e-5), tanh-GELU MLP, learned positions
 * (`position_embedding`, `maxSequenceLength` rows), tied classifier. `numKvHeads` must equal `numHeads`.
 */
export function gpt2Config(shape: ModelShape): ModelConfig {
  return validateModelConfig({
    architecture: 'gpt2',
    ...shape,
    headDim: headDim(shape, 'gpt2 config'),
    norm: 'layer-norm',
    normPlacement: 'pre',
    normEpsilon: 1e-5,
    mlp: 'gelu-tanh',
    tiedEmbeddings: shape.tiedEmbeddings ?? true,
    positionalEncoding: { type: 'learned', weight: names.positionEmbedding },
  });
}

/**
 * The original decoder (GPT-1 block ordering, Vaswani et al. positions): post-norm LayerNorm
 * (eps 1e-5) after each residual add, exact-GELU MLP, sinusoidal positions added to the
 * embeddings, no final norm, tied classifier.
 */
export function gpt1Config(shape: ModelShape): ModelConfig {
  return validateModelConfig({
    architecture: 'gpt1',
    ...shape,
    headDim: headDim(shape, 'gpt1 config'),
    norm: 'layer-norm',
    normPlacement: 'post',
    normEpsilon: 1e-5,
    mlp: 'gelu',
    tiedEmbeddings: shape.tiedEmbeddings ?? true,
    positionalEncoding: { type: 'sinusoidal', base: 10000 },
  });
}

/**
 * Random weights for any configuration, for tests and benchmarks: matrices uniform in
 * ±1/sqrt(fan-in) (so activations keep a sane scale), norm weights near 1, biases and norm
 * biases small. Layer-norm models (GPT) get every bias; RMSNorm models (Llama) none. A learned
 * positional encoding gets its `[maxSequenceLength, D]` table; a post-norm model no final norm.
 * Deterministic for a given seed; for Llama the draws are those of {@link randomLlamaWeights}.
 */
export function randomWeights(config: ModelConfig, seed = 1): ModelWeights {
  validateModelConfig(config);
  const random = new XorShiftRandom(seed);
  const { modelDim: D, hiddenDim: F, vocabSize: V, numLayers } = config;
  const Q = config.numHeads * config.headDim;
  const KV = config.numKvHeads * config.headDim;
  const biases = config.norm === 'layer-norm';
  const tensors = new Map<string, HostTensor<'f32'>>();
  const fill = (name: string, shape: number[], value: () => number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = value();
    tensors.set(name, { dtype: 'f32', shape, data });
  };
  const matrix = (name: string, rows: number, columns: number, bias?: string) => {
    const bound = 1 / Math.sqrt(columns);
    fill(name, [rows, columns], () => (random.nextFloat32() * 2 - 1) * bound);
    if (biases && bias) fill(bias, [rows], () => (random.nextFloat32() - 0.5) * 0.1);
  };
  const norm = (name: string, bias: string) => {
    fill(name, [D], () => 1 + (random.nextFloat32() - 0.5) * 0.2);
    if (biases) fill(bias, [D], () => (random.nextFloat32() - 0.5) * 0.1);
  };
  matrix(names.tokenEmbedding, V, D);
  if (config.positionalEncoding.type === 'learned') {
    const name = String(config.positionalEncoding.weight ?? names.positionEmbedding);
    fill(name, [config.maxSequenceLength, D], () => (random.nextFloat32() * 2 - 1) * 0.1);
  }
  for (let l = 0; l < numLayers; l++) {
    norm(names.attentionNorm(l), names.attentionNormBias(l));
    matrix(names.wq(l), Q, D, names.wqBias(l));
    matrix(names.wk(l), KV, D, names.wkBias(l));
    matrix(names.wv(l), KV, D, names.wvBias(l));
    matrix(names.wo(l), D, Q, names.woBias(l));
    norm(names.ffnNorm(l), names.ffnNormBias(l));
    matrix(names.w1(l), F, D, names.w1Bias(l));
    matrix(names.w2(l), D, F, names.w2Bias(l));
    if (config.mlp === 'swiglu') matrix(names.w3(l), F, D);
  }
  if (config.normPlacement === 'pre') norm(names.finalNorm, names.finalNormBias);
  if (!config.tiedEmbeddings) matrix(names.classifier, V, D);
  return { config, tensors };
}

/** Random Llama weights ({@link randomWeights} of {@link llamaConfig}). */
export function randomLlamaWeights(shape: ModelShape, seed = 1): ModelWeights {
  return randomWeights(llamaConfig(shape), seed);
}

/** Random GPT-2 weights ({@link randomWeights} of {@link gpt2Config}). */
export function randomGpt2Weights(shape: ModelShape, seed = 1): ModelWeights {
  return randomWeights(gpt2Config(shape), seed);
}

/** Random post-norm sinusoidal decoder weights ({@link randomWeights} of {@link gpt1Config}). */
export function randomGpt1Weights(shape: ModelShape, seed = 1): ModelWeights {
  return randomWeights(gpt1Config(shape), seed);
}
