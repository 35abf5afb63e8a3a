import type { Options } from 'tsup';

/**
 * The build every published package shares: ESM + CJS + declarations for each entry, with shared
 * chunks split out so subpath entries do not duplicate classes (`instanceof` keeps working).
 */
export function libraryBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
  };
}
