/** The kernels module's exports: one function per kernel, all operating on addresses in the imported memory. */
export { add } from './add';
export { applyRotary } from './apply-rotary';
export { attention, attentionPrefill } from './attention';
export { embedding } from './embedding';
export { gelu } from './gelu';
export { layerNorm } from './layer-norm';
export { matmul } from './matmul';
export { matmulQ4, matmulQ8, quantizeRows } from './matmul-quantized';
export { mul } from './mul';
export { rmsNorm } from './rms-norm';
export { silu } from './silu';
export { softmax } from './softmax';
export { writeRows } from './write-rows';
