import { BackendRegistry } from '@rotor/core';
import { referenceBackend } from './backends/reference/reference-backend.js';

/**
 * A {@link BackendRegistry} holding every backend this package ships, in `auto` order (fastest
 * first; the reference backend last, as the fallback that always runs).
 */
export function createDefaultBackendRegistry(): BackendRegistry {
  return new BackendRegistry().register(referenceBackend());
}
