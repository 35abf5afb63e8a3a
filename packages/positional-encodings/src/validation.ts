/**
 * Shared checks for specs, contexts and position windows. Every message names the field path
 * (`positionalEncoding.layout`), the expectation and the value found.
 */
import {
  ContextOverflowError,
  InvalidArgumentError,
  type PositionalEncodingContext,
  type PositionalEncodingSpec,
} from '@rotor/core';

/** Path of the spec inside a model config; field paths in messages start with it. */
export const SPEC_PATH = 'positionalEncoding';

/**
 * Largest number of float32 values one table may hold (1 GiB). Requests beyond it fail with a
 * typed error instead of a `RangeError` from the allocator.
 */
export const MAX_TABLE_ELEMENTS = 2 ** 28;

/** Formats a found value the way `mismatch()` does, plus objects, arrays and absent values. */
export function formatFound(value: unknown): string {
  if (value === undefined) return 'no value';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'object' && value !== null) {
    let text: string;
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
    return text.length > 80 ? `${text.slice(0, 80)}…` : text;
  }
  return String(value);
}

/** Throws the standard field error: `<where>: <path>: expected <expected>, found <found>`. */
export function fieldError(
  where: string,
  path: string,
  expected: string,
  found: unknown,
): InvalidArgumentError {
  return new InvalidArgumentError(`${where}: ${path}: expected ${expected}, found ${formatFound(found)}`, {
    details: { field: path, expected, found },
  });
}

/** Constraints of a numeric field. */
export interface NumberRule {
  /** Value used when the field is absent; the field is required when omitted. */
  readonly default?: number;
  readonly integer?: boolean;
  readonly even?: boolean;
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly greaterThan?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Describes `max` in messages, e.g. `headDim 64`. */
  readonly maxLabel?: string;
}

function describeNumberRule(rule: NumberRule): string {
  let text = rule.even ? 'an even integer' : rule.integer ? 'an integer' : 'a finite number';
  const bounds: string[] = [];
  if (rule.min !== undefined) bounds.push(`>= ${rule.min}`);
  if (rule.greaterThan !== undefined) bounds.push(`> ${rule.greaterThan}`);
  if (rule.max !== undefined) bounds.push(`<= ${rule.maxLabel ?? rule.max}`);
  if (bounds.length > 0) text += ` ${bounds.join(' and ')}`;
  return text;
}

/** Reads the fields of one JSON object (a spec or a nested option object), rejecting unknown ones. */
export class FieldReader {
  private readonly record: Readonly<Record<string, unknown>>;

  /**
   * @param where Prefix of messages, e.g. `positional encoding "rope"`.
   * @param path Path of this object, e.g. `positionalEncoding.scaling`.
   * @param value The object to read.
   * @param allowed Every field it may hold; when omitted, call {@link rejectUnknown} once known.
   */
  constructor(
    private readonly where: string,
    private readonly path: string,
    value: unknown,
    allowed?: readonly string[],
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw fieldError(where, path, 'a JSON object', value);
    }
    this.record = value as Record<string, unknown>;
    if (allowed !== undefined) this.rejectUnknown(allowed);
  }

  /** Throws on the first field not in `allowed` (fields set to `undefined` count as absent). */
  rejectUnknown(allowed: readonly string[]): void {
    for (const key of Object.keys(this.record)) {
      if (!allowed.includes(key) && this.record[key] !== undefined) {
        this.fail(key, `no such field (allowed: ${allowed.map((name) => `"${name}"`).join(', ')})`);
      }
    }
  }

  /** Path of a field, for messages. */
  fieldPath(name: string): string {
    return `${this.path}.${name}`;
  }

  /** The raw value of a field (undefined when absent). */
  raw(name: string): unknown {
    return this.record[name];
  }

  /** Throws a field error for `name`. */
  fail(name: string, expected: string, found: unknown = this.record[name]): never {
    throw fieldError(this.where, this.fieldPath(name), expected, found);
  }

  /** A numeric field checked against `rule`. */
  number(name: string, rule: NumberRule = {}): number {
    const value = this.record[name];
    if (value === undefined && rule.default !== undefined) return rule.default;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!(rule.integer || rule.even) || Number.isSafeInteger(value)) &&
      (!rule.even || value % 2 === 0) &&
      (rule.min === undefined || value >= rule.min) &&
      (rule.greaterThan === undefined || value > rule.greaterThan) &&
      (rule.max === undefined || value <= rule.max);
    if (!ok) this.fail(name, describeNumberRule(rule));
    return value as number;
  }

  /** A field whose value is one of `allowed`. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const value = this.record[name];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      const list = allowed.map((option) => `"${option}"`);
      const expected = list.length <= 2 ? list.join(' or ') : `one of ${list.join(', ')}`;
      this.fail(name, expected);
    }
    return value as T;
  }

  /** A non-empty string field. */
  string(name: string, fallback: string): string {
    const value = this.record[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) this.fail(name, 'a non-empty string');
    return value as string;
  }

  /** A boolean field. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.record[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(name, 'true or false');
    return value as boolean;
  }
}

/** Opens a strategy spec: checks it is an object of the right type with only `allowed` fields. */
export function readSpec(
  spec: PositionalEncodingSpec,
  type: string,
  allowed: readonly string[],
): FieldReader {
  const reader = new FieldReader(`positional encoding "${type}"`, SPEC_PATH, spec, ['type', ...allowed]);
  reader.oneOf('type', [type]);
  return reader;
}

/** Checks the dimensions of a context; every builtin strategy calls it before reading anything else. */
export function checkContext(type: string, context: PositionalEncodingContext): void {
  const where = `positional encoding "${type}"`;
  if (typeof context !== 'object' || context === null)
    throw fieldError(where, 'context', 'an object', context);
  for (const name of ['modelDim', 'numHeads', 'headDim', 'maxPositions'] as const) {
    const value = context[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw fieldError(where, `context.${name}`, 'an integer >= 1', value);
    }
  }
  if (context.weight !== undefined && typeof context.weight !== 'function') {
    throw fieldError(where, 'context.weight', 'a function or nothing', context.weight);
  }
}

/**
 * Checks a window `[start, start + count)` of positions: non-negative integers, ending at or
 * before `maxPositions` (else `ContextOverflowError`), and a table of `count * width` values
 * (`width` values per position) within {@link MAX_TABLE_ELEMENTS}.
 */
export function checkWindow(
  type: string,
  start: number,
  count: number,
  maxPositions: number,
  width: number,
): void {
  const where = `positional encoding "${type}"`;
  if (!Number.isSafeInteger(start) || start < 0) throw fieldError(where, 'start', 'an integer >= 0', start);
  if (!Number.isSafeInteger(count) || count < 0) throw fieldError(where, 'count', 'an integer >= 0', count);
  if (start + count > maxPositions) {
    throw new ContextOverflowError(
      `${where}: positions [${start}, ${start + count}): expected positions below ${maxPositions}, the most this encoding covers, found a window ending at ${start + count}`,
      { details: { start, count, maxPositions } },
    );
  }
  if (count * width > MAX_TABLE_ELEMENTS) {
    throw fieldError(
      where,
      'count',
      `a table of at most ${MAX_TABLE_ELEMENTS} values (${Math.floor(MAX_TABLE_ELEMENTS / width)} positions of ${width})`,
      count,
    );
  }
}

/**
 * Fetches a float32 weight through `context.weight`; a missing or non-float32 weight is an
 * `InvalidArgumentError` on the spec's `weight` field. `shape` describes the expected shape.
 */
export function requireWeight(
  type: string,
  context: PositionalEncodingContext,
  name: string,
  shape: string,
): Float32Array {
  const table = context.weight?.(name);
  if (table instanceof Float32Array) return table;
  const found =
    table === undefined ? 'no such weight' : `a ${Object.prototype.toString.call(table).slice(8, -1)}`;
  throw new InvalidArgumentError(
    `positional encoding "${type}": ${SPEC_PATH}.weight "${name}": expected the name of a float32 weight ${shape} the model provides, found ${found}`,
    { details: { field: `${SPEC_PATH}.weight`, weight: name } },
  );
}
