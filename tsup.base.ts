import type { Options } from 'tsup';

/**
 * The build every published package shares: ESM + CJS + declarations for each entry, with shared
 * chunks split out so subpath entries do not duplicate classes (`instanceof` keeps working).
 * `dtsBanner` is prepended to every declaration file (triple-slash references the bundled
 * declarations would otherwise drop).
 */
export function libraryBuild(entry: Record<string, string>, options: { dtsBanner?: string } = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: options.dtsBanner ? { banner: options.dtsBanner } : true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
  };
}
