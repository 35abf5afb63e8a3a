import { isRotorError } from '@rotor/core';

/** A usage mistake (bad flag value, missing option): exit code 2. */
export class UsageError extends Error {}

/** Prints one line for any error and returns the process exit code; never a stack trace. */
export function reportError(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n', 1)[0];
  const code = isRotorError(error) ? ` [${error.code}]` : '';
  process.stderr.write(`rotor: error: ${firstLine}${code}\n`);
  return error instanceof UsageError ? 2 : 1;
}

/** Parses a flag value as a number, or throws a {@link UsageError} naming the flag. */
export function parseNumber(
  flag: string,
  raw: string | undefined,
  { integer = false, min = -Infinity } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(
      `${flag}: expected ${kind}${min > -Infinity ? ` >= ${min}` : ''}, found ${JSON.stringify(raw)}`,
    );
  }
  return value;
}
