import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
