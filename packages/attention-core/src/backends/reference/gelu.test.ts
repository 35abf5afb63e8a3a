import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../../index.js';
import { erfc } from './gelu.js';

/** erfc to 17 digits (mpmath, 40-digit arithmetic). */
const ERFC: [number, number][] = [
  [0, 1],
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028513],
  [1.9, 0.0072095707647425325],
  [2, 0.004677734981047266],
  [2.5, 0.0004069520174449589],
  [3, 2.209049699858544e-5],
  [5, 1.5374597944280349e-12],
  [10, 2.088487583762545e-45],
  [26, 5.663192408856143e-296],
  [-1, 1.8427007929497148],
  [-3, 1.9999779095030015],
];

describe('reference gelu', () => {
  it('computes erfc to about 1e-13 relative, including the far tail', () => {
    for (const [z, value] of ERFC) {
      expect(Math.abs(erfc(z) - value) / value, `erfc(${z})`).toBeLessThan(1e-13);
    }
    expect(erfc(40)).toBe(0);
    expect(erfc(Number.NaN)).toBeNaN();
  });

  it('exact gelu satisfies gelu(x) - gelu(-x) = x', async () => {
    const backend = createReferenceBackend();
    await fc.assert(
      fc.asyncProperty(
        fc.float32Array({ minLength: 1, maxLength: 40, min: -20, max: 20, noNaN: true }),
        async (values) => {
          const x = backend.upload(values, [values.length]);
          const negated = backend.upload(
            values.map((v) => -v),
            [values.length],
          );
          const a = backend.allocate([values.length]);
          const b = backend.allocate([values.length]);
          backend.run('gelu', { x }, { approximate: 'none' }, a);
          backend.run('gelu', { x: negated }, { approximate: 'none' }, b);
          const [ga, gb] = [await backend.read(a), await backend.read(b)];
          for (let i = 0; i < values.length; i++) {
            expect(Math.abs(ga[i] - gb[i] - values[i])).toBeLessThanOrEqual(
              4e-7 * Math.max(1, Math.abs(values[i])),
            );
          }
        },
      ),
    );
  });
});
