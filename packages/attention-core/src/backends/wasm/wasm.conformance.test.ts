import { afterAll, describe, it } from 'vitest';
import { runConformanceSuite } from '../../conformance/index.js';
import { wasmBackend } from './wasm-backend.js';

const api = {
  describe,
  it: (name: string, body: (control: { skip(reason: string): void }) => Promise<void>) =>
    it(name, (context) => body({ skip: (reason) => context.skip(reason) })),
  afterAll,
};

describe('single-threaded', () => runConformanceSuite(wasmBackend({ threads: 1 }), api));

// Every matmul and attention call is split across the pool (minParallelWork 0), whatever its size.
describe('2 threads', () => runConformanceSuite(wasmBackend({ threads: 2, minParallelWork: 0 }), api));
