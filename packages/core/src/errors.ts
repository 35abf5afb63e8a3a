/**
 * Typed errors shared by every Rotor package.
 *
 * Every error a caller can provoke with bad input is a {@link RotorError} with a stable
 * {@link RotorErrorCode}; messages say what was wrong, where, and expected vs found.
 */

/** Stable machine-readable error codes. Never renamed once published. */
export type RotorErrorCode =
  /** A function argument or option has an invalid value. */
  | 'INVALID_ARGUMENT'
  /** A model, tokenizer or other input file is malformed (truncated, impossible header, size mismatch). */
  | 'INVALID_FORMAT'
  /** Tensor shapes or sizes do not agree. */
  | 'SHAPE_MISMATCH'
  /** The input is valid but asks for something this build does not support. */
  | 'UNSUPPORTED'
  /** A requested backend cannot run here (no WebGPU adapter, no WASM SIMD, ...). */
  | 'BACKEND_UNAVAILABLE'
  /** A sequence would grow past the model's or cache's context length. */
  | 'CONTEXT_OVERFLOW'
  /** The operation was cancelled through an AbortSignal. */
  | 'ABORTED'
  /** A file or URL could not be read. */
  | 'IO_ERROR'
  /** The GPU device was lost while in use. */
  | 'DEVICE_LOST';

/** Options accepted by every {@link RotorError} constructor. */
export interface RotorErrorOptions {
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
  /** Structured facts about the failure (field names, offsets, values) for programmatic use. */
  details?: Record<string, unknown>;
}

/** Base class of every error Rotor throws on purpose. */
export class RotorError extends Error {
  /** Stable code; switch on this rather than on the message. */
  readonly code: RotorErrorCode;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: RotorErrorCode, message: string, options: RotorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** An argument or option has an invalid value. */
export class InvalidArgumentError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A file (model, tokenizer, ...) is malformed. */
export class FormatError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('INVALID_FORMAT', message, options);
  }
}

/** Tensor shapes or sizes disagree. */
export class ShapeError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('SHAPE_MISMATCH', message, options);
  }
}

/** Valid input that this build cannot handle. */
export class UnsupportedError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('UNSUPPORTED', message, options);
  }
}

/** A backend cannot run in this environment. */
export class BackendUnavailableError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** A sequence would exceed the context length. */
export class ContextOverflowError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('CONTEXT_OVERFLOW', message, options);
  }
}

/** An operation was cancelled through an AbortSignal. */
export class AbortedError extends RotorError {
  constructor(message = 'the operation was aborted', options?: RotorErrorOptions) {
    super('ABORTED', message, options);
  }
}

/** A file or URL could not be read. */
export class IoError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('IO_ERROR', message, options);
  }
}

/** The GPU device was lost while in use. */
export class DeviceLostError extends RotorError {
  constructor(message: string, options?: RotorErrorOptions) {
    super('DEVICE_LOST', message, options);
  }
}

/** True when `value` is a {@link RotorError}, optionally with the given code. */
export function isRotorError(value: unknown, code?: RotorErrorCode): value is RotorError {
  return value instanceof RotorError && (code === undefined || value.code === code);
}

/**
 * Formats the standard "what, where, expected vs found" message.
 *
 * @example mismatch('header field n_heads', 'model.bin byte 12', 'a divisor of dim 64', 7)
 *   // "model.bin byte 12: header field n_heads: expected a divisor of dim 64, found 7"
 */
export function mismatch(what: string, where: string, expected: string, found: unknown): string {
  return `${where}: ${what}: expected ${expected}, found ${formatFound(found)}`;
}

function formatFound(found: unknown): string {
  if (typeof found === 'string') return JSON.stringify(found.length > 80 ? `${found.slice(0, 80)}…` : found);
  if (typeof found === 'bigint') return `${found}`;
  if (Array.isArray(found)) return `[${found.join(', ')}]`;
  return String(found);
}
