/**
 * The normative meaning of the score-bias descriptors in `kernels.ts`, shared by every backend
 * and by the positional encodings that produce the descriptors.
 */

/**
 * Hugging Face `_relative_position_bucket` (T5) for one relative position `j - i` (key minus
 * query). The large-distance branch rounds each step to float32 as PyTorch does, so bucket
 * boundaries land exactly where they do there. Arguments are not validated (hot path): callers
 * pass `numBuckets >= 2` (4 when bidirectional) and `maxDistance` above the exact range.
 */
export function t5RelativeBucket(
  relativePosition: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let buckets = numBuckets;
  let bucket = 0;
  let distance: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relativePosition > 0) bucket += buckets;
    distance = Math.abs(relativePosition);
  } else {
    distance = Math.max(-relativePosition, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const logRatio = f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(logRatio * (buckets - maxExact)));
  return bucket + Math.min(large, buckets - 1);
}
