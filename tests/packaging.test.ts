/**
 * Every published package, packed as `pnpm pack` would publish it, installs into a fresh project
 * outside the workspace and loads from Node ESM and CJS, with its types, on every export subpath.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from '@rotor-internal/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Manifest {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
}

const packagesDir = join(repositoryRoot, 'packages');
const packages = readdirSync(packagesDir).map((folder) => ({
  folder,
  manifest: JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8')) as Manifest,
}));
const specifiers = packages.flatMap(({ manifest }) =>
  Object.keys(manifest.exports)
    .filter((s) => s !== './package.json')
    .map((s) => (s === '.' ? manifest.name : `${manifest.name}/${s.slice(2)}`)),
);

let project = '';
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('packed packages', () => {
  beforeAll(() => {
    for (const { folder } of packages) {
      if (!existsSync(join(packagesDir, folder, 'dist'))) {
        throw new Error(`packages/${folder}/dist is missing: run \`pnpm build\` first`);
      }
    }
    project = mkdtempSync(join(tmpdir(), 'rotor-packed-'));
    const tarballs: Record<string, string> = {};
    for (const { folder, manifest } of packages) {
      const output = run('pnpm', ['pack', '--pack-destination', project], join(packagesDir, folder))
        .trim()
        .split('\n');
      tarballs[manifest.name] = `file:${output.at(-1)!.trim()}`;
    }
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        { name: 'rotor-packed-consumer', private: true, dependencies: tarballs, overrides: tarballs },
        null,
        2,
      ),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], project);
  });

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('lists an explicit exports map, ESM + CJS + types, and no side effects', () => {
    for (const { manifest } of packages) {
      expect(manifest).toMatchObject({ sideEffects: false, type: 'module' });
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (subpath === './package.json') continue;
        expect(target, `${manifest.name} ${subpath}`).toMatchObject({
          import: { types: expect.stringMatching(/\.d\.ts$/), default: expect.stringMatching(/\.js$/) },
          require: { types: expect.stringMatching(/\.d\.cts$/), default: expect.stringMatching(/\.cjs$/) },
        });
      }
    }
  });

  it('rewrites workspace dependencies to versions', () => {
    const packed = JSON.parse(
      readFileSync(join(project, 'node_modules/@rotor/decoder-model/package.json'), 'utf8'),
    ) as Manifest;
    for (const range of Object.values(packed.dependencies ?? {})) expect(range).not.toMatch(/workspace:/);
  });

  it('imports every entry point from ESM', () => {
    const script = specifiers
      .map(
        (s, i) =>
          `import * as m${i} from '${s}'; if (Object.keys(m${i}).length === 0) throw new Error('${s} exports nothing');`,
      )
      .join('\n');
    writeFileSync(join(project, 'esm.mjs'), `${script}\nconsole.log('esm ok');\n`);
    expect(run('node', ['esm.mjs'], project)).toContain('esm ok');
  });

  it('requires every entry point from CJS', () => {
    const script = specifiers
      .map((s) => `if (Object.keys(require('${s}')).length === 0) throw new Error('${s} exports nothing');`)
      .join('\n');
    writeFileSync(join(project, 'cjs.cjs'), `${script}\nconsole.log('cjs ok');\n`);
    expect(run('node', ['cjs.cjs'], project)).toContain('cjs ok');
  });

  it('type-checks imports from ESM and CJS consumers (moduleResolution nodenext)', () => {
    const imports = specifiers
      .map((s, i) => `import * as m${i} from '${s}';\nexport const k${i} = Object.keys(m${i});`)
      .join('\n');
    writeFileSync(
      join(project, 'typed.mts'),
      `${imports}\nimport { RotorError, type Backend } from '@rotor/core';\nexport const e: RotorError = new RotorError('INVALID_ARGUMENT', 'x');\nexport type B = Backend;\n`,
    );
    writeFileSync(
      join(project, 'typed.cts'),
      `import core = require('@rotor/core');\nexport const code: core.RotorErrorCode = 'ABORTED';\nexport const e = new core.RotorError(code, 'x');\n`,
    );
    const tsc = join(repositoryRoot, 'node_modules/typescript/bin/tsc');
    const output = (() => {
      try {
        return run(
          'node',
          [
            tsc,
            '--noEmit',
            '--strict',
            '--module',
            'nodenext',
            '--moduleResolution',
            'nodenext',
            '--target',
            'es2022',
            '--lib',
            'es2022,dom',
            'typed.mts',
            'typed.cts',
          ],
          project,
        );
      } catch (error) {
        return String((error as { stdout?: string }).stdout ?? error);
      }
    })();
    expect(output.trim()).toBe('');
  });
});
