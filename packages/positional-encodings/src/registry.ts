/**
 * A registry maps spec `type`s to factories. Nothing registers itself on import: start empty with
 * {@link createPositionalEncodingRegistry} or with the builtins via
 * {@link createDefaultPositionalEncodingRegistry}, then add your own with `register`.
 */
import type {
  PositionalEncoding,
  PositionalEncodingContext,
  PositionalEncodingFactory,
  PositionalEncodingSpec,
} from '@rotor/core';
import { alibiFactory } from './alibi.js';
import { learnedFactory } from './learned.js';
import { noneFactory } from './none.js';
import { ropeFactory } from './rope.js';
import { sinusoidalFactory } from './sinusoidal.js';
import { t5RelativeFactory } from './t5-relative.js';
import { FieldReader, fieldError, SPEC_PATH } from './validation.js';

/** Strategies by spec `type`. */
export class PositionalEncodingRegistry {
  private readonly factories = new Map<string, PositionalEncodingFactory>();

  /** Registered types, in registration order. */
  get types(): readonly string[] {
    return [...this.factories.keys()];
  }

  /** True when `type` is registered. */
  has(type: string): boolean {
    return this.factories.has(type);
  }

  /**
   * Adds a factory. Its `type` must be a non-empty string not yet registered
   * (`InvalidArgumentError` otherwise). Returns the registry, for chaining.
   */
  register(factory: PositionalEncodingFactory): this {
    if (typeof factory !== 'object' || factory === null || typeof factory.create !== 'function') {
      throw fieldError(
        'PositionalEncodingRegistry.register',
        'factory',
        'an object with `type` and `create`',
        factory,
      );
    }
    if (typeof factory.type !== 'string' || factory.type.length === 0) {
      throw fieldError(
        'PositionalEncodingRegistry.register',
        'factory.type',
        'a non-empty string',
        factory.type,
      );
    }
    if (this.factories.has(factory.type)) {
      throw fieldError(
        'PositionalEncodingRegistry.register',
        'factory.type',
        'a type not registered yet',
        factory.type,
      );
    }
    this.factories.set(factory.type, factory);
    return this;
  }

  /**
   * Creates a strategy from a plain JSON spec. The spec must be an object whose `type` is
   * registered; the factory then checks the other fields. Every problem is an
   * `InvalidArgumentError` naming the field path (`positionalEncoding.layout`), the value found and
   * what is allowed.
   */
  create(spec: unknown, context: PositionalEncodingContext): PositionalEncoding {
    const reader = new FieldReader('positional encoding', SPEC_PATH, spec);
    const types = this.types;
    if (types.length === 0) {
      throw fieldError(
        'positional encoding',
        `${SPEC_PATH}.type`,
        'a registered type (the registry is empty)',
        reader.raw('type'),
      );
    }
    const type = reader.oneOf('type', types);
    const factory = this.factories.get(type) as PositionalEncodingFactory;
    return factory.create(spec as PositionalEncodingSpec, context);
  }
}

/** A registry, empty unless `factories` are given. */
export function createPositionalEncodingRegistry(
  factories: Iterable<PositionalEncodingFactory> = [],
): PositionalEncodingRegistry {
  const registry = new PositionalEncodingRegistry();
  for (const factory of factories) registry.register(factory);
  return registry;
}

/** The builtin factories: `none`, `sinusoidal`, `learned`, `rope`, `alibi`, `t5`. */
export function builtinPositionalEncodings(): PositionalEncodingFactory[] {
  return [noneFactory, sinusoidalFactory, learnedFactory, ropeFactory, alibiFactory, t5RelativeFactory];
}

/** A registry holding {@link builtinPositionalEncodings}. */
export function createDefaultPositionalEncodingRegistry(): PositionalEncodingRegistry {
  return createPositionalEncodingRegistry(builtinPositionalEncodings());
}
