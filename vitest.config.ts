import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Maps every workspace package's export subpaths to its TypeScript sources, so tests run
 * against `src/` without a build: `@rotor/x` → `src/index.ts`, `@rotor/x/sub` → `src/sub/index.ts`.
 */
function sourceAliases(): { find: string | RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const folder of readdirSync(join(root, 'packages'))) {
    const dir = join(root, 'packages', folder);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, unknown>;
    };
    for (const subpath of Object.keys(manifest.exports)) {
      if (subpath === './package.json') continue;
      const entry = subpath === '.' ? 'src/index.ts' : `src/${subpath.slice(2)}/index.ts`;
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      aliases.push({
        find: new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`),
        replacement: join(dir, entry),
      });
    }
  }
  return aliases;
}

const alias = [
  ...sourceAliases(),
  { find: /^@rotor-internal\/testing$/, replacement: join(root, 'tools/testing/index.ts') },
];

function project(name: string, dir: string, extra: Record<string, unknown> = {}) {
  return {
    resolve: { alias },
    test: {
      name,
      root: join(root, dir),
      include: ['**/*.test.ts'],
      exclude: ['**/node_modules/**', '**/dist/**'],
      ...extra,
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      ...readdirSync(join(root, 'packages')).map((folder) =>
        project(`@rotor/${folder}`, `packages/${folder}`),
      ),
      ...readdirSync(join(root, 'apps')).map((folder) => project(`@rotor/${folder}`, `apps/${folder}`)),
      project('repository', 'tests', { testTimeout: 300_000, hookTimeout: 300_000 }),
      project('fuzz', 'tools/fuzz', { testTimeout: 3_600_000 }),
    ],
    testTimeout: 60_000,
    reporters: ['default', join(root, 'tools/testing/summary-reporter.ts')],
  },
});
