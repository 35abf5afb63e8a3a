import { InvalidArgumentError, KERNEL_NAMES, RotorError, ShapeError, UnsupportedError } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import { createDefaultBackendRegistry, createReferenceBackend, referenceBackend } from '../../index.js';

describe('reference backend', () => {
  it('declares every kernel, f32, i32, f16, q8_0 and q4_0, both score biases and rotary layouts, one thread, exact tolerance', () => {
    const backend = createReferenceBackend();
    expect(backend.name).toBe('reference');
    expect(backend.capabilities).toMatchObject({
      kernels: KERNEL_NAMES,
      dtypes: ['f32', 'i32', 'f16', 'q8_0', 'q4_0'],
      scoreBias: ['alibi', 't5'],
      rotaryLayouts: ['interleaved', 'half-split'],
      threads: 1,
      f32Tolerance: 0,
    });
  });

  it("probes available and is the default registry's last fallback", async () => {
    expect(await referenceBackend().probe()).toEqual({ available: true });
    const registry = createDefaultBackendRegistry();
    expect(registry.names.at(-1)).toBe('reference');
    const { backend, steps } = await registry.select('reference');
    expect(backend.name).toBe('reference');
    expect(steps).toEqual([{ name: 'reference', chosen: true }]);
    backend.destroy();
  });

  it('rejects handles of another reference instance', async () => {
    const a = createReferenceBackend();
    const b = createReferenceBackend();
    const tensor = a.upload(Float32Array.from([1, 2]), [2]);
    await expect(b.read(tensor)).rejects.toThrow(/another reference backend instance/);
    expect(() => b.run('silu', { x: tensor }, {}, b.allocate([2]))).toThrow(InvalidArgumentError);
  });

  it('reads into the first elements of a caller buffer of at least the tensor size', async () => {
    const backend = createReferenceBackend();
    const tensor = backend.upload(Float32Array.from([1, 2, 3]), [3]);
    const target = new Float32Array(4).fill(9);
    expect(await backend.read(tensor, target)).toBe(target);
    expect([...target]).toEqual([1, 2, 3, 9]);
    await expect(backend.read(tensor, new Float32Array(2))).rejects.toThrow(
      "reference read: target: expected a Float32Array of at least 3 elements (the tensor's size), found a Float32Array of 2",
    );
  });

  it('is unusable after destroy', async () => {
    const backend = createReferenceBackend();
    const tensor = backend.allocate([2]);
    backend.destroy();
    expect(() => backend.allocate([2])).toThrow(/reference allocate: backend: expected a live backend/);
    expect(() => backend.run('silu', { x: tensor }, {}, tensor)).toThrow(InvalidArgumentError);
    await expect(backend.read(tensor)).rejects.toThrow(InvalidArgumentError);
  });

  it('stores f16 tensors as half bits: checked uploads, views, zero allocations; f32-only read and write', async () => {
    const backend = createReferenceBackend();
    expect(() => backend.upload(new Float32Array(3) as never, [3], 'f16')).toThrow(
      'reference upload: data: expected a Uint16Array of float16 bits (dtype f16), found Float32Array',
    );
    expect(() => backend.upload(new Uint16Array(5), [2, 3], 'f16')).toThrow(ShapeError);
    expect(() => backend.allocate([2 ** 30 + 1], 'f16')).toThrow(UnsupportedError);
    // w = [[1, -2, 0.5], [2^-24, 65504, -0]], viewed as its first row
    const w = backend.upload(
      Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x8000]),
      [2, 3],
      'f16',
    );
    expect(w.dtype).toBe('f16');
    const x = backend.upload(Float32Array.from([2 ** 24, 1, 2]), [1, 3]);
    const out = backend.allocate([1, 2]);
    backend.run('matmul', { x, w }, {}, out);
    expect([...(await backend.read(out))]).toEqual([2 ** 24 - 2 + 1, 1 + 65504]);
    const firstRow = backend.view(w, [1, 3]);
    expect(firstRow.dtype).toBe('f16');
    const one = backend.allocate([1, 1]);
    backend.run('matmul', { x, w: firstRow }, {}, one);
    expect([...(await backend.read(one))]).toEqual([2 ** 24 - 1]);
    const zeros = backend.allocate([2, 3], 'f16');
    backend.run('matmul', { x, w: zeros, bias: backend.upload(Float32Array.from([1, 2]), [2]) }, {}, out);
    expect([...(await backend.read(out))]).toEqual([1, 2]);
    expect(() => backend.write(w, new Float32Array(1))).toThrow(
      /tensor dtype: expected f32 or i32, found "f16"/,
    );
    await expect(backend.read(w)).rejects.toThrow(/reference read: tensor dtype: expected f32, found "f16"/);
    // Only matmul's weight may be f16.
    expect(() => backend.run('matmul', { x: w, w }, {}, out)).toThrow(/inputs\.x dtype: expected f32/);
    expect(() => backend.run('silu', { x: w }, {}, out)).toThrow(InvalidArgumentError);
    expect(() => backend.run('embedding', { table: w }, { ids: [0] }, one)).toThrow(InvalidArgumentError);
  });

  it('rejects unknown dtypes, oversized tensors and i32 reads', async () => {
    const backend = createReferenceBackend();
    expect(() => backend.allocate([2], 'f64' as 'f32')).toThrow(InvalidArgumentError);
    expect(() => backend.allocate([2 ** 20, 2 ** 10])).toThrow(/maxTensorBytes/);
    expect(() => backend.allocate('3' as unknown as number[])).toThrow(InvalidArgumentError);
    const ids = backend.upload(Int32Array.from([1, 2]), [2], 'i32');
    await expect(backend.read(ids)).rejects.toThrow(
      /reference read: tensor dtype: expected f32, found "i32"/,
    );
  });

  it('treats a missing attrs object as empty and rejects non-object inputs', () => {
    const backend = createReferenceBackend();
    const x = backend.upload(Float32Array.from([0]), [1, 1]);
    backend.run('silu', { x }, undefined as never, x);
    expect(() => backend.run('silu', null as never, {}, x)).toThrow(/silu: inputs: expected an object/);
    const weight = backend.upload(Float32Array.from([1]), [1]);
    expect(() => backend.run('rmsNorm', { x, weight }, undefined as never, x)).toThrow(
      /rmsNorm: attrs.epsilon: expected a finite number >= 0, found undefined/,
    );
    expect(() => backend.run('silu', {} as never, {}, x)).toThrow(/silu: inputs.x: expected a tensor handle/);
  });

  it('words errors as "kernel: what: expected …, found …" with typed classes and details', () => {
    const backend = createReferenceBackend();
    const x = backend.allocate([2, 3]);
    const w = backend.allocate([4, 5]);
    let error: unknown;
    try {
      backend.run('matmul', { x, w }, {}, backend.allocate([2, 4]));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ShapeError);
    expect(error).toBeInstanceOf(RotorError);
    expect((error as ShapeError).message).toBe(
      'matmul: inputs.w shape: expected [N, 3] (K = width of x), found [4, 5]',
    );
    expect((error as ShapeError).details).toEqual({ where: 'matmul', what: 'inputs.w shape' });
  });

  it('rejects out partly overlapping an input: a broadcast b that is a view of out', () => {
    const backend = createReferenceBackend();
    const out = backend.upload(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const b = backend.view(out, [2]);
    const a = backend.upload(Float32Array.from([1, 1, 1, 1]), [2, 2]);
    expect(() => backend.run('add', { a, b }, {}, out)).toThrow(
      'add: out: expected memory disjoint from inputs.b, found a tensor overlapping inputs.b',
    );
  });

  it('names the exact failing element of embedding ids and attention validLengths', () => {
    const backend = createReferenceBackend();
    const table = backend.allocate([4, 2]);
    expect(() => backend.run('embedding', { table }, { ids: [0, 9] }, backend.allocate([2, 2]))).toThrow(
      'embedding: attrs.ids[1]: expected an integer in [0, 4) (V = rows of table), found 9',
    );
    const q = backend.allocate([2, 1, 4]);
    const kv = backend.allocate([2, 3, 4]);
    const attrs = { numHeads: 1, numKvHeads: 1, headDim: 4, kvOffset: 0, causal: true };
    expect(() =>
      backend.run('attention', { q, k: kv, v: kv }, { ...attrs, validLengths: [1, 4] }, q),
    ).toThrow('attention: attrs.validLengths[1]: expected an integer in [0, 3], found 4');
    expect(() => backend.run('attention', { q, k: kv, v: kv }, { ...attrs, kvOffset: 3 }, q)).toThrow(
      /attention: attrs.kvOffset: expected at most S - T = 3 - 1 = 2/,
    );
  });
});
