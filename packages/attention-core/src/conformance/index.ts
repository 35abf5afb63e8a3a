/**
 * `@rotor/attention-core/conformance`: the conformance suite every Rotor backend must pass, as data
 * (cases with hand-computed results, reference-backend comparisons and typed-error expectations)
 * plus a runner that takes the test framework's functions as parameters, so it imports no test
 * framework itself.
 *
 * @example With vitest:
 * ```ts
 * import { afterAll, describe, it } from 'vitest';
 * import { runConformanceSuite } from '@rotor/attention-core/conformance';
 *
 * runConformanceSuite(myBackendFactory(), {
 *   describe,
 *   it: (name, body) => it(name, (context) => body({ skip: (reason) => context.skip(reason) })),
 *   afterAll,
 * });
 * ```
 */
export type { BackendCheck } from './backend-checks.js';
export { backendChecks } from './backend-checks.js';
export { conformanceCases } from './cases/index.js';
export { quantizedMatmulBound } from './cases/quantized-matmul.js';
export { ConformanceFailure, compareOutputs, missingCapability } from './check.js';
export {
  type CaseRunOptions,
  type ConformanceSuiteOptions,
  type ConformanceTestApi,
  type ConformanceTestBody,
  type ConformanceTestControl,
  runConformanceCase,
  runConformanceSuite,
} from './runner.js';
export {
  type CaseOutput,
  type CaseTensor,
  type ConformanceCase,
  type ErrorCase,
  HAND_TOLERANCE,
  type KernelCase,
} from './types.js';
