/**
 * NoPE: no positional information at all. Only the causal mask orders the tokens (it still leaks
 * some order information, which is why such models train at all).
 */
import type { PositionalEncoding, PositionalEncodingFactory, PositionalEncodingSpec } from '@rotor/core';
import { checkContext, readSpec } from './validation.js';

/** Normalised spec of the `none` strategy: `{"type":"none"}`, no options. */
export interface NoneSpec extends PositionalEncodingSpec {
  readonly type: 'none';
}

/** Factory of the `none` strategy: no hooks, unbounded length. */
export const noneFactory: PositionalEncodingFactory = {
  type: 'none',
  create(spec, context): PositionalEncoding {
    checkContext('none', context);
    readSpec(spec, 'none', []);
    const normalised: NoneSpec = Object.freeze({ type: 'none' });
    return Object.freeze({
      type: 'none',
      spec: normalised,
      hooks: Object.freeze({ additive: false, rotary: false, scoreBias: false }),
      maxPositions: Number.POSITIVE_INFINITY,
    });
  },
};
