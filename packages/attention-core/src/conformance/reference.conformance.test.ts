import { afterAll, describe, it } from 'vitest';
import { referenceBackend } from '../index.js';
import { runConformanceSuite } from './index.js';

runConformanceSuite(referenceBackend(), {
  describe,
  it: (name, body) => it(name, (context) => body({ skip: (reason) => context.skip(reason) })),
  afterAll,
});
