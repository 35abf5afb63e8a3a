/**
 * Building blocks of every error message in this package's backends: the kernel (or method) name,
 * what was wrong, expected vs found (core `mismatch`).
 */
import { InvalidArgumentError, mismatch, type Shape, ShapeError } from '@rotor/core';

/** An {@link InvalidArgumentError} for a bad value of `what` in `where`. */
export function invalidArgument(
  where: string,
  what: string,
  expected: string,
  found: unknown,
): InvalidArgumentError {
  return new InvalidArgumentError(mismatch(what, where, expected, found), { details: { where, what } });
}

/** A {@link ShapeError} for a tensor `what` in `where` whose shape or size disagrees. */
export function shapeMismatch(where: string, what: string, expected: string, found: unknown): ShapeError {
  return new ShapeError(mismatch(what, where, expected, found), { details: { where, what } });
}

/** A found-value that is a description (printed as is, not quoted like a string value). */
export function described(text: string): { toString(): string } {
  return { toString: () => text };
}

/** `[2, 3]` for messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Requires an integer in `[min, max]`. */
export function requireInteger(
  where: string,
  what: string,
  value: unknown,
  min: number,
  max = Infinity,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw invalidArgument(where, what, `an integer ${range}`, value);
  }
  return value;
}
