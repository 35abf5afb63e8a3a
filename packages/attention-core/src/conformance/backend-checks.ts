/** Checks of the memory half of the `Backend` contract (allocate, upload, view, write, read, dispose). */
import {
  type Backend,
  type BackendCapabilities,
  type DType,
  isRotorError,
  KERNEL_NAMES,
  type RotorErrorCode,
  type TensorHandle,
} from '@rotor/core';
import { ConformanceFailure, compareOutputs } from './check.js';

/** One check of the backend API. */
export interface BackendCheck {
  readonly name: string;
  /** Why the check cannot run on a backend declaring `capabilities`, or undefined when it can. */
  readonly requires?: (capabilities: BackendCapabilities) => string | undefined;
  readonly run: (backend: Backend) => Promise<void>;
}

async function expectRotorError(label: string, code: RotorErrorCode, action: () => unknown): Promise<void> {
  let thrown: unknown;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined)
    throw new ConformanceFailure(`${label}: expected a RotorError with code ${code}, but it succeeded`);
  if (!isRotorError(thrown, code)) {
    const found = isRotorError(thrown) ? `${thrown.code} (${thrown.message})` : String(thrown);
    throw new ConformanceFailure(`${label}: expected a RotorError with code ${code}, found ${found}`);
  }
}

async function expectContents(
  label: string,
  backend: Backend,
  tensor: TensorHandle,
  expected: ArrayLike<number>,
): Promise<void> {
  await backend.sync();
  compareOutputs(label, await backend.read(tensor), expected, 0);
}

function expect(label: string, condition: boolean, detail: string): void {
  if (!condition) throw new ConformanceFailure(`${label}: ${detail}`);
}

function lookAlike(backend: Backend): TensorHandle {
  return { dtype: 'f32', shape: [2], size: 2, backend: backend.name };
}

const QUANTIZED_OR_HALF: readonly DType[] = ['f16', 'q8_0', 'q4_0'];

/** Every backend-API check, in a stable order. */
export function backendChecks(): BackendCheck[] {
  return [
    {
      name: 'declares consistent capabilities',
      run: async (backend) => {
        const c = backend.capabilities;
        const label = 'capabilities';
        expect(
          label,
          c.kernels.every((k) => KERNEL_NAMES.includes(k)),
          `unknown kernel in [${c.kernels.join(', ')}]`,
        );
        expect(label, new Set(c.kernels).size === c.kernels.length, 'kernels listed twice');
        expect(label, c.dtypes.includes('f32'), 'dtypes must include f32');
        expect(
          label,
          c.scoreBias.every((t) => t === 'alibi' || t === 't5'),
          `unknown scoreBias in [${c.scoreBias.join(', ')}]`,
        );
        expect(
          label,
          c.rotaryLayouts.every((l) => l === 'interleaved' || l === 'half-split'),
          `unknown rotary layout in [${c.rotaryLayouts.join(', ')}]`,
        );
        expect(
          label,
          Number.isFinite(c.f32Tolerance) && c.f32Tolerance >= 0,
          `f32Tolerance ${c.f32Tolerance}`,
        );
        expect(label, Number.isInteger(c.threads) && c.threads >= 1, `threads ${c.threads}`);
        expect(label, c.maxTensorBytes > 0, `maxTensorBytes ${c.maxTensorBytes}`);
      },
    },
    {
      name: 'allocate returns a zero-filled f32 tensor describing itself',
      run: async (backend) => {
        const tensor = backend.allocate([3, 5]);
        const label = 'allocate([3, 5])';
        expect(label, tensor.dtype === 'f32', `dtype ${tensor.dtype}`);
        expect(
          label,
          tensor.shape.length === 2 && tensor.shape[0] === 3 && tensor.shape[1] === 5,
          `shape [${tensor.shape}]`,
        );
        expect(label, tensor.size === 15, `size ${tensor.size}`);
        expect(
          label,
          tensor.backend === backend.name,
          `backend "${tensor.backend}", expected "${backend.name}"`,
        );
        await expectContents(label, backend, tensor, new Float32Array(15));
        backend.dispose(tensor);
      },
    },
    {
      name: 'upload copies its data and read returns a copy',
      run: async (backend) => {
        const source = Float32Array.from([1, 2, 3, 4]);
        const tensor = backend.upload(source, [2, 2]);
        source[0] = 100;
        await expectContents('upload after the source changed', backend, tensor, [1, 2, 3, 4]);
        const first = await backend.read(tensor);
        first[1] = 100;
        await expectContents('read after the previous result changed', backend, tensor, [1, 2, 3, 4]);
        backend.dispose(tensor);
      },
    },
    {
      name: 'read fills and returns a target buffer when given one',
      run: async (backend) => {
        const tensor = backend.upload(Float32Array.from([1, 2, 3]), [3]);
        const target = new Float32Array(5).fill(-1);
        const result = await backend.read(tensor, target);
        expect('read(tensor, target)', result === target, 'returned another array than target');
        compareOutputs('read(tensor, target)', target, [1, 2, 3, -1, -1], 0);
        backend.dispose(tensor);
      },
    },
    {
      name: 'write overwrites elements from an offset',
      run: async (backend) => {
        const tensor = backend.upload(Float32Array.from([1, 2, 3, 4, 5]), [5]);
        backend.write(tensor, Float32Array.from([8, 9]), 2);
        await expectContents('write at offset 2', backend, tensor, [1, 2, 8, 9, 5]);
        backend.write(tensor, Float32Array.from([7]));
        await expectContents('write at offset 0', backend, tensor, [7, 2, 8, 9, 5]);
        backend.dispose(tensor);
      },
    },
    {
      name: 'a view shares the first elements of its tensor; disposing it is a no-op',
      run: async (backend) => {
        const tensor = backend.upload(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
        const head = backend.view(tensor, [3]);
        expect('view', head.size === 3 && head.shape[0] === 3, `shape [${head.shape}]`);
        await expectContents('view([3])', backend, head, [1, 2, 3]);
        backend.write(head, Float32Array.from([9]), 1);
        await expectContents('tensor after writing through its view', backend, tensor, [1, 9, 3, 4, 5, 6]);
        await expectContents('a reshaping view', backend, backend.view(tensor, [3, 2]), [1, 9, 3, 4, 5, 6]);
        backend.dispose(head);
        await expectContents('tensor after disposing its view', backend, tensor, [1, 9, 3, 4, 5, 6]);
        backend.dispose(tensor);
      },
    },
    {
      name: 'kernels write into a view of a larger scratch tensor',
      run: async (backend) => {
        const scratch = backend.upload(new Float32Array(12).fill(-1), [4, 3]);
        const rows = backend.view(scratch, [2, 3]);
        const a = backend.upload(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
        const b = backend.upload(Float32Array.from([10, 20, 30, 40, 50, 60]), [2, 3]);
        backend.run('add', { a, b }, {}, rows);
        await expectContents(
          'scratch after add into its first two rows',
          backend,
          scratch,
          [11, 22, 33, 44, 55, 66, -1, -1, -1, -1, -1, -1],
        );
        for (const t of [a, b, scratch]) backend.dispose(t);
      },
      requires: (c) =>
        c.kernels.includes('add')
          ? undefined
          : 'needs kernel add, which capabilities.kernels does not declare',
    },
    {
      name: 'rejects: a disposed tensor in read, write, view, dispose and run (INVALID_ARGUMENT)',
      run: async (backend) => {
        const tensor = backend.upload(Float32Array.from([1, 2]), [2]);
        const out = backend.allocate([2]);
        backend.dispose(tensor);
        await expectRotorError('read of a disposed tensor', 'INVALID_ARGUMENT', () => backend.read(tensor));
        await expectRotorError('write to a disposed tensor', 'INVALID_ARGUMENT', () =>
          backend.write(tensor, Float32Array.from([1])),
        );
        await expectRotorError('view of a disposed tensor', 'INVALID_ARGUMENT', () =>
          backend.view(tensor, [1]),
        );
        await expectRotorError('second dispose', 'INVALID_ARGUMENT', () => backend.dispose(tensor));
        if (backend.capabilities.kernels.includes('silu')) {
          await expectRotorError('run with a disposed input', 'INVALID_ARGUMENT', () =>
            backend.run('silu', { x: tensor }, {}, out),
          );
        }
        backend.dispose(out);
      },
    },
    {
      name: 'rejects: a view whose tensor was disposed (INVALID_ARGUMENT)',
      run: async (backend) => {
        const tensor = backend.upload(Float32Array.from([1, 2, 3]), [3]);
        const view = backend.view(tensor, [2]);
        backend.dispose(tensor);
        await expectRotorError('read of a view of a disposed tensor', 'INVALID_ARGUMENT', () =>
          backend.read(view),
        );
      },
    },
    {
      name: 'rejects: a look-alike handle carrying this backend name (INVALID_ARGUMENT)',
      run: async (backend) => {
        await expectRotorError('read of a look-alike', 'INVALID_ARGUMENT', () =>
          backend.read(lookAlike(backend)),
        );
        await expectRotorError('write to a look-alike', 'INVALID_ARGUMENT', () =>
          backend.write(lookAlike(backend), Float32Array.from([1])),
        );
        await expectRotorError('view of a look-alike', 'INVALID_ARGUMENT', () =>
          backend.view(lookAlike(backend), [1]),
        );
        await expectRotorError('dispose of a look-alike', 'INVALID_ARGUMENT', () =>
          backend.dispose(lookAlike(backend)),
        );
      },
    },
    {
      name: 'rejects: bad shapes and sizes in allocate, upload, view and write',
      run: async (backend) => {
        await expectRotorError('allocate([-1])', 'INVALID_ARGUMENT', () => backend.allocate([-1]));
        await expectRotorError('allocate([1.5])', 'INVALID_ARGUMENT', () => backend.allocate([1.5]));
        await expectRotorError('upload of 3 values as [2, 2]', 'SHAPE_MISMATCH', () =>
          backend.upload(Float32Array.from([1, 2, 3]), [2, 2]),
        );
        await expectRotorError('upload of an Int32Array as f32', 'INVALID_ARGUMENT', () =>
          backend.upload(Int32Array.from([1, 2]), [2], 'f32'),
        );
        const tensor = backend.allocate([2, 2]);
        await expectRotorError('view([5]) of 4 elements', 'SHAPE_MISMATCH', () => backend.view(tensor, [5]));
        await expectRotorError('write of 3 values at offset 2 of 4', 'SHAPE_MISMATCH', () =>
          backend.write(tensor, Float32Array.from([1, 2, 3]), 2),
        );
        await expectRotorError('write at offset -1', 'INVALID_ARGUMENT', () =>
          backend.write(tensor, Float32Array.from([1]), -1),
        );
        await expectContents('tensor after rejected writes', backend, tensor, [0, 0, 0, 0]);
        backend.dispose(tensor);
      },
    },
    {
      name: 'rejects: an unknown kernel name (INVALID_ARGUMENT)',
      run: async (backend) => {
        const x = backend.allocate([2]);
        await expectRotorError('run("softmaxx")', 'INVALID_ARGUMENT', () =>
          backend.run('softmaxx' as 'softmax', { x }, {}, x),
        );
        backend.dispose(x);
      },
    },
    {
      name: 'i32 tensors: upload, write and view',
      requires: (c) =>
        c.dtypes.includes('i32') ? undefined : 'needs dtype i32, which capabilities.dtypes does not declare',
      run: async (backend) => {
        const ids = backend.upload(Int32Array.from([1, 2, 3]), [3], 'i32');
        expect('upload i32', ids.dtype === 'i32', `dtype ${ids.dtype}`);
        backend.write(ids, Int32Array.from([7]), 2);
        const view = backend.view(ids, [2]);
        expect(
          'view of i32',
          view.dtype === 'i32' && view.size === 2,
          `dtype ${view.dtype}, size ${view.size}`,
        );
        await expectRotorError('write of a Float32Array into i32', 'INVALID_ARGUMENT', () =>
          backend.write(ids, Float32Array.from([1])),
        );
        backend.dispose(ids);
      },
    },
    {
      name: 'rejects: a dtype the backend does not declare (UNSUPPORTED)',
      requires: (c) =>
        QUANTIZED_OR_HALF.some((d) => !c.dtypes.includes(d)) ? undefined : 'the backend declares every dtype',
      run: async (backend) => {
        const dtype = QUANTIZED_OR_HALF.find((d) => !backend.capabilities.dtypes.includes(d)) as DType;
        await expectRotorError(`allocate([32], "${dtype}")`, 'UNSUPPORTED', () =>
          backend.allocate([32], dtype),
        );
      },
    },
    {
      name: 'rejects: a score-bias type the backend does not declare (UNSUPPORTED)',
      requires: (c) => {
        if (!c.kernels.includes('attention'))
          return 'needs kernel attention, which capabilities.kernels does not declare';
        return c.scoreBias.includes('alibi') && c.scoreBias.includes('t5')
          ? 'the backend declares every score-bias type'
          : undefined;
      },
      run: async (backend) => {
        const q = backend.upload(Float32Array.from([1, 0]), [1, 1, 2]);
        const k = backend.upload(Float32Array.from([1, 0]), [1, 1, 2]);
        const v = backend.upload(Float32Array.from([1, 2]), [1, 1, 2]);
        const out = backend.allocate([1, 1, 2]);
        const scoreBias = backend.capabilities.scoreBias.includes('alibi')
          ? {
              type: 't5' as const,
              numBuckets: 4,
              maxDistance: 8,
              bidirectional: false,
              table: new Float32Array(4),
            }
          : { type: 'alibi' as const, slopes: Float32Array.from([0.5]) };
        const attrs = { numHeads: 1, numKvHeads: 1, headDim: 2, kvOffset: 0, causal: true, scoreBias };
        await expectRotorError(`attention with ${scoreBias.type}`, 'UNSUPPORTED', () =>
          backend.run('attention', { q, k, v }, attrs, out),
        );
        for (const t of [q, k, v, out]) backend.dispose(t);
      },
    },
    {
      name: 'rejects: a rotary layout the backend does not declare (UNSUPPORTED)',
      requires: (c) => {
        if (!c.kernels.includes('applyRotary'))
          return 'needs kernel applyRotary, which capabilities.kernels does not declare';
        return c.rotaryLayouts.includes('interleaved') && c.rotaryLayouts.includes('half-split')
          ? 'the backend declares every rotary layout'
          : undefined;
      },
      run: async (backend) => {
        const x = backend.upload(Float32Array.from([1, 0]), [1, 2]);
        const table = backend.upload(Float32Array.from([1]), [1, 1]);
        const layout = backend.capabilities.rotaryLayouts.includes('interleaved')
          ? 'half-split'
          : 'interleaved';
        const attrs = { numHeads: 1, headDim: 2, rotaryDim: 2, layout, positionOffset: 0 } as const;
        await expectRotorError(`applyRotary with ${layout}`, 'UNSUPPORTED', () =>
          backend.run('applyRotary', { x, cos: table, sin: table }, attrs, x),
        );
        for (const t of [x, table]) backend.dispose(t);
      },
    },
  ];
}
