import { InvalidArgumentError, type ModelConfig } from '@rotor/core';

/** Largest value accepted for any single model dimension; larger headers are treated as corrupt. */
export const MAX_DIMENSION = 1 << 24;

/**
 * Checks that a configuration describes a runnable model, naming the first offending field.
 * `where` prefixes the message (a file name or `config`).
 */
export function validateModelConfig(config: ModelConfig, where = 'model config'): ModelConfig {
  const positive: (keyof ModelConfig)[] = [
    'modelDim',
    'hiddenDim',
    'numLayers',
    'numHeads',
    'numKvHeads',
    'headDim',
    'vocabSize',
    'maxSequenceLength',
  ];
  for (const field of positive) {
    const value = config[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_DIMENSION) {
      throw new InvalidArgumentError(
        `${where}: ${field}: expected an integer in [1, ${MAX_DIMENSION}], found ${String(value)}`,
      );
    }
  }
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new InvalidArgumentError(
      `${where}: numKvHeads: expected a divisor of numHeads ${config.numHeads}, found ${config.numKvHeads}`,
    );
  }
  if (!(config.normEpsilon > 0 && config.normEpsilon < 1)) {
    throw new InvalidArgumentError(
      `${where}: normEpsilon: expected a number in (0, 1), found ${config.normEpsilon}`,
    );
  }
  return config;
}

/** Width of all query heads together, `H * Dh`. */
export function queryDim(config: ModelConfig): number {
  return config.numHeads * config.headDim;
}

/** Width of all key/value heads together, `Hkv * Dh`. */
export function kvDim(config: ModelConfig): number {
  return config.numKvHeads * config.headDim;
}
