/**
 * The demo's Vite config. Both the dev server and `vite preview` (what `pnpm demo` runs):
 * - send COOP/COEP so the page is cross-origin isolated and WASM threads can share memory;
 * - serve the external fixtures directory ($ROTOR_FIXTURES or ../shared/fixtures) under
 *   /fixtures/, so the default model loads locally when present.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Connect, defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = process.env.ROTOR_FIXTURES
  ? resolve(process.env.ROTOR_FIXTURES)
  : resolve(here, '../../../shared/fixtures');

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const serveFixtures: Connect.NextHandleFunction = (request, response, next) => {
  const url = request.url ?? '';
  if (!url.startsWith('/fixtures/')) return next();
  const relative = normalize(decodeURIComponent(url.slice('/fixtures/'.length).split('?')[0]));
  const path = join(fixtures, relative);
  if (
    relative.startsWith('..') ||
    !path.startsWith(fixtures) ||
    !existsSync(path) ||
    !statSync(path).isFile()
  ) {
    response.statusCode = 404;
    response.end('not found');
    return;
  }
  response.setHeader('Content-Type', 'application/octet-stream');
  response.setHeader('Content-Length', String(statSync(path).size));
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  createReadStream(path).pipe(response);
};

function fixturesPlugin(): Plugin {
  return {
    name: 'rotor-fixtures',
    configureServer: (server) => void server.middlewares.use(serveFixtures),
    configurePreviewServer: (server) => void server.middlewares.use(serveFixtures),
  };
}

const port = Number(process.env.PORT ?? 5173);

export default defineConfig({
  plugins: [fixturesPlugin()],
  server: { port, headers: isolation },
  preview: { port, headers: isolation },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
