/**
 * `@rotor/attention-core`: Rotor's compute backends. The conformance suite every backend must pass
 * is the `@rotor/attention-core/conformance` subpath.
 */
export {
  createReferenceBackend,
  REFERENCE_CAPABILITIES,
  referenceBackend,
} from './backends/reference/reference-backend.js';
export { createDefaultBackendRegistry } from './default-registry.js';
