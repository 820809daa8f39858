// Installable and offline after the first visit (issue 14 item 16), in real Chromium: one online
// visit installs the service worker (dist/sw.js, src/pwa/service-worker.ts), a generation with the
// tiny models stores the model files (model store, Cache API) and saves a scene; then the server is
// shut down and the browser context set offline, and a reload must still open the app —
// cross-origin isolated, the gallery listing the saved scene — and run a generation with the
// stored models. Without the service worker the reload itself fails: nothing answers the request
// for the page.
//
// The test serves dist/ from its own server (another port than the suite's, so another origin with
// its own service worker and storage) because it must take that server away: "offline" here means
// no server at all, not only the browser's offline emulation.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, generatedId, launchBrowser, saveArtefact, waitForGenerated, waitForSceneReady, wasmAppUrl } from './browser';
import { startStaticServer, type StaticServer } from './static-server';

const VIEWPORT = { width: 1280, height: 800 };
/** Generous: two generations and page loads on two shared cores. */
const LONG = 900_000;
const POLL = { timeout: 30_000 };

/**
 * Errors the page reported, minus one false report (as in generate.e2e.ts): Chromium marks a
 * streamed fetch of a `Cache-Control: no-store` response (the test server's header) as
 * net::ERR_ABORTED even after the stream reached its end (microsoft/playwright#42742); the model
 * store checks every file against its sha256, so a truncated one would fail the generation.
 * Offline, the model store's revalidation of manifest.json fails as it should (it then opens its
 * stored copy). As in gallery.e2e.ts, a gallery thumbnail unmounted while its blob: URL loads
 * (the list re-renders as scenes are saved) is a cancelled load, not a failure.
 */
function realErrors(errors: readonly string[]): string[] {
  return errors.filter(
    (e) =>
      !/^request failed: \S+\/models\/tiny\/ldm3d-pano\/\S+ net::ERR_ABORTED$/.test(e) &&
      !/^request failed: blob:\S+ net::ERR_ABORTED$/.test(e) &&
      !/^request failed: \S+\/models\/tiny\/ldm3d-pano\/manifest\.json net::ERR_INTERNET_DISCONNECTED$/.test(e),
  );
}

async function generate(page: Page, prompt: string, above: number): Promise<number> {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('steps').fill('2');
  await page.getByTestId('generate').click();
  const id = await waitForGenerated(page, above).catch(async (e: unknown) => {
    // What the panel showed when it gave up: which stage hung (download, session, step, decode).
    const shown = await page.evaluate(() => {
      const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
      return {
        status: document.querySelector('[data-testid="generate-panel"]')?.getAttribute('data-status'),
        progress: text('progress-text'),
        notices: text('generate-notices'),
        runtime: text('runtime-line'),
        model: text('model-size'),
      };
    });
    throw new Error(`${String(e)}\npanel: ${JSON.stringify(shown)}`);
  });
  await waitForSceneReady(page, id);
  return id;
}

describe('offline after the first visit', () => {
  let browser: Browser;
  let server: StaticServer | null = null;

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startStaticServer([
      ['/models/', join(ROOT, 'models')],
      ['/', join(ROOT, 'dist')],
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens with no network, lists the saved scene and generates with the stored tiny models', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const errors: string[] = [];
    const consoleLog: string[] = [];
    page.on('console', (m) => {
      consoleLog.push(`${m.type()}: ${m.text()}`);
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

    // First visit, online.
    await page.goto(wasmAppUrl(server!.url));
    await waitForSceneReady(page, 1);
    // The manifest is linked and names the icons and the start page an installed app opens.
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
      return link ? ((await (await fetch(link.href)).json()) as { start_url: string; display: string; icons: { sizes: string }[] }) : null;
    });
    expect(manifest).toMatchObject({ start_url: './', display: 'standalone' });
    expect(manifest!.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    // The service worker installs (precaches the shell) and takes this page over.
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined, undefined, {
      timeout: 120_000,
      polling: 200,
    });

    // One generation: the model store downloads and keeps the tiny model's files; the scene is saved.
    await generate(page, 'a lighthouse on a cliff, before the storm', 0);
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    await expect.poll(() => page.getByTestId('model-size').textContent(), POLL).toMatch(/stored in this browser/);
    // The shell cache holds the page, scripts and onnxruntime's wasm, and no model file: those
    // stay in the model store's own cache (one copy, resumable downloads).
    const shell = await page.evaluate(async () => {
      const names = (await caches.keys()).filter((n) => n.startsWith('ldm3d-xr-shell-'));
      const keys = names.length === 1 ? (await (await caches.open(names[0]!)).keys()).map((r) => new URL(r.url).pathname) : [];
      return { names, keys };
    });
    expect(shell.names).toHaveLength(1);
    expect(shell.keys).toContain('/');
    expect(shell.keys.some((k) => /^\/assets\/pipeline\.worker-.*\.js$/.test(k))).toBe(true);
    expect(shell.keys.some((k) => /^\/assets\/ort-wasm.*\.wasm$/.test(k))).toBe(true);
    expect(shell.keys.filter((k) => k.startsWith('/models/'))).toEqual([]);
    expect(realErrors(errors)).toEqual([]);

    // No network: the server is gone and the browser is offline.
    await server!.close();
    server = null;
    await context.setOffline(true);
    errors.splice(0);
    // Without a service worker this throws net::ERR_INTERNET_DISCONNECTED: nothing serves the page.
    await page.reload();
    await waitForSceneReady(page, 1);
    // Served from the cache with the headers it was stored with: still cross-origin isolated, so
    // onnxruntime's WASM keeps its threads.
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await page.getByTestId('gallery-item').textContent()).toMatch(/a lighthouse on a cliff/);

    // A generation with the stored models, the manifest included (the model store's offline copy).
    // The panel's generated-panorama id counts from this page load, not from the first visit's.
    const before = await generatedId(page);
    await generate(page, 'a snowy pass at night', before).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nerrors: ${JSON.stringify(errors)}\nconsole: ${JSON.stringify(consoleLog.slice(-30))}`);
    });
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toBe('a snowy pass at night');
    expect(await page.getByTestId('generate-error').textContent()).toBe('');
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(2);
    saveArtefact('e2e/offline-generated.png', await page.screenshot());
    // Every file of the app came from the service worker: no other request failed.
    expect(realErrors(errors), JSON.stringify(realErrors(errors))).toEqual([]);
    await context.close();
  }, LONG);
});
