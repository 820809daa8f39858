// A `?model=` link to another host (issue 13, item 4) in real Chromium: a second server on another
// port (another origin) counts every request it gets. None may arrive before the user allows the
// host in the panel; after "Allow" the manifest is fetched and the size shown; a reload of the
// same link does not ask again (the answer is in localStorage).
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, openApp, waitForSceneReady } from './browser';
import { resolveFile } from './static-server';

describe('model link to another host', () => {
  let browser: Browser;
  let server: Server;
  let other: string;
  const hits: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // The tiny models with CORS, as a model host would serve them.
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      const file = resolveFile([['/models/', join(ROOT, 'models')]], req.url ?? '/');
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': String(statSync(file).size), 'Cache-Control': 'no-store' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    other = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  it('asks before any request reaches the host, shows the host, then the size; remembers the yes', async () => {
    const url = new URL(inject('baseUrl'));
    url.searchParams.set('model', `${other}/models/tiny/ldm3d-pano/`);
    const { page } = await openApp(browser, url.toString(), { width: 1280, height: 800 });
    await waitForSceneReady(page, 1);
    const ask = page.getByTestId('confirm-host');
    await ask.waitFor({ timeout: 30_000 });
    // The question names the host (not the manifest's model id, which it has not even seen).
    expect(await ask.getAttribute('data-host')).toBe(other);
    expect(await ask.textContent()).toContain(`load a model from ${other}, which is not this site`);
    // Generate while the question is open must not reach the host either.
    await page.getByTestId('prompt').fill('a harbour');
    await page.getByTestId('generate').click();
    await page.waitForTimeout(1500); // give a (wrong) fetch time to arrive: it is the absence we test
    expect(hits).toEqual([]);
    expect(await page.getByTestId('model-size').textContent()).toMatch(/checking size/);

    await page.getByTestId('confirm-host-allow').click();
    await expect.poll(() => page.getByTestId('model-size').textContent(), { timeout: 30_000 }).toMatch(/tiny-random\/ldm3d-pano: [\d.]+ (KB|MB) to download/);
    expect(hits[0]).toBe('GET /models/tiny/ldm3d-pano/manifest.json');
    expect(await ask.count()).toBe(0);

    // Same link again in this browser profile: no question, the size comes straight away.
    await page.reload();
    await waitForSceneReady(page, 1);
    await expect.poll(() => page.getByTestId('model-size').textContent(), { timeout: 30_000 }).toMatch(/tiny-random\/ldm3d-pano: /);
    expect(await page.getByTestId('confirm-host').count()).toBe(0);
    await page.close();
  });
});
