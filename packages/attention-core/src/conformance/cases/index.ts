import type { ConformanceCase } from '../types.js';
import { addCases } from './add.js';
import { applyRotaryCases } from './apply-rotary.js';
import { attentionCases } from './attention.js';
import { embeddingCases } from './embedding.js';
import { geluCases } from './gelu.js';
import { layerNormCases } from './layer-norm.js';
import { matmulCases } from './matmul.js';
import { mulCases } from './mul.js';
import { rmsNormCases } from './rms-norm.js';
import { siluCases } from './silu.js';
import { softmaxCases } from './softmax.js';
import { writeRowsCases } from './write-rows.js';

/**
 * Every kernel conformance case, freshly built (deterministic: random cases use fixed seeds).
 * Names are unique within each kernel.
 */
export function conformanceCases(): ConformanceCase[] {
  return [
    ...matmulCases(),
    ...embeddingCases(),
    ...rmsNormCases(),
    ...layerNormCases(),
    ...softmaxCases(),
    ...applyRotaryCases(),
    ...writeRowsCases(),
    ...attentionCases(),
    ...siluCases(),
    ...geluCases(),
    ...addCases(),
    ...mulCases(),
  ];
}
