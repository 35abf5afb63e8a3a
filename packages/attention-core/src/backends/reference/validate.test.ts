import { InvalidArgumentError } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend, createWasmBackend } from '../../index.js';
import { requireFinites, requireIntegers } from './validate.js';

describe('element-wise attr checks', () => {
  it('pass good values and name the first bad element exactly', () => {
    expect(() => requireIntegers('k', 'attrs.v', [0, 2, 3], 3, 0, 3)).not.toThrow();
    expect(() => requireIntegers('k', 'attrs.v', [0, 2, 4], 3, 0, 3)).toThrow(
      'k: attrs.v[2]: expected an integer in [0, 3], found 4',
    );
    expect(() => requireIntegers('k', 'attrs.v', [0.5], 1, 0, 3)).toThrow(InvalidArgumentError);
    expect(() => requireFinites('k', 'attrs.s', [1, -2], 2)).not.toThrow();
    expect(() => requireFinites('k', 'attrs.s', [1, Number.NaN], 2)).toThrow(
      /^k: attrs\.s\[1\]: expected a finite number, found NaN$/,
    );
  });

  it('name the failing element of sequenceStarts, ALiBi slopes and a T5 table on both CPU backends', async () => {
    for (const backend of [createReferenceBackend(), await createWasmBackend({ threads: 1 })]) {
      // q [B=2, T=1, H*Dh = 2*2], k and v [B, S=3, Hkv*Dh = 1*2]
      const q = backend.allocate([2, 1, 4]);
      const k = backend.allocate([2, 3, 2]);
      const attrs = { numHeads: 2, numKvHeads: 1, headDim: 2, kvOffset: 0, causal: true };
      expect(() => backend.run('attention', { q, k, v: k }, { ...attrs, sequenceStarts: [0, 4] }, q)).toThrow(
        'attention: attrs.sequenceStarts[1]: expected an integer in [0, 3], found 4',
      );
      const alibi = { type: 'alibi', slopes: Float32Array.of(0.5, Number.POSITIVE_INFINITY) } as const;
      expect(() => backend.run('attention', { q, k, v: k }, { ...attrs, scoreBias: alibi }, q)).toThrow(
        /^attention: attrs\.scoreBias\.slopes\[1\]: expected a finite number, found Infinity$/,
      );
      const t5 = {
        type: 't5',
        numBuckets: 4,
        maxDistance: 8,
        bidirectional: false,
        table: Float32Array.of(1, 2, 3),
      } as const;
      expect(() => backend.run('attention', { q, k, v: k }, { ...attrs, scoreBias: t5 }, q)).toThrow(
        'attention: attrs.scoreBias.table.length: expected 8 ([numBuckets, H] = [4, 2]), found 3',
      );
      backend.destroy();
    }
  });
});
