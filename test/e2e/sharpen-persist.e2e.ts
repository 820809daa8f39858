// A sharpened scene is saved with its detail layer and reloads as it was, in real Chromium with
// the tiny LDM3D-SR models on WASM (sharpen.e2e.ts covers WebGPU): an imported scene (saved before shown) is
// sharpened once (1 SR step, to keep it short on 2 cores), the page is reloaded, the scene is
// opened from the gallery and its detail layer is back at the same texels with the same weights;
// "Undo sharpening" then removes it from storage too.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderSyntheticPanorama } from '../../src/panorama/synthetic';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { stringifyMetadata, type SceneMetadata } from '../../src/export/metadata';
import { launchBrowser, openApp, waitForSceneReady, wasmAppUrl } from './browser';

const W = 512;
const H = 256;
const synthetic = renderSyntheticPanorama(W, H);
const metadata: SceneMetadata = {
  prompt: 'e2e persist room',
  negativePrompt: '',
  settings: { steps: 20, guidance: 5, scheduler: 'ddim', seed: 31 },
  modelId: 'test/e2e',
  testWeights: true,
  createdAt: '2026-07-02T10:00:00.000Z',
  width: W,
  height: H,
  depthMapping: synthetic.mapping,
};
const files = encodeSceneFiles({ width: W, height: H, rgb: synthetic.panorama.rgba, depth: synthetic.panorama.depth }, metadata);
const importPayload = [
  { name: 'room-rgb.png', mimeType: 'image/png', buffer: Buffer.from(files.rgbPng) },
  { name: 'room-depth16.png', mimeType: 'image/png', buffer: Buffer.from(files.depthPng) },
  { name: 'room.metadata.json', mimeType: 'application/json', buffer: Buffer.from(stringifyMetadata(metadata)) },
];

/** Model download + session creation + one SR step on SwiftShader, on a loaded 2-core machine. */
const LONG = 600_000;
const POLL = { timeout: 30_000 };

type Detail = NonNullable<NonNullable<Window['__ldm3d']>['detail']>;

async function sceneId(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.body.dataset.sceneReady ?? '0'));
}

async function detailOf(page: Page): Promise<Detail | null> {
  return page.evaluate(() => window.__ldm3d?.detail ?? null);
}

function realErrors(errors: readonly string[]): string[] {
  // As in sharpen.e2e.ts and gallery.e2e.ts: streamed model files and thumbnails unmounted while
  // loading report ERR_ABORTED; model files are checked by sha256.
  return errors.filter((e) => !/^request failed: (\S+\/models\/\S+|blob:\S+) net::ERR_ABORTED$/.test(e));
}

describe('sharpened scene persists', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('sharpen → saved with the scene → reload → open from the gallery → same detail layer; undo removes it', async () => {
    const { page, errors } = await openApp(browser, wasmAppUrl(inject('baseUrl'), { srSteps: '1' }), { width: 1024, height: 700 });
    await waitForSceneReady(page, 1);
    let before = await sceneId(page);
    await page.getByTestId('import-scene').setInputFiles(importPayload);
    await waitForSceneReady(page, before + 1);
    await expect.poll(() => page.getByTestId('scene-saved-status').textContent(), POLL).toMatch(/Saved in this browser/);

    await page.getByTestId('sharpen').click();
    await page.waitForFunction(
      () => {
        const err = document.querySelector('[data-testid="errors"]')?.textContent;
        if (err && /Sharpen|sharpened/.test(err)) throw new Error(`sharpen failed: ${err}`);
        return Number(document.querySelector('[data-testid="sharpen-section"]')?.getAttribute('data-regions') ?? '0') >= 1;
      },
      undefined,
      { timeout: 500_000, polling: 200 },
    );
    const sharpened = (await detailOf(page))!;
    expect(sharpened.regions).toBe(1);
    expect(sharpened.alphaSum).toBeGreaterThan(0);
    // Saved before shown: the gallery already counts the patch.
    await expect.poll(() => page.getByTestId('gallery-item').textContent(), POLL).toMatch(/ · 1 sharpened/);
    expect(await page.getByTestId('errors').textContent()).toBe('');

    await page.reload();
    await waitForSceneReady(page, 1);
    expect(await detailOf(page)).toBeNull(); // the test room: no layer
    await expect.poll(() => page.getByTestId('gallery-item').textContent(), POLL).toMatch(/e2e persist room.* · 1 sharpened/);
    before = await sceneId(page);
    await page.getByTestId('gallery-open').click();
    await waitForSceneReady(page, before + 1);
    await expect.poll(() => detailOf(page).then((d) => d?.regions ?? 0), POLL).toBe(1);
    const restored = (await detailOf(page))!;
    expect(restored.width).toBe(sharpened.width);
    expect(restored.height).toBe(sharpened.height);
    expect(restored.rects).toEqual(sharpened.rects);
    // Colour and weight are stored losslessly: the summed weight over the region is unchanged.
    expect(restored.alphaSum).toBe(sharpened.alphaSum);
    expect(await page.getByTestId('sharpen-regions').textContent()).toMatch(/^1 sharpened region in this scene$/);
    expect(await page.getByTestId('errors').textContent()).toBe('');
    console.log(`[sharpen-persist] restored ${JSON.stringify(restored.rects)}, alpha sum ${restored.alphaSum.toFixed(1)}`);

    // Undo: gone from the view and from storage (the gallery stops counting it).
    await page.getByTestId('sharpen-clear').click();
    await expect.poll(() => detailOf(page), POLL).toBeNull();
    await expect.poll(() => page.getByTestId('gallery-item').textContent(), POLL).not.toMatch(/ · \d+ sharpened/);
    expect(realErrors(errors)).toEqual([]);
    await page.close();
  }, LONG);
});
