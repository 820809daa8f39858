// A model file damaged in the browser's own storage (issue 13 item 8), in real Chromium: a
// generation with the tiny models stores them in the Cache API; then one stored chunk is
// overwritten with bytes of the same size (one byte flipped), which leaves the stored record
// saying "complete". After a reload the next Generate must find the damage when it reads the file
// back, download the file again, say so in the notices and generate; the stored chunk is then the
// original again.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openApp, waitForGenerated, waitForSceneReady, wasmAppUrl } from './browser';

const VIEWPORT = { width: 1280, height: 800 };
/** Generous: two generations and page loads on two shared cores. */
const LONG = 900_000;
const FILE = 'vae_decoder/model.onnx';

/** As in generate.e2e.ts: Chromium reports a finished no-store stream as ERR_ABORTED (microsoft/playwright#42742). */
function realErrors(errors: readonly string[]): string[] {
  return errors.filter((e) => !/^request failed: \S+\/models\/tiny\/ldm3d-pano\/\S+ net::ERR_ABORTED$/.test(e));
}

async function generate(page: Page, prompt: string, above: number): Promise<number> {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('steps').fill('2');
  await page.getByTestId('generate').click();
  const id = await waitForGenerated(page, above);
  await waitForSceneReady(page, id);
  return id;
}

/** The first stored chunk of `file` in the model store's cache: its URL and the sha256 of its bytes. */
async function storedChunk(page: Page, file: string): Promise<{ url: string; bytes: number; sha256: string }> {
  return page.evaluate(async (f) => {
    const cache = await caches.open('ldm3d-xr-models-v1');
    const url = (await cache.keys()).map((r) => r.url).find((u) => u.includes(encodeURIComponent(f)) && u.endsWith('/chunk/0'));
    if (!url) throw new Error(`no stored chunk of ${f}`);
    const bytes = new Uint8Array(await (await cache.match(url))!.arrayBuffer());
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return { url, bytes: bytes.length, sha256: Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, file);
}

describe('a damaged model file in the browser cache', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('is found when read back after a reload, downloaded again with a notice, and the generation works', async () => {
    const { page, errors } = await openApp(browser, wasmAppUrl(inject('baseUrl')), VIEWPORT);
    await waitForSceneReady(page, 1);
    await generate(page, 'a harbour at dawn', 0);
    const original = await storedChunk(page, FILE);

    // One byte flipped, same size, put back where it was: the stored record still says complete.
    await page.evaluate(async (url) => {
      const cache = await caches.open('ldm3d-xr-models-v1');
      const bytes = new Uint8Array(await (await cache.match(url))!.arrayBuffer());
      bytes[bytes.length >> 1] ^= 0xff;
      await cache.put(url, new Response(bytes));
    }, original.url);
    const damaged = await storedChunk(page, FILE);
    expect(damaged.bytes).toBe(original.bytes);
    expect(damaged.sha256).not.toBe(original.sha256);

    // A new page session: the worker and its store start afresh over the same Cache API.
    await page.reload();
    await waitForSceneReady(page, 1);
    // The panel's generated-id starts afresh with the page.
    await generate(page, 'a harbour at dusk', 0);
    await expect
      .poll(() => page.getByTestId('generate-notices').textContent(), { timeout: 30_000 })
      .toMatch(/vae_decoder\/model\.onnx: the copy stored in this browser was damaged \(chunk 1 of 1 \(bytes 0–\d+\) does not match the sha256 recorded when it was stored\), so it was removed and downloaded again\./);
    expect(await storedChunk(page, FILE)).toEqual(original);
    expect(realErrors(errors)).toEqual([]);
    await page.close();
  }, LONG);
});
