/**
 * Reference evaluation of score-bias descriptors, one score at a time (tests, visualisation and
 * simple kernels; fast kernels evaluate the same formula in-kernel).
 */
import type { ScoreBiasDescriptor } from '@rotor/core';
import { t5RelativeBucket } from './t5-relative.js';
import { fieldError } from './validation.js';

/** Query heads a descriptor covers: ALiBi's slope count, or the T5 table's columns. */
export function scoreBiasHeads(descriptor: ScoreBiasDescriptor): number {
  return descriptor.type === 'alibi'
    ? descriptor.slopes.length
    : descriptor.table.length / descriptor.numBuckets;
}

/**
 * The bias added to the score of query position `queryPosition` and key position `keyPosition` in
 * head `head`, as core's kernel documentation defines it: ALiBi `-slopes[h] * |i - j|`, T5
 * `table[bucket(j - i) * H + h]`.
 */
export function scoreBiasAt(
  descriptor: ScoreBiasDescriptor,
  head: number,
  queryPosition: number,
  keyPosition: number,
): number {
  const heads = scoreBiasHeads(descriptor);
  if (!Number.isSafeInteger(head) || head < 0 || head >= heads) {
    throw fieldError('scoreBiasAt', 'head', `an integer in [0, ${heads})`, head);
  }
  if (!Number.isSafeInteger(queryPosition) || queryPosition < 0) {
    throw fieldError('scoreBiasAt', 'queryPosition', 'an integer >= 0', queryPosition);
  }
  if (!Number.isSafeInteger(keyPosition) || keyPosition < 0) {
    throw fieldError('scoreBiasAt', 'keyPosition', 'an integer >= 0', keyPosition);
  }
  if (descriptor.type === 'alibi') return -descriptor.slopes[head] * Math.abs(queryPosition - keyPosition);
  const bucket = t5RelativeBucket(
    keyPosition - queryPosition,
    descriptor.bidirectional,
    descriptor.numBuckets,
    descriptor.maxDistance,
  );
  return descriptor.table[bucket * heads + head];
}
