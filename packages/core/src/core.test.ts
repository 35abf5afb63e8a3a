import { describe, expect, it } from 'vitest';
import type { Backend, BackendFactory } from './backend.js';
import { BackendRegistry } from './backend-registry.js';
import { ContextOverflowError, FormatError, isRotorError, mismatch, RotorError } from './errors.js';
import { shapeSize, storageLength } from './tensor.js';

describe('errors', () => {
  it('carry a stable code, their class name and the cause', () => {
    const cause = new Error('disk');
    const error = new FormatError('model.bin: truncated', { cause, details: { offset: 12 } });
    expect(error).toBeInstanceOf(RotorError);
    expect(error).toMatchObject({
      code: 'INVALID_FORMAT',
      name: 'FormatError',
      details: { offset: 12 },
      cause,
    });
    expect(isRotorError(error, 'INVALID_FORMAT')).toBe(true);
    expect(isRotorError(error, 'ABORTED')).toBe(false);
    expect(isRotorError(new Error('x'))).toBe(false);
    expect(new ContextOverflowError('full').code).toBe('CONTEXT_OVERFLOW');
  });

  it('format what, where, expected and found', () => {
    expect(mismatch('header field n_heads', 'model.bin byte 12', 'a divisor of dim 64', 7)).toBe(
      'model.bin byte 12: header field n_heads: expected a divisor of dim 64, found 7',
    );
    expect(mismatch('layout', 'spec', '"interleaved"', 'diagonal')).toContain('found "diagonal"');
    expect(mismatch('x', 'y', 'z', 'a'.repeat(200)).length).toBeLessThan(120);
  });
});

describe('tensor sizes', () => {
  it('count elements and storage', () => {
    expect(shapeSize([])).toBe(1);
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(storageLength('f32', 10)).toBe(10);
    expect(storageLength('q8_0', 64)).toBe(68);
    expect(storageLength('q4_0', 33)).toBe(36);
  });
});

describe('BackendRegistry', () => {
  const fake = (name: string, available: boolean, createFails = false): BackendFactory => ({
    name,
    probe: async () => (available ? { available } : { available, reason: `${name} missing` }),
    create: async () => {
      if (createFails) throw new Error(`${name} failed to start`);
      return { name } as Backend;
    },
  });

  it('auto picks the first available backend and records why others were skipped', async () => {
    const registry = new BackendRegistry()
      .register(fake('webgpu', false))
      .register(fake('wasm', true, true))
      .register(fake('reference', true));
    const selection = await registry.select('auto');
    expect(selection.backend.name).toBe('reference');
    expect(selection.steps).toEqual([
      { name: 'webgpu', chosen: false, reason: 'webgpu missing' },
      { name: 'wasm', chosen: false, reason: 'wasm failed to start' },
      { name: 'reference', chosen: true },
    ]);
  });

  it('rejects unknown, unavailable and duplicate backends with typed errors', async () => {
    const registry = new BackendRegistry().register(fake('webgpu', false));
    await expect(registry.select('cuda')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(registry.select('webgpu')).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: /webgpu missing/,
    });
    await expect(registry.select('auto')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(() => registry.register(fake('webgpu', true))).toThrow(/already registered/);
  });
});
