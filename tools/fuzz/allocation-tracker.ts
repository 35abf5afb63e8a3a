/**
 * Records the largest single buffer allocated while a callback runs, by standing proxies in for
 * the global typed-array and ArrayBuffer constructors (library code looks them up on the global
 * object at call time). The originals are restored afterwards.
 */
const CONSTRUCTORS = [
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

let largest = 0;

function bytesOf(name: string, args: unknown[]): number {
  const first = args[0];
  const perElement =
    name === 'ArrayBuffer'
      ? 1
      : ((globalThis as Record<string, { BYTES_PER_ELEMENT?: number }>)[name]?.BYTES_PER_ELEMENT ?? 1);
  if (typeof first === 'number') return first * perElement;
  if (first !== null && typeof first === 'object' && 'length' in first && !(first instanceof ArrayBuffer)) {
    return Number((first as { length: number }).length) * perElement;
  }
  return 0;
}

/** Installs the proxies once; returns a function measuring the largest allocation of a callback. */
export function installAllocationTracker(): <T>(run: () => T) => {
  result?: T;
  error?: unknown;
  largestBytes: number;
} {
  const target = globalThis as unknown as Record<string, new (...args: unknown[]) => unknown>;
  for (const name of CONSTRUCTORS) {
    const original = target[name];
    target[name] = new Proxy(original, {
      construct(wrapped, args, newTarget) {
        largest = Math.max(largest, bytesOf(name, args));
        return Reflect.construct(wrapped, args, newTarget === target[name] ? wrapped : newTarget);
      },
    });
  }
  return <T>(run: () => T) => {
    largest = 0;
    try {
      return { result: run(), largestBytes: largest };
    } catch (error) {
      return { error, largestBytes: largest };
    }
  };
}
