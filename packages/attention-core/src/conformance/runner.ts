/** Running conformance cases on a backend, and registering them with any test runner. */
import {
  type Backend,
  type BackendFactory,
  BackendUnavailableError,
  isRotorError,
  KERNEL_NAMES,
  type KernelAttrs,
  type KernelInputs,
  type KernelName,
  shapeSize,
  type TensorHandle,
} from '@rotor/core';
import { createReferenceBackend } from '../backends/reference/reference-backend.js';
import { backendChecks } from './backend-checks.js';
import { conformanceCases } from './cases/index.js';
import { ConformanceFailure, compareOutputs, missingCapability } from './check.js';
import {
  type CaseTensor,
  type ConformanceCase,
  type ErrorCase,
  HAND_TOLERANCE,
  type KernelCase,
} from './types.js';

/** Options of {@link runConformanceCase}. */
export interface CaseRunOptions {
  /** The oracle for cases without a hand-computed result; a fresh reference backend when absent. */
  readonly reference?: Backend;
  /** Tolerance against the reference backend; default the tested backend's `capabilities.f32Tolerance`. */
  readonly tolerance?: number;
}

function upload(backend: Backend, tensor: CaseTensor): TensorHandle {
  return backend.upload(tensor.data, tensor.shape, tensor.dtype ?? 'f32');
}

/** Runs a kernel case on `backend` and reads its output; every tensor it made is disposed. */
async function execute(backend: Backend, testCase: KernelCase): Promise<Float32Array> {
  const owned: TensorHandle[] = [];
  try {
    const inputs: Record<string, TensorHandle> = {};
    for (const [name, tensor] of Object.entries(testCase.inputs)) {
      inputs[name] = upload(backend, tensor);
      owned.push(inputs[name]);
    }
    let out: TensorHandle;
    if ('aliasOf' in testCase.out) {
      out = inputs[testCase.out.aliasOf];
    } else {
      const { shape, initial } = testCase.out;
      out = initial === undefined ? backend.allocate(shape) : backend.upload(initial, shape);
      owned.push(out);
    }
    backend.run(
      testCase.kernel,
      inputs as KernelInputs<KernelName>,
      testCase.attrs as KernelAttrs<KernelName>,
      out,
    );
    await backend.sync();
    return await backend.read(out);
  } finally {
    for (const tensor of owned) backend.dispose(tensor);
  }
}

async function checkKernelCase(
  backend: Backend,
  testCase: KernelCase,
  options: CaseRunOptions,
): Promise<void> {
  const label = `${testCase.kernel} "${testCase.name}" on ${backend.name}`;
  const actual = await execute(backend, testCase);
  const declared = backend.capabilities.f32Tolerance;
  if (testCase.expected !== undefined) {
    compareOutputs(
      label,
      actual,
      testCase.expected,
      Math.max(testCase.tolerance ?? HAND_TOLERANCE, declared),
      testCase.errorBound,
    );
    return;
  }
  const reference = options.reference ?? createReferenceBackend();
  try {
    const expected = await execute(reference, testCase);
    compareOutputs(
      `${label} against the reference backend`,
      actual,
      expected,
      options.tolerance ?? declared,
      testCase.errorBound,
    );
  } finally {
    if (options.reference === undefined) reference.destroy();
  }
}

async function checkErrorCase(backend: Backend, testCase: ErrorCase): Promise<void> {
  const label = `${testCase.kernel} "${testCase.name}" on ${backend.name}`;
  const owned: TensorHandle[] = [];
  try {
    const inputs: Record<string, TensorHandle> = {};
    for (const [name, tensor] of Object.entries(testCase.inputs)) {
      if (testCase.tamper?.input === name && testCase.tamper.how === 'foreign') {
        const dtype = tensor.dtype ?? 'f32';
        inputs[name] = { dtype, shape: tensor.shape, size: shapeSize(tensor.shape), backend: backend.name };
        continue;
      }
      inputs[name] = upload(backend, tensor);
      if (testCase.tamper?.input === name) backend.dispose(inputs[name]);
      else owned.push(inputs[name]);
    }
    let out: TensorHandle;
    let watched: TensorHandle | undefined;
    if ('aliasOf' in testCase.out) {
      out = inputs[testCase.out.aliasOf];
      if (testCase.tamper?.input !== testCase.out.aliasOf) watched = out;
    } else {
      const { shape, initial } = testCase.out;
      out = initial === undefined ? backend.allocate(shape) : backend.upload(initial, shape);
      owned.push(out);
      watched = out;
    }
    const before = watched === undefined ? undefined : await backend.read(watched);

    let thrown: unknown;
    try {
      backend.run(
        (testCase.runName ?? testCase.kernel) as KernelName,
        inputs as never,
        testCase.attrs as never,
        out,
      );
      await backend.sync();
    } catch (error) {
      thrown = error;
    }
    if (thrown === undefined) {
      throw new ConformanceFailure(
        `${label}: expected a RotorError with code ${testCase.code}, but the kernel ran`,
      );
    }
    if (!isRotorError(thrown)) {
      throw new ConformanceFailure(
        `${label}: expected a RotorError with code ${testCase.code}, found ${String(thrown)}`,
      );
    }
    if (thrown.code !== testCase.code) {
      throw new ConformanceFailure(
        `${label}: expected a RotorError with code ${testCase.code}, found ${thrown.code} (${thrown.message})`,
      );
    }
    const namedIn = testCase.runName ?? testCase.kernel;
    if (!thrown.message.includes(namedIn)) {
      throw new ConformanceFailure(
        `${label}: the error message should name "${namedIn}", found "${thrown.message}"`,
      );
    }
    if (watched !== undefined && before !== undefined) {
      compareOutputs(`${label}: out after the rejected call`, await backend.read(watched), before, 0);
    }
  } finally {
    for (const tensor of owned) backend.dispose(tensor);
  }
}

/**
 * Runs one case on `backend`, throwing a {@link ConformanceFailure} when it does not conform. The
 * caller checks {@link missingCapability} first.
 */
export async function runConformanceCase(
  backend: Backend,
  testCase: ConformanceCase,
  options: CaseRunOptions = {},
): Promise<void> {
  if (testCase.kind === 'kernel') await checkKernelCase(backend, testCase, options);
  else await checkErrorCase(backend, testCase);
}

/** Lets a test body mark itself skipped, with a reason the runner shows. */
export interface ConformanceTestControl {
  /** Marks the running test skipped (vitest: `context.skip(reason)`); the body returns right after. */
  skip(reason: string): void;
}

/** A registered test's body. */
export type ConformanceTestBody = (control: ConformanceTestControl) => Promise<void>;

/**
 * The few test-runner functions the suite needs, so it works with any runner. With vitest:
 * `{ describe, it: (name, body) => it(name, (context) => body({ skip: (reason) => context.skip(reason) })), afterAll }`.
 */
export interface ConformanceTestApi {
  /** Groups tests. */
  readonly describe: (name: string, body: () => void) => void;
  /** Registers one test. */
  readonly it: (name: string, body: ConformanceTestBody) => void;
  /** Registers a hook run after the suite's tests; the suite destroys its backends there. */
  readonly afterAll?: (hook: () => void | Promise<void>) => void;
}

/** Options of {@link runConformanceSuite}. */
export interface ConformanceSuiteOptions {
  /** Tolerance against the reference backend; default the backend's `capabilities.f32Tolerance`. */
  readonly tolerance?: number;
  /** Only cases of these kernels (every kernel when absent); the backend-API checks always run. */
  readonly kernels?: readonly KernelName[];
}

/**
 * Registers the whole conformance suite for the backends `factory` creates: every kernel case
 * (hand-computed, against the reference backend, and typed-error cases) and the memory-API checks.
 * The backend is created once, on the first test. A case needing something the backend's
 * capabilities do not declare is skipped with the reason; when the factory's probe says the backend
 * is unavailable here, every test is skipped with the probe's reason.
 */
export function runConformanceSuite(
  factory: BackendFactory,
  api: ConformanceTestApi,
  options: ConformanceSuiteOptions = {},
): void {
  let created: Promise<Backend | string> | undefined;
  const backend = (): Promise<Backend | string> => {
    created ??= (async () => {
      const probe = await factory.probe();
      if (!probe.available)
        return `backend ${factory.name} is unavailable here: ${probe.reason ?? 'no reason given'}`;
      try {
        return await factory.create();
      } catch (error) {
        if (error instanceof BackendUnavailableError) return error.message;
        throw error;
      }
    })();
    return created;
  };
  let reference: Backend | undefined;
  const referenceBackend = (): Backend => {
    reference ??= createReferenceBackend();
    return reference;
  };

  const register = (
    name: string,
    test: (tested: Backend) => Promise<void>,
    requires?: (tested: Backend) => string | undefined,
  ) =>
    api.it(name, async (control) => {
      const tested = await backend();
      if (typeof tested === 'string') {
        control.skip(tested);
        return;
      }
      const missing = requires?.(tested);
      if (missing !== undefined) {
        control.skip(`skipped by capability: ${missing}`);
        return;
      }
      await test(tested);
    });

  const cases = conformanceCases();
  api.describe(`conformance of backend ${factory.name}`, () => {
    for (const kernel of KERNEL_NAMES) {
      if (options.kernels !== undefined && !options.kernels.includes(kernel)) continue;
      api.describe(kernel, () => {
        for (const testCase of cases) {
          if (testCase.kernel !== kernel) continue;
          const title =
            testCase.kind === 'error' ? `rejects: ${testCase.name} (${testCase.code})` : testCase.name;
          register(
            title,
            (tested) =>
              runConformanceCase(tested, testCase, {
                reference: referenceBackend(),
                tolerance: options.tolerance,
              }),
            (tested) => missingCapability(testCase, tested.capabilities),
          );
        }
      });
    }
    api.describe('backend API', () => {
      for (const check of backendChecks())
        register(check.name, check.run, (tested) => check.requires?.(tested.capabilities));
    });
    api.afterAll?.(async () => {
      reference?.destroy();
      const tested = created === undefined ? undefined : await created.catch(() => undefined);
      if (tested !== undefined && typeof tested !== 'string') tested.destroy();
    });
  });
}
