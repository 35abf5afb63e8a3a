/**
 * `--browser`: serves `dist/browser-page.js` from 127.0.0.1 with COOP/COEP headers (so the page is
 * cross-origin isolated and WASM threads work), opens it in headless Chromium through
 * playwright-core (`--enable-unsafe-webgpu`, so WebGPU exists; without a GPU it is SwiftShader),
 * and returns the page's results, each marked `environment: 'browser'`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BenchResult, MachineInfo } from '../results.js';
import type { BrowserBenchOptions, BrowserBenchReport } from './page.js';

/** Chromium to drive: `ROTOR_CHROMIUM`, else Debian's. */
const CHROMIUM = process.env.ROTOR_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu'];
const here = dirname(fileURLToPath(import.meta.url));

const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

async function serve(script: string, model: string | undefined): Promise<Server> {
  const modelBytes = model ? await readFile(model) : undefined;
  const server = createServer((request, response) => {
    if (request.url === '/page.js') {
      response.writeHead(200, { ...HEADERS, 'Content-Type': 'text/javascript' });
      response.end(script);
    } else if (request.url === '/stories260K.bin' && modelBytes) {
      response.writeHead(200, { ...HEADERS, 'Content-Type': 'application/octet-stream' });
      response.end(modelBytes);
    } else if (request.url === '/') {
      response.writeHead(200, { ...HEADERS, 'Content-Type': 'text/html' });
      response.end('<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    } else {
      response.writeHead(404, HEADERS);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** What {@link runInBrowser} needs. */
export interface BrowserRunOptions {
  quick: boolean;
  filter?: string;
  threads: number;
  fixtures: string;
}

/** Runs the browser suites in headless Chromium; throws when Chromium is missing or the page fails. */
export async function runInBrowser(
  options: BrowserRunOptions,
): Promise<{ info: NonNullable<MachineInfo['browser']>; results: BenchResult[] }> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `--browser: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ROTOR_CHROMIUM)`,
    );
  const model = join(options.fixtures, 'stories260K/stories260K.bin');
  const server = await serve(
    await readFile(join(here, 'browser-page.js'), 'utf8'),
    existsSync(model) ? model : undefined,
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'rotorBench' in globalThis, undefined, { timeout: 30_000 });
    const request: BrowserBenchOptions = {
      quick: options.quick,
      filter: options.filter,
      threads: options.threads,
      modelUrl: existsSync(model) ? '/stories260K.bin' : undefined,
    };
    let report: BrowserBenchReport;
    try {
      report = await page.evaluate(
        (r) =>
          (
            globalThis as unknown as { rotorBench: (o: BrowserBenchOptions) => Promise<BrowserBenchReport> }
          ).rotorBench(r),
        request,
      );
    } catch (error) {
      throw new Error(
        `--browser: the page failed: ${String(error)}; page errors: ${errors.join('; ') || 'none'}`,
      );
    }
    const { results, ...info } = report;
    return { info, results };
  } finally {
    await browser.close();
    server.close();
  }
}
