import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRotorError } from '@rotor/core';
import { describeWithFixtures, fixturePath } from '@rotor-internal/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fetchModelBytes, fetchModelWeights, type LoadProgress, type ResponseCache } from './fetch-model.js';

describeWithFixtures('fetchModelBytes', ['stories260K/stories260K.bin'], () => {
  let server: Server;
  let base = '';
  let file: Uint8Array;
  let hits = 0;

  beforeAll(async () => {
    file = new Uint8Array(await readFile(fixturePath('stories260K/stories260K.bin')));
    server = createServer((request, response) => {
      hits++;
      if (request.url === '/model.bin') {
        response.writeHead(200, { 'content-length': file.byteLength });
        // several chunks, so progress is reported more than once
        for (let at = 0; at < file.byteLength; at += 200_000) response.write(file.subarray(at, at + 200_000));
        response.end();
      } else if (request.url === '/lying.bin') {
        // announces 10 bytes, sends 4 and hangs up
        response.writeHead(200, { 'content-length': 10 });
        response.write(Buffer.alloc(4), () => response.destroy());
      } else if (request.url === '/chunked.bin') {
        response.writeHead(200);
        response.end(file);
      } else {
        response.writeHead(404, 'Not Found');
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('streams into one buffer, reporting progress up to the content length', async () => {
    const progress: LoadProgress[] = [];
    const started = performance.now();
    const bytes = await fetchModelBytes(`${base}/model.bin`, { onProgress: (p) => progress.push(p) });
    console.info(`fetched in ${(performance.now() - started).toFixed(0)} ms`);
    expect(Buffer.compare(bytes, file)).toBe(0);
    expect(bytes.buffer.byteLength).toBe(file.byteLength);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ loaded: file.byteLength, total: file.byteLength });
    expect(progress.every((p, i) => i === 0 || p.loaded > progress[i - 1].loaded)).toBe(true);
    expect(Buffer.compare(await fetchModelBytes(`${base}/chunked.bin`), file)).toBe(0);
    const weights = await fetchModelWeights(`${base}/model.bin`);
    expect(weights.config.vocabSize).toBe(512);
  });

  it('serves a cached download without fetching again', async () => {
    const store = new Map<string, Response>();
    const cache: ResponseCache = {
      match: async (url) => store.get(url)?.clone(),
      put: async (url, response) => {
        store.set(url, response);
      },
    };
    const first = await fetchModelBytes(`${base}/model.bin`, { cache });
    const before = hits;
    const progress: LoadProgress[] = [];
    const second = await fetchModelBytes(`${base}/model.bin`, { cache, onProgress: (p) => progress.push(p) });
    expect(hits).toBe(before);
    expect(Buffer.compare(second, first)).toBe(0);
    expect(progress.at(-1)?.loaded).toBe(file.byteLength);
  });

  it('reports HTTP errors, short bodies and aborts with typed errors', async () => {
    // a port nothing listens on: a server's, after it closed
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failures: [() => Promise<unknown>, string, RegExp][] = [
      [() => fetchModelBytes(`${base}/missing.bin`), 'IO_ERROR', /HTTP 404/],
      [
        () => fetchModelBytes(`${base}/lying.bin`),
        'IO_ERROR',
        /lying\.bin: (download failed|body: expected 10 bytes)/,
      ],
      [() => fetchModelBytes(`http://127.0.0.1:${closedPort}/none.bin`), 'IO_ERROR', /cannot fetch/],
      [() => fetchModelBytes(`${base}/model.bin`, { signal: AbortSignal.abort() }), 'ABORTED', /aborted/],
    ];
    for (const [run, code, pattern] of failures) {
      const error = await run().catch((e: unknown) => e);
      expect(isRotorError(error, code as never), String(error)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    }
  });
});
