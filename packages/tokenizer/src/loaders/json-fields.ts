/**
 * Typed access to parsed JSON for the `tokenizer.json` stage factories: every wrong type or
 * missing key is a `FormatError` naming the file, the JSON path, what was expected and found.
 */
import { FormatError, mismatch } from '@rotor/core';

/** A parsed JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

/** Where a value sits: the file name and its JSON path (e.g. `pre_tokenizer.pretokenizers[1]`). */
export interface JsonPlace {
  readonly source: string;
  readonly path: string;
}

/** The place of `key` inside the object at `place`. */
export function child(place: JsonPlace, key: string | number): JsonPlace {
  const step = typeof key === 'number' ? `[${key}]` : place.path === '' ? key : `.${key}`;
  return { source: place.source, path: place.path + step };
}

/** Throws the FormatError for a value at `place` that is not what was expected. */
export function jsonFail(place: JsonPlace, expected: string, found: unknown): never {
  throw new FormatError(mismatch(`"${place.path || '(root)'}"`, place.source, expected, found), {
    details: { source: place.source, path: place.path },
  });
}

/** A short description of a JSON value's type for messages. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing (missing key)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** `value` as an object, or a FormatError. */
export function asObject(value: unknown, place: JsonPlace): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    jsonFail(place, 'an object', describeJson(value));
  return value as JsonObject;
}

/** `value` as an array, or a FormatError. */
export function asArray(value: unknown, place: JsonPlace): readonly unknown[] {
  if (!Array.isArray(value)) jsonFail(place, 'an array', describeJson(value));
  return value;
}

/** `value` as a string, or a FormatError. */
export function asString(value: unknown, place: JsonPlace): string {
  if (typeof value !== 'string') jsonFail(place, 'a string', describeJson(value));
  return value;
}

/** `value` as a non-negative integer, or a FormatError. */
export function asIndex(value: unknown, place: JsonPlace): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    jsonFail(place, 'a non-negative integer', describeJson(value));
  return value;
}

/** `value` as a boolean, or a FormatError. */
export function asBoolean(value: unknown, place: JsonPlace): boolean {
  if (typeof value !== 'boolean') jsonFail(place, 'true or false', describeJson(value));
  return value;
}

/** Reads keys of one JSON object with typed getters; absent and `null` count as missing. */
export class JsonFields {
  readonly object: JsonObject;

  constructor(
    value: unknown,
    readonly place: JsonPlace,
  ) {
    this.object = asObject(value, place);
  }

  /** The place of `key`. */
  at(key: string): JsonPlace {
    return child(this.place, key);
  }

  /** The raw value of `key` (undefined when absent or null). */
  raw(key: string): unknown {
    const value = Object.hasOwn(this.object, key) ? this.object[key] : undefined;
    return value === null ? undefined : value;
  }

  /** The raw value of a required key. */
  required(key: string, expected: string): unknown {
    const value = this.raw(key);
    if (value === undefined) jsonFail(this.at(key), expected, describeJson(this.object[key]));
    return value;
  }

  string(key: string, fallback: undefined): string | undefined;
  string(key: string, fallback?: string): string;
  string(key: string, ...fallback: [string | undefined] | []): string | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      if (fallback.length > 0) return fallback[0];
      return jsonFail(this.at(key), 'a string', describeJson(value));
    }
    return asString(value, this.at(key));
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    return value === undefined ? fallback : asBoolean(value, this.at(key));
  }

  index(key: string, fallback: undefined): number | undefined;
  index(key: string, fallback?: number): number;
  index(key: string, ...fallback: [number | undefined] | []): number | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      if (fallback.length > 0) return fallback[0];
      return jsonFail(this.at(key), 'a non-negative integer', describeJson(value));
    }
    return asIndex(value, this.at(key));
  }

  array(key: string): readonly unknown[] {
    return asArray(this.required(key, 'an array'), this.at(key));
  }

  /** The `type` tag of a pipeline stage. */
  type(): string {
    return this.string('type');
  }
}
