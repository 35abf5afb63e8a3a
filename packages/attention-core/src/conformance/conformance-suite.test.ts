import {
  type Backend,
  type BackendCapabilities,
  type BackendFactory,
  type DType,
  type KernelAttrs,
  type KernelInputs,
  type KernelName,
  type TensorHandle,
  UnsupportedError,
} from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../index.js';
import {
  ConformanceFailure,
  type ConformanceTestApi,
  compareOutputs,
  conformanceCases,
  missingCapability,
  runConformanceSuite,
} from './index.js';

interface Outcome {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly detail?: string;
}

/** Registers the suite with a recording test API, then runs every test body in order. */
async function runSuite(factory: BackendFactory): Promise<Outcome[]> {
  const registered: { name: string; body: Parameters<ConformanceTestApi['it']>[1] }[] = [];
  const path: string[] = [];
  const hooks: (() => void | Promise<void>)[] = [];
  runConformanceSuite(factory, {
    describe: (name, body) => {
      path.push(name);
      body();
      path.pop();
    },
    it: (name, body) => registered.push({ name: [...path, name].join(' > '), body }),
    afterAll: (hook) => hooks.push(hook),
  });
  const outcomes: Outcome[] = [];
  for (const test of registered) {
    let skipped: string | undefined;
    try {
      await test.body({ skip: (reason) => (skipped = reason) });
      outcomes.push(
        skipped === undefined
          ? { name: test.name, status: 'passed' }
          : { name: test.name, status: 'skipped', detail: skipped },
      );
    } catch (error) {
      outcomes.push({ name: test.name, status: 'failed', detail: String(error) });
    }
  }
  for (const hook of hooks) await hook();
  return outcomes;
}

/**
 * A reference backend in disguise: other capabilities, optionally a broken `run`. It keeps the name
 * `reference` (its handles say so), which also shows the suite never decides anything by name.
 */
function wrapped(
  capabilities: Partial<BackendCapabilities>,
  run?: (
    inner: Backend,
    kernel: KernelName,
    inputs: Record<string, TensorHandle>,
    attrs: Record<string, unknown>,
    out: TensorHandle,
  ) => void,
): BackendFactory {
  const name = 'reference';
  const create = async (): Promise<Backend> => {
    const inner = createReferenceBackend();
    const declared = { ...inner.capabilities, ...capabilities };
    const stored = (dtype: DType | undefined) => {
      if (dtype !== undefined && !declared.dtypes.includes(dtype)) {
        throw new UnsupportedError(`dtype ${dtype} is not supported by ${name}`);
      }
      return dtype;
    };
    return {
      name,
      description: `${name} (test double)`,
      capabilities: declared,
      allocate: (shape, dtype) => inner.allocate(shape, stored(dtype)),
      upload: (data, shape, dtype) => inner.upload(data, shape, stored(dtype)),
      view: (tensor, shape) => inner.view(tensor, shape),
      write: (tensor, data, offset) => inner.write(tensor, data, offset),
      read: (tensor, target) => inner.read(tensor, target),
      dispose: (tensor) => inner.dispose(tensor),
      run: <K extends KernelName>(
        kernel: K,
        inputs: KernelInputs<K>,
        attrs: KernelAttrs<K>,
        out: TensorHandle,
      ) => {
        const bias = (attrs as { scoreBias?: { type: 'alibi' | 't5' } } | undefined)?.scoreBias?.type;
        if (
          kernel === 'attention' &&
          (bias === 'alibi' || bias === 't5') &&
          !declared.scoreBias.includes(bias)
        ) {
          throw new UnsupportedError(`attention: scoreBias ${bias} is not supported by ${name}`);
        }
        const layout = (attrs as { layout?: 'interleaved' | 'half-split' } | undefined)?.layout;
        if (
          kernel === 'applyRotary' &&
          (layout === 'interleaved' || layout === 'half-split') &&
          !declared.rotaryLayouts.includes(layout)
        ) {
          throw new UnsupportedError(`applyRotary: layout ${layout} is not supported by ${name}`);
        }
        if (run)
          run(inner, kernel, inputs as Record<string, TensorHandle>, attrs as Record<string, unknown>, out);
        else inner.run(kernel, inputs, attrs, out);
      },
      sync: () => inner.sync(),
      destroy: () => inner.destroy(),
    };
  };
  return { name, probe: async () => ({ available: true }), create };
}

const failed = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 'failed');

describe('conformance suite', () => {
  it('builds unique case names per kernel, each declaring a hand result or relying on the reference', () => {
    const cases = conformanceCases();
    const names = cases.map((c) => `${c.kernel}/${c.name}`);
    expect(new Set(names).size).toBe(names.length);
    expect(cases.filter((c) => c.kind === 'kernel' && c.expected !== undefined).length).toBeGreaterThan(50);
    expect(cases.filter((c) => c.kind === 'error').length).toBeGreaterThan(50);
  });

  it('passes a faithful backend with narrower capabilities, skipping what it does not declare', async () => {
    const outcomes = await runSuite(
      wrapped({
        kernels: [
          'matmul',
          'embedding',
          'rmsNorm',
          'softmax',
          'applyRotary',
          'writeRows',
          'attention',
          'silu',
          'add',
          'mul',
        ],
        dtypes: ['f32'],
        scoreBias: ['alibi'],
        rotaryLayouts: ['interleaved'],
        f32Tolerance: 1e-6,
      }),
    );
    expect(failed(outcomes)).toEqual([]);
    const skipped = outcomes.filter((o) => o.status === 'skipped');
    const reasons = new Set(skipped.map((o) => o.detail));
    expect(reasons).toContain(
      'skipped by capability: needs kernel gelu, which capabilities.kernels does not declare',
    );
    expect(reasons).toContain(
      'skipped by capability: needs kernel layerNorm, which capabilities.kernels does not declare',
    );
    expect(reasons).toContain(
      'skipped by capability: needs score bias t5, which capabilities.scoreBias does not declare',
    );
    expect(reasons).toContain(
      'skipped by capability: needs rotary layout half-split, which capabilities.rotaryLayouts does not declare',
    );
    expect(reasons).toContain(
      'skipped by capability: needs dtype i32, which capabilities.dtypes does not declare',
    );
    // The UNSUPPORTED checks now apply and pass.
    const unsupported = outcomes.filter((o) => o.name.includes('(UNSUPPORTED)'));
    expect(unsupported.map((o) => o.status)).toEqual(['passed', 'passed', 'passed']);
    // ALiBi cases still run.
    expect(outcomes.some((o) => o.name.includes('ALiBi') && o.status === 'passed')).toBe(true);
  });

  it('skips everything with the probe reason when the backend is unavailable', async () => {
    const outcomes = await runSuite({
      name: 'absent',
      probe: async () => ({ available: false, reason: 'no GPU adapter' }),
      create: async () => {
        throw new Error('must not be called');
      },
    });
    expect(outcomes.length).toBeGreaterThan(100);
    expect(outcomes.every((o) => o.status === 'skipped' && o.detail?.includes('no GPU adapter'))).toBe(true);
  });

  const broken: [string, Parameters<typeof wrapped>[1], string][] = [
    [
      'ignores the causal mask',
      (inner, kernel, inputs, attrs, out) =>
        inner.run(kernel, inputs as never, { ...attrs, causal: false } as never, out),
      'attention',
    ],
    [
      'swaps rotary layouts',
      (inner, kernel, inputs, attrs, out) => {
        const layout =
          attrs.layout === 'interleaved'
            ? 'half-split'
            : attrs.layout === 'half-split'
              ? 'interleaved'
              : attrs.layout;
        inner.run(
          kernel,
          inputs as never,
          (kernel === 'applyRotary' ? { ...attrs, layout } : attrs) as never,
          out,
        );
      },
      'applyRotary',
    ],
    [
      'reads one slot too few of the cache',
      (inner, kernel, inputs, attrs, out) => {
        const validLengths = (attrs.validLengths as number[] | undefined)?.map((l) => Math.max(0, l - 1));
        inner.run(
          kernel,
          inputs as never,
          (kernel === 'attention' ? { ...attrs, validLengths } : attrs) as never,
          out,
        );
      },
      'attention',
    ],
    [
      'throws untyped errors',
      (inner, kernel, inputs, attrs, out) => {
        try {
          inner.run(kernel, inputs as never, attrs as never, out);
        } catch (error) {
          throw new Error(String(error));
        }
      },
      'rejects',
    ],
  ];
  for (const [what, run, where] of broken) {
    it(`fails a backend that ${what}`, async () => {
      const outcomes = await runSuite(wrapped({}, run));
      const failures = failed(outcomes);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.some((o) => o.name.includes(where))).toBe(true);
      expect(failures.every((o) => o.detail?.includes('ConformanceFailure'))).toBe(true);
    });
  }

  it('fails a backend whose results drift beyond its declared tolerance', async () => {
    const drifting = wrapped({ f32Tolerance: 1e-7 }, (inner, kernel, inputs, attrs, out) => {
      inner.run(kernel, inputs as never, attrs as never, out);
      const values = new Float32Array(out.size).fill(1e-4);
      if (kernel === 'silu') inner.write(out, values);
    });
    const failures = failed(await runSuite(drifting));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((o) => !o.name.includes('silu'))).toEqual([]);
  });

  it('compares within tolerance relative to max(1, |expected|) and never matches NaN', () => {
    expect(() => compareOutputs('ok', [1000.5, 0.5], [1000, 0.5], 1e-3)).not.toThrow();
    expect(() => compareOutputs('far', [0.5, 0.6], [0.5, 0.5], 1e-3)).toThrow(ConformanceFailure);
    expect(() => compareOutputs('nan', [Number.NaN], [1], 1)).toThrow(/element 0/);
    expect(() => compareOutputs('inf', [Infinity], [Infinity], 0)).not.toThrow();
    expect(() => compareOutputs('length', [1], [1, 2], 0)).toThrow(/2 output elements/);
  });

  it('reports missing capabilities by what they are, never by backend name', () => {
    const attentionT5 = conformanceCases().find(
      (c) => c.kernel === 'attention' && c.name.startsWith('T5 causal'),
    );
    expect(attentionT5).toBeDefined();
    const capabilities = { ...createReferenceBackend().capabilities, scoreBias: ['alibi' as const] };
    expect(missingCapability(attentionT5!, capabilities)).toMatch(/score bias t5/);
  });
});
