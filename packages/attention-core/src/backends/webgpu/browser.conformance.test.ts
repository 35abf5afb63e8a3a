/**
 * A subset of the conformance suite in real Chromium: the kernel cases of matmul, rmsNorm,
 * attention (GQA, MQA, masks, biases) and applyRotary run inside a page on the WebGPU backend
 * (SwiftShader, both kernel tunings, and with every attention case forced onto the flash or
 * split-KV program) and the 2-thread WASM backend; their outputs are compared here
 * with the reference backend's (or the hand-computed results), and the error cases must pass in the
 * page. The page is served from 127.0.0.1 with COOP/COEP headers, so WASM threads work.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { compareOutputs, HAND_TOLERANCE, runConformanceCase } from '../../conformance/index.js';
import type { KernelCase } from '../../conformance/types.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { BROWSER_KERNELS, type BrowserReport, browserCases, caseKey } from './browser-conformance-page.js';
import { WEBGPU_F32_TOLERANCE } from './webgpu-backend.js';

const CHROMIUM = process.env.ROTOR_CHROMIUM ?? '/usr/bin/chromium';
/** `--enable-unsafe-webgpu` exposes WebGPU headless; without a GPU Chromium then offers SwiftShader. */
const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu'];
const TOLERANCE: Record<string, number> = {
  webgpu: WEBGPU_F32_TOLERANCE,
  'webgpu (hardware tuning)': WEBGPU_F32_TOLERANCE,
  'webgpu (fast attention forced)': WEBGPU_F32_TOLERANCE,
  wasm: 1e-5,
};

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The page script: the page module plus a line starting it, with workspace packages taken from their sources. */
async function bundlePage(): Promise<string> {
  const result = await build({
    stdin: {
      contents:
        "import { runBrowserConformance } from './browser-conformance-page.ts';\n" +
        'globalThis.rotorBrowserConformance = runBrowserConformance();\n',
      resolveDir: here('.'),
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'workspace-sources',
        setup(esbuild) {
          esbuild.onResolve({ filter: /^@rotor\/core$/ }, () => ({
            path: here('../../../../core/src/index.ts'),
          }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

/** Serves the page and its script, cross-origin isolated (COOP/COEP) so SharedArrayBuffer exists. */
async function serve(script: string): Promise<Server> {
  const server = createServer((request, response) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    if (request.url === '/page.js') {
      response.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' });
      response.end(script);
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
    response.end('<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function runInChromium(): Promise<BrowserReport> {
  const server = await serve(await bundlePage());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'rotorBrowserConformance' in globalThis, undefined, { timeout: 30_000 });
    try {
      return await page.evaluate(
        () =>
          (globalThis as unknown as { rotorBrowserConformance: Promise<BrowserReport> })
            .rotorBrowserConformance,
      );
    } catch (error) {
      throw new Error(`the page failed: ${String(error)}; page errors: ${pageErrors.join('; ') || 'none'}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

let report: Promise<BrowserReport> | undefined;

/** The page's report, or a capability skip when there is no Chromium here (never under CI=true). */
async function pageReport(context: TestContext): Promise<BrowserReport | undefined> {
  if (!existsSync(CHROMIUM) && process.env.CI !== 'true') {
    context.skip(
      `skipped by capability: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ROTOR_CHROMIUM)`,
    );
    return undefined;
  }
  report ??= runInChromium();
  return report;
}

const reference = createReferenceBackend();
afterAll(() => reference.destroy());

/** The oracle of a kernel case: its hand-computed result, else the reference backend's output here in Node. */
async function expectedOutput(testCase: KernelCase): Promise<{ values: ArrayLike<number>; hand: boolean }> {
  if (testCase.expected !== undefined) return { values: testCase.expected, hand: true };
  const inputs = Object.fromEntries(
    Object.entries(testCase.inputs).map(([name, tensor]) => [
      name,
      reference.upload(tensor.data, tensor.shape, tensor.dtype ?? 'f32'),
    ]),
  );
  const out =
    'aliasOf' in testCase.out
      ? inputs[testCase.out.aliasOf]
      : testCase.out.initial === undefined
        ? reference.allocate(testCase.out.shape)
        : reference.upload(testCase.out.initial, testCase.out.shape);
  reference.run(testCase.kernel, inputs as never, testCase.attrs as never, out);
  const values = await reference.read(out);
  for (const tensor of new Set([...Object.values(inputs), out])) reference.dispose(tensor);
  return { values, hand: false };
}

// The page compiles every program variant on SwiftShader and runs three backends: minutes on a busy machine.
describe('conformance subset in Chromium (WebGPU on SwiftShader, WASM with 2 threads)', {
  timeout: 180_000,
}, () => {
  it('serves a cross-origin-isolated page where WebGPU finds an adapter', async (context) => {
    const result = await pageReport(context);
    if (!result) return;
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.hasWebGpu).toBe(true);
    const [webgpu, hardware, forced, wasm] = result.backends;
    expect(forced.unavailable).toBeUndefined();
    expect(webgpu.unavailable).toBeUndefined();
    expect(webgpu.description).toMatch(/^WebGPU on /);
    expect(webgpu.kernelTuning).toBe(
      /software adapter/.test(webgpu.description ?? '') ? 'software' : 'hardware',
    );
    expect(hardware.kernelTuning).toBe('hardware');
    expect(wasm.unavailable).toBeUndefined();
    expect(wasm.threads).toBe(2);
  });

  // The reference oracle in Node must itself pass these cases (a sanity check of the comparison).
  it('the Node reference backend passes the same cases', async () => {
    for (const testCase of browserCases()) await runConformanceCase(reference, testCase, { reference });
  });

  for (const label of ['webgpu', 'webgpu (hardware tuning)', 'webgpu (fast attention forced)', 'wasm']) {
    for (const kernel of BROWSER_KERNELS) {
      it(`${label}: ${kernel} kernel cases match the reference backend, error cases reject`, async (context) => {
        const result = await pageReport(context);
        if (!result) return;
        const backend = result.backends.find((entry) => entry.label === label);
        expect(backend?.unavailable).toBeUndefined();
        if (!backend) return;
        let kernelCases = 0;
        for (const testCase of browserCases()) {
          if (testCase.kernel !== kernel) continue;
          const key = caseKey(testCase);
          if (backend.skipped?.includes(key)) continue;
          if (testCase.kind === 'error') {
            expect(backend.errorCases[key], key).toBeNull();
            continue;
          }
          kernelCases++;
          const actual = backend.outputs[key];
          expect(actual, key).toBeDefined();
          const { values, hand } = await expectedOutput(testCase);
          const tolerance = hand
            ? Math.max(testCase.tolerance ?? HAND_TOLERANCE, TOLERANCE[label])
            : TOLERANCE[label];
          compareOutputs(`${key} on ${label} in Chromium`, actual, values, tolerance, testCase.errorBound);
        }
        expect(kernelCases).toBeGreaterThan(0);
      });
    }
  }
});
