/**
 * The demo page end to end: `pnpm demo` serves it, Debian's Chromium (driven by playwright-core)
 * loads it, and a person's actions are replayed. Screenshots go to test-artifacts/demo/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describeWithFixtures, fixturePath, repositoryRoot } from '@rotor-internal/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** Debian's chromium package (installed by .ci/run). */
const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(repositoryRoot, 'test-artifacts/demo');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `pnpm demo` on a free port and resolves with the URL it prints. */
async function startDemo(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('pnpm', ['demo'], {
    cwd: repositoryRoot,
    env: { ...process.env, PORT: String(port) },
    detached: true,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`pnpm demo printed no URL within 120 s:\n${output}`)),
      120_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = stripVTControlCharacters(output).match(/http:\/\/localhost:\d+\/?/);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`pnpm demo exited with ${code}:\n${output}`)));
  });
  return { url, process: child };
}

describeWithFixtures(
  'demo page in Chromium',
  [
    'stories260K/stories260K.bin',
    'stories260K/tok512.bin',
    'stories260K/stories260K.gguf',
    'stories260K/reference/expected_once_upon_a_time_n200.txt',
  ],
  () => {
    let demo: { url: string; process: ChildProcess } | undefined;
    let browser: Browser | undefined;
    let page: Page;
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      if (!existsSync(CHROMIUM))
        throw new Error(
          `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium)`,
        );
      mkdirSync(artifacts, { recursive: true });
      demo = await startDemo();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--enable-unsafe-webgpu',
        ],
      });
      page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
      await page.goto(demo.url);
      await waitUntilReady();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      if (demo?.process.pid) process.kill(-demo.process.pid, 'SIGTERM');
    });

    const waitUntilReady = () =>
      page.waitForFunction(
        () => !(document.querySelector('[data-testid=generate]') as HTMLButtonElement).disabled,
        null,
        { timeout: 60_000 },
      );

    async function generate(
      prompt: string,
      settings: { temperature?: string; maxTokens?: string } = {},
    ): Promise<string> {
      await page.getByTestId('prompt').fill(prompt);
      await page.getByTestId('temperature').fill(settings.temperature ?? '0');
      await page.locator('#max-tokens').fill(settings.maxTokens ?? '200');
      await page.getByTestId('generate').click();
      await page.waitForFunction(
        () => document.querySelector('[data-testid=output]')?.getAttribute('data-state') === 'done',
        null,
        { timeout: 60_000 },
      );
      return (await page.getByTestId('output').textContent()) ?? '';
    }

    it('loads with no console errors and shows the isolated, cross-origin page', async () => {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await page.screenshot({ path: join(artifacts, 'loaded.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
    });

    it('generates llama2.c’s greedy text for "Once upon a time"', async () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      const text = await generate('Once upon a time');
      await page.screenshot({ path: join(artifacts, 'generated.png'), fullPage: true });
      expect(text.startsWith(expected), text).toBe(true);
      expect(await page.getByTestId('tokens-per-second').textContent()).toMatch(/^\d+$/);
      expect(await page.locator('[data-testid=tokens] span').count()).toBeGreaterThan(200);
    });

    it('gives the same text on WebGPU (SwiftShader here)', async () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      await page.getByTestId('backend').selectOption('webgpu');
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid=backend-status]')?.getAttribute('data-backend') === 'webgpu',
        null,
        {
          timeout: 60_000,
        },
      );
      await waitUntilReady();
      const text = await generate('Once upon a time');
      await page.screenshot({ path: join(artifacts, 'webgpu.png'), fullPage: true });
      expect(text.startsWith(expected), text).toBe(true);
      await page.getByTestId('backend').selectOption('auto');
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid=backend-status]')?.getAttribute('data-backend') !== 'webgpu',
      );
      await waitUntilReady();
    }, 180_000);

    it('draws the attention heatmap of a chosen layer and head after a generation', async () => {
      await page.waitForSelector('[data-testid=attention-heatmap][data-ready=true]', { timeout: 30_000 });
      await page.getByTestId('attention-layer').selectOption('4');
      await page.getByTestId('attention-head').selectOption('3');
      await page.waitForFunction(() =>
        (document.querySelector('#attention-caption')?.textContent ?? '').startsWith('Layer 4, head 3'),
      );
      const shaded = await page.evaluate(() => {
        const canvas = document.querySelector('[data-testid=attention-heatmap]') as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] < 240) count++;
        return count / (data.length / 4);
      });
      expect(shaded).toBeGreaterThan(0.01);
      await page.screenshot({ path: join(artifacts, 'attention.png'), fullPage: true });
    });

    it('opens a GGUF file the user picks, with its own vocabulary, and generates the same text', async () => {
      const expected = readFileSync(
        fixturePath('stories260K/reference/expected_once_upon_a_time_n200.txt'),
        'utf8',
      ).replace(/\n$/, '');
      await page.locator('#file-input').setInputFiles(fixturePath('stories260K/stories260K.gguf'));
      await page.waitForFunction(
        () => (document.querySelector('[data-testid=model-status]')?.textContent ?? '').startsWith('Model:'),
        null,
        {
          timeout: 60_000,
        },
      );
      await waitUntilReady();
      const text = await generate('Once upon a time');
      expect(text.startsWith(expected), text).toBe(true);
    });

    it('renders the encoding heatmap', async () => {
      const coloured = await page.evaluate(() => {
        const canvas = document.querySelector('[data-testid=heatmap]') as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) count++;
        return count / (data.length / 4);
      });
      expect(coloured).toBeGreaterThan(0.2);
    });

    it('changes the output when the positional encoding is switched', async () => {
      const before = await generate('Once upon a time', { maxTokens: '60' });
      await page.getByTestId('positional-encoding').selectOption('alibi');
      await page.waitForFunction(() =>
        (document.querySelector('[data-testid=spec]')?.textContent ?? '').includes('alibi'),
      );
      await waitUntilReady();
      const after = await generate('Once upon a time', { maxTokens: '60' });
      await page.screenshot({ path: join(artifacts, 'alibi.png'), fullPage: true });
      expect(after).not.toBe(before);
      await page.getByTestId('positional-encoding').selectOption('model');
      await waitUntilReady();
    });

    it('stops a long generation', async () => {
      // Greedy stories260K does not end early, and the reference backend is slow enough (a few
      // hundred tokens/s) that 500 tokens take well over a second: time to press stop mid-way.
      await page.getByTestId('backend').selectOption('reference');
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid=backend-status]')?.getAttribute('data-backend') ===
          'reference',
      );
      await waitUntilReady();
      await page.getByTestId('prompt').fill('Once upon a time');
      await page.getByTestId('temperature').fill('0');
      await page.locator('#max-tokens').fill('500');
      await page.getByTestId('generate').click();
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-testid=output]')?.textContent ?? '').length >
          'Once upon a time'.length + 5,
      );
      await page.getByTestId('stop').click({ timeout: 5_000 });
      await page.waitForFunction(
        () => document.querySelector('[data-testid=output]')?.getAttribute('data-state') === 'done',
        null,
        {
          timeout: 10_000,
        },
      );
      const spans = await page.locator('[data-testid=tokens] span').count();
      expect(spans).toBeLessThan(400);
      expect(consoleErrors).toEqual([]);
    });
  },
);
