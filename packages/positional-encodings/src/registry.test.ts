import type { PositionalEncoding, PositionalEncodingFactory } from '@rotor/core';
import { describe, expect, it } from 'vitest';
import {
  builtinPositionalEncodings,
  createDefaultPositionalEncodingRegistry,
  createPositionalEncodingRegistry,
} from './index.js';

const context = { modelDim: 16, numHeads: 2, headDim: 8, maxPositions: 64 };

/** A third-party strategy: a constant additive offset per position, defined outside the package. */
const rampFactory: PositionalEncodingFactory = {
  type: 'ramp',
  create(spec, ctx): PositionalEncoding {
    const slope = typeof spec.slope === 'number' ? spec.slope : 0.01;
    return {
      type: 'ramp',
      spec: { type: 'ramp', slope },
      hooks: { additive: true, rotary: false, scoreBias: false },
      maxPositions: Number.POSITIVE_INFINITY,
      additive(start, count) {
        const out = new Float32Array(count * ctx.modelDim);
        for (let row = 0; row < count; row++)
          out.fill(slope * (start + row), row * ctx.modelDim, (row + 1) * ctx.modelDim);
        return out;
      },
    };
  },
};

describe('registry', () => {
  it('starts empty and registers nothing on import', () => {
    const registry = createPositionalEncodingRegistry();
    expect(registry.types).toEqual([]);
    expect(() => registry.create({ type: 'rope' }, context)).toThrow(
      /positionalEncoding\.type: expected a registered type \(the registry is empty\), found "rope"/,
    );
  });

  it('holds the builtins on request', () => {
    expect(createDefaultPositionalEncodingRegistry().types).toEqual([
      'none',
      'sinusoidal',
      'learned',
      'rope',
      'alibi',
      't5-relative',
    ]);
    expect(builtinPositionalEncodings().map((factory) => factory.type)).toEqual([
      'none',
      'sinusoidal',
      'learned',
      'rope',
      'alibi',
      't5-relative',
    ]);
    const rope = createDefaultPositionalEncodingRegistry().create(
      { type: 'rope', layout: 'half-split' },
      context,
    );
    expect(rope.rotary!(0, 2).layout).toBe('half-split');
  });

  it('accepts a third-party strategy registered from outside', () => {
    const registry = createDefaultPositionalEncodingRegistry().register(rampFactory);
    expect(registry.has('ramp')).toBe(true);
    const encoding = registry.create({ type: 'ramp', slope: 0.5 }, context);
    expect(Array.from(encoding.additive!(3, 1))).toEqual(new Array(16).fill(1.5));
  });

  it('refuses duplicate and malformed factories', () => {
    const registry = createDefaultPositionalEncodingRegistry();
    expect(() => registry.register(builtinPositionalEncodings()[3])).toThrow(
      /factory\.type: expected a type not registered yet, found "rope"/,
    );
    expect(() => registry.register({ type: '', create: rampFactory.create })).toThrow(
      /factory\.type: expected a non-empty string, found ""/,
    );
    expect(() => registry.register({ type: 'x' } as unknown as PositionalEncodingFactory)).toThrow(
      /factory: expected an object with `type` and `create`/,
    );
  });

  describe('validates plain JSON specs', () => {
    const registry = createDefaultPositionalEncodingRegistry();
    const cases: Array<[unknown, RegExp]> = [
      [null, /positionalEncoding: expected a JSON object, found null/],
      ['rope', /positionalEncoding: expected a JSON object, found "rope"/],
      [
        {},
        /positionalEncoding\.type: expected one of "none", "sinusoidal", "learned", "rope", "alibi", "t5-relative", found no value/,
      ],
      [{ type: 'xpos' }, /positionalEncoding\.type: expected one of .*"t5-relative", found "xpos"/],
      [
        { type: 'rope', layout: 'diagonal' },
        /positionalEncoding\.layout: expected "interleaved" or "half-split", found "diagonal"/,
      ],
      [
        { type: 'rope', base: Number.NaN },
        /positionalEncoding\.base: expected a finite number > 1 .*found NaN/,
      ],
      [
        { type: 'none', extra: { a: 1 } },
        /positionalEncoding\.extra: expected no such field \(allowed: "type"\), found \{"a":1\}/,
      ],
      [
        { type: 'sinusoidal', base: [1] },
        /positionalEncoding\.base: expected a finite number > 1, found \[1\]/,
      ],
      [{ type: 'alibi', maxBias: true }, /positionalEncoding\.maxBias: .*found true/],
      [
        { type: 't5-relative', numBuckets: 1 },
        /positionalEncoding\.numBuckets: expected an integer >= 2, found 1/,
      ],
      [
        { type: 'rope', scaling: { type: 'yarn', factor: 4, originalMaxPositions: -3 } },
        /positionalEncoding\.scaling\.originalMaxPositions: expected an integer >= 1, found -3/,
      ],
    ];
    for (const [spec, message] of cases) {
      it(`rejects ${JSON.stringify(spec) ?? String(spec)}`, () => {
        expect(() => registry.create(spec, context)).toThrow(message);
        let code: unknown;
        try {
          registry.create(spec, context);
        } catch (error) {
          code = (error as { code?: unknown }).code;
        }
        expect(code).toBe('INVALID_ARGUMENT');
      });
    }

    it('rejects bad contexts', () => {
      expect(() => registry.create({ type: 'rope' }, { ...context, headDim: 0 })).toThrow(
        /context\.headDim: expected an integer >= 1, found 0/,
      );
    });

    it('ignores fields set to undefined and fills in defaults', () => {
      const encoding = registry.create({ type: 'rope', scaling: undefined, base: undefined }, context);
      expect(encoding.spec).toEqual({ type: 'rope', layout: 'interleaved', base: 10000, rotaryDim: 8 });
    });
  });
});
