#!/usr/bin/env node
/**
 * `pnpm fixtures`: downloads the external reference files from their public origins into
 * $ROTOR_FIXTURES (default ../shared/fixtures beside the repository) and verifies each SHA-256.
 * Files that exist with the right hash are left alone; files without a public origin (outputs of
 * the reference programs) are listed so the user knows which tests will skip.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = process.env.ROTOR_FIXTURES
  ? resolve(process.env.ROTOR_FIXTURES)
  : resolve(root, '../shared/fixtures');
const manifest = JSON.parse(await readFile(join(root, 'tools/fixtures-manifest.json'), 'utf8'));

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
let failures = 0;
const unavailable = [];
for (const file of manifest.files) {
  const path = join(target, file.path);
  const existing = await readFile(path).catch(() => undefined);
  if (existing && sha256(existing) === file.sha256) {
    console.log(`ok       ${file.path}`);
    continue;
  }
  if (!file.url) {
    unavailable.push(file.path);
    continue;
  }
  try {
    const response = await fetch(file.url, { redirect: 'follow' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const hash = sha256(bytes);
    if (hash !== file.sha256) throw new Error(`sha256 ${hash}, expected ${file.sha256}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    console.log(`fetched  ${file.path} (${bytes.byteLength} bytes)`);
  } catch (error) {
    failures++;
    console.error(`FAILED   ${file.path} from ${file.url}: ${error.message}`);
  }
}
if (unavailable.length > 0) {
  console.log(
    `\nNo public origin (made by running llama2.c run.c); tests needing them will skip:\n  ${unavailable.join('\n  ')}`,
  );
}
console.log(`\nfixtures directory: ${target}`);
process.exit(failures > 0 ? 1 : 0);
