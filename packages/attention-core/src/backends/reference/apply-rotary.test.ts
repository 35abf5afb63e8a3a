import type { RotaryLayout } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../../index.js';

const backend = createReferenceBackend();

/** RoPE tables for positions 0..positions-1: pair i turns by pos * base^(-2i/rotaryDim). */
function tables(positions: number, rotaryDim: number) {
  const half = rotaryDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * 10000 ** ((-2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos: backend.upload(cos, [positions, half]), sin: backend.upload(sin, [positions, half]) };
}

async function rotate(
  x: Float32Array,
  headDim: number,
  layout: RotaryLayout,
  position: number,
  rotaryDim = headDim,
) {
  const input = backend.upload(x, [1, x.length]);
  const out = backend.allocate([1, x.length]);
  const { cos, sin } = tables(position + 1, rotaryDim);
  backend.run(
    'applyRotary',
    { x: input, cos, sin },
    { numHeads: x.length / headDim, headDim, rotaryDim, layout, positionOffset: position },
    out,
  );
  return backend.read(out);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i], 0);

const vector = (length: number) =>
  fc.float32Array({ minLength: length, maxLength: length, min: -2, max: 2, noNaN: true });

describe('reference applyRotary', () => {
  for (const layout of ['interleaved', 'half-split'] as const) {
    it(`${layout}: q·k after rotation depends only on the distance between positions`, async () => {
      await fc.assert(
        fc.asyncProperty(
          vector(8),
          vector(8),
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 1, max: 30 }),
          async (q, k, m, n, shift) => {
            const near = dot(await rotate(q, 8, layout, m), await rotate(k, 8, layout, n));
            const far = dot(await rotate(q, 8, layout, m + shift), await rotate(k, 8, layout, n + shift));
            expect(Math.abs(near - far)).toBeLessThan(1e-4);
          },
        ),
        { numRuns: 60 },
      );
    });

    it(`${layout}: preserves each head's norm`, async () => {
      await fc.assert(
        fc.asyncProperty(vector(12), fc.integer({ min: 0, max: 100 }), async (x, position) => {
          const rotated = await rotate(x, 6, layout, position);
          for (let h = 0; h < 2; h++) {
            const head = (v: Float32Array) => v.subarray(h * 6, h * 6 + 6);
            expect(Math.abs(dot(head(rotated), head(rotated)) - dot(head(x), head(x)))).toBeLessThan(1e-4);
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('half-split equals interleaved on vectors whose pairs are laid out accordingly', async () => {
    await fc.assert(
      fc.asyncProperty(vector(10), fc.integer({ min: 0, max: 50 }), async (x, position) => {
        // interleaved pair i sits at (2i, 2i+1); half-split pair i at (i, i + 5).
        const toHalfSplit = (v: Float32Array) => {
          const out = new Float32Array(10);
          for (let i = 0; i < 5; i++) {
            out[i] = v[2 * i];
            out[i + 5] = v[2 * i + 1];
          }
          return out;
        };
        const interleaved = await rotate(x, 10, 'interleaved', position);
        const halfSplit = await rotate(toHalfSplit(x), 10, 'half-split', position);
        expect(halfSplit).toEqual(toHalfSplit(interleaved));
      }),
      { numRuns: 60 },
    );
  });

  it('copies dimensions past rotaryDim unchanged', async () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const rotated = await rotate(x, 6, 'half-split', 3, 4);
    expect([...rotated.subarray(4)]).toEqual([5, 6]);
  });
});
