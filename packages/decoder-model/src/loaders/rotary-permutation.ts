import type { RotaryLayout } from '@rotor/core';
import { type HostTensor, ShapeError } from '@rotor/core';

/**
 * Reorders the rows of a query or key projection `[numHeads * headDim, in]` between the two
 * RoPE pair layouts, per head: interleaved rows `(0,1),(2,3),...` ↔ half-split rows
 * `(i, i + headDim/2)`. `interleaved → half-split` is the permutation Hugging Face's
 * `convert_llama_weights_to_hf.py` applies to Meta checkpoints; the reverse is llama.cpp's
 * `convert_hf_to_gguf.py`. The model computes the same logits before and after when its rotary
 * layout changes with the weights.
 */
export function permuteRotaryRows(
  weight: HostTensor<'f32'>,
  numHeads: number,
  from: RotaryLayout,
  to: RotaryLayout,
): HostTensor<'f32'> {
  const rows = weight.shape[0];
  const columns = weight.shape.length === 1 ? 1 : weight.shape[1];
  if (rows % numHeads !== 0 || (rows / numHeads) % 2 !== 0) {
    throw new ShapeError(
      `permuteRotaryRows: rows: expected a multiple of ${numHeads} heads with an even head width, found ${rows}`,
    );
  }
  if (from === to) return weight;
  const headDim = rows / numHeads;
  const half = headDim / 2;
  const out = new Float32Array(weight.data.length);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const interleaved = h * headDim + 2 * i + j;
        const halfSplit = h * headDim + j * half + i;
        const [source, target] = from === 'interleaved' ? [interleaved, halfSplit] : [halfSplit, interleaved];
        out.set(weight.data.subarray(source * columns, (source + 1) * columns), target * columns);
      }
    }
  }
  return { dtype: 'f32', shape: weight.shape, data: out };
}
