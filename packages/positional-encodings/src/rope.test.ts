import type { PositionalEncodingContext, RotaryLayout, RotaryTables } from '@rotor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROPE_MAX_POSITIONS, ropeFactory } from './rope.js';
import { rotaryAngles } from './visualization.js';

const f = Math.fround;

function context(headDim: number, numHeads = 1, maxPositions = 2048): PositionalEncodingContext {
  return { modelDim: headDim * numHeads, numHeads, headDim, maxPositions };
}

function bitsOf(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0);
}

function fromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

/**
 * Rotates one head vector like core's `applyRotary` kernel: pair `i` is `(x[2i], x[2i+1])`
 * (interleaved) or `(x[i], x[i + rotaryDim/2])` (half-split), rotated by the row's cos/sin;
 * dimensions past `rotaryDim` are copied.
 */
function rotate(x: ArrayLike<number>, tables: RotaryTables, row: number, layout: RotaryLayout): Float64Array {
  const half = tables.rotaryDim / 2;
  const out = Float64Array.from(x);
  for (let i = 0; i < half; i++) {
    const [a, b] = layout === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half];
    const c = tables.cos[row * half + i];
    const s = tables.sin[row * half + i];
    out[a] = x[a] * c - x[b] * s;
    out[b] = x[a] * s + x[b] * c;
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
  return sum;
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/**
 * llama.cpp `convert_hf_to_gguf.py` `permute`: `reshape(n_head, 2, d/2, ...).swapaxes(1, 2)` —
 * within each head, GGUF row `2i + j` is HF row `j * d/2 + i`. Applied to the first `rotaryDim`
 * dimensions of each head (the rest are not rotated and stay in place).
 */
function ggufPermute(
  vector: ArrayLike<number>,
  numHeads: number,
  headDim: number,
  rotaryDim: number,
): Float64Array {
  const out = Float64Array.from(vector);
  const half = rotaryDim / 2;
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < half; i++) {
      out[h * headDim + 2 * i] = vector[h * headDim + i];
      out[h * headDim + 2 * i + 1] = vector[h * headDim + i + half];
    }
  }
  return out;
}

const layouts: RotaryLayout[] = ['interleaved', 'half-split'];
const unit = fc.double({ min: -1, max: 1, noNaN: true });

describe('rope: exactness against llama2.c', () => {
  /** The float32 recipe of llama2.c run.c, written out independently of the implementation. */
  function llama2cTables(headSize: number, positions: number[]) {
    const cos: number[] = [];
    const sin: number[] = [];
    const angles: number[] = [];
    for (const pos of positions) {
      for (let headDim = 0; headDim < headSize; headDim += 2) {
        const freq = f(1 / f(f(10000) ** f(headDim / f(headSize))));
        const val = f(pos * freq);
        angles.push(val);
        cos.push(f(Math.cos(val)));
        sin.push(f(Math.sin(val)));
      }
    }
    return { cos, sin, angles };
  }

  it('reproduces the fround recipe bit for bit', () => {
    for (const headSize of [8, 64, 128]) {
      const encoding = ropeFactory.create({ type: 'rope' }, context(headSize));
      for (const position of [0, 1, 7, 100, 511, 4095]) {
        const expected = llama2cTables(headSize, [position]);
        const tables = encoding.rotary!(position, 1);
        expect(Array.from(tables.cos).map(bitsOf)).toEqual(expected.cos.map(bitsOf));
        expect(Array.from(tables.sin).map(bitsOf)).toEqual(expected.sin.map(bitsOf));
        expect(
          Array.from(rotaryAngles(encoding, position + 1).values.subarray(position * (headSize / 2))),
        ).toEqual(expected.angles);
      }
    }
  });

  it('matches values printed by llama2.c compiled with gcc and glibc', () => {
    // Printed by run.c's RoPE loop (gcc -O3, glibc 2.36) as float32 bits:
    // [headSize, pos, pair, freq, val, cosf(val), sinf(val)].
    const printed: Array<[number, number, number, number, number, number, number]> = [
      [8, 1, 0, 0x3f800000, 0x3f800000, 0x3f0a5140, 0x3f576aa4],
      [8, 7, 1, 0x3dcccccd, 0x3f333333, 0x3f43ccb3, 0x3f24eb73],
      [8, 100, 1, 0x3dcccccd, 0x41200000, 0xbf56cd64, 0xbf0b44f8],
      [8, 4095, 3, 0x3a83126f, 0x40830a3e, 0xbf14334f, 0xbf50bd97],
      [64, 100, 5, 0x3e72d423, 0x41bdb5bb, 0x3e1ad664, 0xbf7d0e76],
      [64, 4095, 0, 0x3f800000, 0x457ff000, 0xbd871e6c, 0xbf7f7136],
      [64, 4095, 31, 0x390bd472, 0x3f0bcbb5, 0x3f5ac4ff, 0x3f04f364],
      // glibc's cosf/sinf are not correctly rounded: here its cos (0x3f2be9a0) is 1 ulp above the
      // correctly rounded cos(51.1000023) = 0.671533525..., which we return (0x3f2be99f).
      [8, 511, 1, 0x3dcccccd, 0x424c6667, 0x3f2be9a0, 0x3f3db07b],
      [64, 511, 7, 0x3e088d77, 0x42884930, 0x3f10462f, 0xbf53792c],
    ];
    for (const [headSize, pos, pair, freq, val, cos, sin] of printed) {
      const encoding = ropeFactory.create({ type: 'rope' }, context(headSize));
      const angles = rotaryAngles(encoding, pos + 1).values;
      const half = headSize / 2;
      expect(bitsOf(angles[pos * half + pair])).toBe(val);
      // Row 1 of the angle table is `1 * invFreq`, i.e. run.c's `freq`.
      expect(bitsOf(angles[half + pair])).toBe(freq);
      expect(bitsOf(f(pos * fromBits(freq)))).toBe(val);
      const tables = encoding.rotary!(pos, 1);
      // Angles are bit-identical; cos/sin agree with glibc to within 1 ulp (exactly in most cases).
      expect(Math.abs(bitsOf(tables.cos[pair]) - cos)).toBeLessThanOrEqual(1);
      expect(Math.abs(bitsOf(tables.sin[pair]) - sin)).toBeLessThanOrEqual(1);
    }
  });
});

describe('rope: tables', () => {
  it('defaults to interleaved, base 10000, rotaryDim = headDim, attention factor 1', () => {
    const encoding = ropeFactory.create({ type: 'rope' }, context(64));
    expect(encoding.spec).toEqual({ type: 'rope', layout: 'interleaved', base: 10000, rotaryDim: 64 });
    const tables = encoding.rotary!(3, 5);
    expect(tables.layout).toBe('interleaved');
    expect(tables.rotaryDim).toBe(64);
    expect(tables.start).toBe(3);
    expect(tables.attentionFactor).toBe(1);
    expect(tables.cos.length).toBe(5 * 32);
    expect(tables.sin.length).toBe(5 * 32);
    expect(encoding.maxPositions).toBe(ROPE_MAX_POSITIONS);
  });

  it('uses the same angle for pair i in both layouts', () => {
    const interleaved = ropeFactory.create({ type: 'rope', layout: 'interleaved' }, context(16)).rotary!(
      0,
      50,
    );
    const halfSplit = ropeFactory.create({ type: 'rope', layout: 'half-split' }, context(16)).rotary!(0, 50);
    expect(halfSplit.layout).toBe('half-split');
    expect(Array.from(halfSplit.cos)).toEqual(Array.from(interleaved.cos));
    expect(Array.from(halfSplit.sin)).toEqual(Array.from(interleaved.sin));
  });

  it('serves windows as views of one cache, without recomputing', () => {
    const encoding = ropeFactory.create({ type: 'rope' }, context(8));
    const first = encoding.rotary!(0, 10);
    const second = encoding.rotary!(2, 3);
    expect(second.cos.buffer).toBe(first.cos.buffer);
    expect(second.cos.byteOffset).toBe(2 * 4 * 4);
    // Growing past the cache (64 rows after the first call) doubles it into a new buffer.
    const grown = encoding.rotary!(100, 1);
    expect(grown.cos.buffer).not.toBe(first.cos.buffer);
    expect(grown.cos.buffer.byteLength).toBe(128 * 4 * 4);
  });

  it('supports partial rotary dimensions', () => {
    const encoding = ropeFactory.create({ type: 'rope', rotaryDim: 16 }, context(64));
    const tables = encoding.rotary!(0, 4);
    expect(tables.rotaryDim).toBe(16);
    expect(tables.cos.length).toBe(4 * 8);
    // invFreq uses rotaryDim, not headDim: pair 4 of 8 has 10000^(-8/16) = 0.01.
    expect(rotaryAngles(encoding, 2).values[8 + 4]).toBe(f(0.01));
  });

  it('applies positions [p, p+n) exactly as the matching slice of [0, p+n)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }).map((half) => 2 * half),
        fc.constantFrom(...layouts),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 64 }),
        (headDim, layout, start, count) => {
          const encoding = ropeFactory.create({ type: 'rope', layout }, context(headDim));
          const window = encoding.rotary!(start, count);
          const windowCos = Array.from(window.cos);
          const full = encoding.rotary!(0, start + count);
          const half = headDim / 2;
          expect(windowCos).toEqual(Array.from(full.cos.subarray(start * half)));
          expect(Array.from(window.sin)).toEqual(Array.from(full.sin.subarray(start * half)));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('rope: properties of the rotation', () => {
  it('makes q_m · k_n depend only on m - n, in both layouts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).map((half) => 2 * half),
        fc.constantFrom(...layouts),
        fc.double({ min: 100, max: 1e6, noNaN: true }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.array(unit, { minLength: 64, maxLength: 64 }),
        (headDim, layout, base, m, n, shift, values) => {
          const encoding = ropeFactory.create({ type: 'rope', layout, base }, context(headDim));
          const tables = encoding.rotary!(0, 1001);
          const q = values.slice(0, headDim);
          const k = values.slice(32, 32 + headDim);
          const before = dot(rotate(q, tables, m, layout), rotate(k, tables, n, layout));
          const after = dot(rotate(q, tables, m + shift, layout), rotate(k, tables, n + shift, layout));
          expect(Math.abs(before - after)).toBeLessThanOrEqual(1e-3 * norm(q) * norm(k) + 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('preserves norms', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }).map((half) => 2 * half),
        fc.constantFrom(...layouts),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(unit, { minLength: 64, maxLength: 64 }),
        (headDim, layout, position, values) => {
          const tables = ropeFactory.create({ type: 'rope', layout }, context(headDim)).rotary!(position, 1);
          const x = values.slice(0, headDim);
          expect(Math.abs(norm(rotate(x, tables, 0, layout)) - norm(x))).toBeLessThanOrEqual(
            1e-6 * (norm(x) + 1),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives interleaved and half-split the same scores after the GGUF row permutation of W_q/W_k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).map((half) => 2 * half),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (headDim, numHeads, m, n, partial, seed) => {
          const rotaryDim = partial && headDim >= 4 ? headDim / 2 - ((headDim / 2) % 2) : headDim;
          const modelDim = 8;
          // A deterministic pseudo-random W_q, W_k ([numHeads * headDim, modelDim]) and input x.
          let state = seed || 1;
          const random = () => {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            return state / 2 ** 32 - 0.5;
          };
          const project = (weights: number[][], x: number[]) => weights.map((row) => dot(row, x));
          const wq = Array.from({ length: numHeads * headDim }, () =>
            Array.from({ length: modelDim }, random),
          );
          const wk = Array.from({ length: numHeads * headDim }, () =>
            Array.from({ length: modelDim }, random),
          );
          const xm = Array.from({ length: modelDim }, random);
          const xn = Array.from({ length: modelDim }, random);
          // Permuting the weight rows permutes the projected vectors the same way.
          const permuteRows = (weights: number[][]) => {
            const order = ggufPermute(
              weights.map((_, r) => r),
              numHeads,
              headDim,
              rotaryDim,
            );
            return Array.from(order, (r) => weights[r]);
          };
          const spec = (layout: RotaryLayout) => ({ type: 'rope', layout, rotaryDim });
          const ctx = context(headDim, numHeads);
          const halfSplit = ropeFactory.create(spec('half-split'), ctx).rotary!(0, 2001);
          const interleaved = ropeFactory.create(spec('interleaved'), ctx).rotary!(0, 2001);
          for (let h = 0; h < numHeads; h++) {
            const head = (v: ArrayLike<number>) => Array.from(v).slice(h * headDim, (h + 1) * headDim);
            const qHf = rotate(head(project(wq, xm)), halfSplit, m, 'half-split');
            const kHf = rotate(head(project(wk, xn)), halfSplit, n, 'half-split');
            const qGguf = rotate(head(project(permuteRows(wq), xm)), interleaved, m, 'interleaved');
            const kGguf = rotate(head(project(permuteRows(wk), xn)), interleaved, n, 'interleaved');
            // The rotated vectors are the same numbers, permuted; the scores agree to rounding.
            expect(Array.from(qGguf)).toEqual(Array.from(ggufPermute(qHf, 1, headDim, rotaryDim)));
            expect(Math.abs(dot(qGguf, kGguf) - dot(qHf, kHf))).toBeLessThanOrEqual(1e-12);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('rope: spec validation', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [
      { type: 'rope', layout: 'diagonal' },
      /positionalEncoding\.layout: expected "interleaved" or "half-split", found "diagonal"/,
    ],
    [
      { type: 'rope', base: '10000' },
      /positionalEncoding\.base: expected a finite number > 1 .*found "10000"/,
    ],
    [{ type: 'rope', base: 1 }, /positionalEncoding\.base: .*found 1$/],
    [
      { type: 'rope', rotaryDim: 7 },
      /positionalEncoding\.rotaryDim: expected an even integer >= 2 and <= headDim 64, found 7/,
    ],
    [{ type: 'rope', rotaryDim: 66 }, /positionalEncoding\.rotaryDim: .*found 66/],
    [
      { type: 'rope', theta: 10000 },
      /positionalEncoding\.theta: expected no such field \(allowed: "type", "layout"/,
    ],
    [
      { type: 'rope', scaling: { type: 'cubic' } },
      /positionalEncoding\.scaling\.type: expected one of "linear", "ntk"/,
    ],
    [
      { type: 'rope', scaling: { type: 'linear' } },
      /positionalEncoding\.scaling\.factor: expected a finite number >= 1, found no value/,
    ],
    [
      { type: 'rope', scaling: { type: 'linear', factor: 0.5 } },
      /positionalEncoding\.scaling\.factor: .*found 0\.5/,
    ],
    [
      { type: 'rope', scaling: { type: 'linear', factor: 2, betaFast: 3 } },
      /positionalEncoding\.scaling\.betaFast: expected no such field/,
    ],
    [{ type: 'rope', scaling: [] }, /positionalEncoding\.scaling: expected a JSON object, found \[\]/],
    [
      { type: 'rope', scaling: { type: 'yarn', factor: 4, betaFast: 1, betaSlow: 2 } },
      /positionalEncoding\.scaling\.betaFast: expected a finite number > 2, found 1/,
    ],
    [
      { type: 'rope', scaling: { type: 'llama3', factor: 8, lowFreqFactor: 4, highFreqFactor: 2 } },
      /positionalEncoding\.scaling\.highFreqFactor: expected a finite number > 4, found 2/,
    ],
    [
      { type: 'rope', scaling: { type: 'dynamic-ntk', factor: 2, originalMaxPositions: 1.5 } },
      /positionalEncoding\.scaling\.originalMaxPositions: expected an integer >= 1, found 1\.5/,
    ],
    [
      { type: 'rope', rotaryDim: 2, scaling: { type: 'ntk', factor: 2 } },
      /positionalEncoding\.scaling\.type: .*rotaryDim >= 4/,
    ],
  ];
  for (const [spec, message] of bad) {
    it(`rejects ${JSON.stringify(spec)}`, () => {
      expect(() => ropeFactory.create(spec as { type: string }, context(64))).toThrow(message);
      try {
        ropeFactory.create(spec as { type: string }, context(64));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('INVALID_ARGUMENT');
      }
    });
  }

  it('rejects an odd head width unless rotaryDim is given', () => {
    expect(() => ropeFactory.create({ type: 'rope' }, context(7))).toThrow(
      /positionalEncoding\.rotaryDim: .*headDim 7/,
    );
    expect(ropeFactory.create({ type: 'rope', rotaryDim: 6 }, context(7)).spec.rotaryDim).toBe(6);
  });

  it('treats scaling: null as no scaling', () => {
    expect(ropeFactory.create({ type: 'rope', scaling: null }, context(8)).spec).toEqual({
      type: 'rope',
      layout: 'interleaved',
      base: 10000,
      rotaryDim: 8,
    });
  });

  it('rejects windows past 2^24 positions with ContextOverflowError', () => {
    const encoding = ropeFactory.create({ type: 'rope' }, context(8));
    expect(() => encoding.rotary!(2 ** 24, 1)).toThrow(/positions below 16777216/);
    expect(() => encoding.rotary!(-1, 1)).toThrow(/start: expected an integer >= 0, found -1/);
  });

  it('computes far windows without caching [0, end) when that would be too large', () => {
    const encoding = ropeFactory.create({ type: 'rope' }, context(128));
    const far = encoding.rotary!(2 ** 24 - 2, 2);
    expect(far.cos.length).toBe(2 * 64);
    expect(far.cos.buffer.byteLength).toBe(2 * 64 * 4);
    expect(far.cos[0]).toBe(f(Math.cos(f((2 ** 24 - 2) * 1))));
  });
});
