// Issue 13 item 6 in real Chromium: two tabs of one browser context (one origin, one IndexedDB).
// A scene imported in tab A appears in tab B's gallery without a reload (BroadcastChannel), and
// deleting in tab A the scene tab B has on screen leaves it shown there, marked as no longer saved.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { renderSyntheticPanorama } from '../../src/panorama/synthetic';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { stringifyMetadata, type SceneMetadata } from '../../src/export/metadata';
import { launchBrowser, waitForSceneReady } from './browser';

const W = 256;
const H = 128;
const synthetic = renderSyntheticPanorama(W, H);
const metadata: SceneMetadata = {
  prompt: 'e2e two tabs room',
  negativePrompt: '',
  settings: { steps: 20, guidance: 5, scheduler: 'ddim', seed: 778 },
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

/** expect.poll's default second is too short while SwiftShader renders on two shared cores. */
const POLL = { timeout: 15_000 };

async function sceneId(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.body.dataset.sceneReady ?? '0'));
}

describe('two tabs', () => {
  let browser: Browser;
  let context: BrowserContext;
  let a: Page;
  let b: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    // One context: its pages share the origin's IndexedDB and BroadcastChannels, like two tabs.
    context = await browser.newContext({ viewport: { width: 960, height: 600 } });
    a = await context.newPage();
    b = await context.newPage();
    for (const [name, page] of [['A', a], ['B', b]] as const) {
      page.on('pageerror', (e) => errors.push(`${name} pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${name} console.error: ${m.text()}`);
      });
      await page.goto(inject('baseUrl'));
      await waitForSceneReady(page, 1);
    }
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("a scene saved in tab A appears in tab B's gallery; deleting it in A while B shows it keeps it on B's screen, no longer saved", async () => {
    await expect.poll(() => b.getByTestId('gallery').textContent(), POLL).toMatch(/No saved scenes yet/);
    const beforeA = await sceneId(a);
    await a.getByTestId('import-scene').setInputFiles(importPayload);
    await waitForSceneReady(a, beforeA + 1);
    await expect.poll(() => a.getByTestId('gallery-item').count(), POLL).toBe(1);
    // Tab B was not reloaded: only the channel's message can have refreshed its list.
    await expect.poll(() => b.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await b.getByTestId('gallery-item').textContent()).toMatch(/e2e two tabs room/);

    const beforeB = await sceneId(b);
    await b.getByTestId('gallery-open').click();
    await waitForSceneReady(b, beforeB + 1);
    expect(await b.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);

    // The first click asks to confirm (wait for it: a second click before React re-renders would
    // only ask again), the second deletes.
    await a.getByTestId('gallery-delete').click();
    await expect.poll(() => a.getByTestId('gallery-delete').textContent(), POLL).toBe('Delete for good?');
    await a.getByTestId('gallery-delete').click();
    await expect.poll(() => a.getByTestId('gallery-item').count(), POLL).toBe(0);
    await expect.poll(() => b.getByTestId('gallery-item').count(), POLL).toBe(0);
    // B still shows the scene, says it is no longer saved, and can still export it.
    await expect.poll(() => b.getByTestId('scene-saved-status').textContent(), POLL).toMatch(/^Not saved/);
    expect(await b.getByTestId('notices').textContent()).toMatch(/deleted from the gallery in another tab, so it is no longer saved/);
    expect(await b.getByTestId('panorama-label').textContent()).toBe(metadata.prompt);
    expect(await sceneId(b)).toBe(beforeB + 1);
    expect(await b.getByTestId('export-depth').isDisabled()).toBe(false);
    const [download] = await Promise.all([b.waitForEvent('download'), b.getByTestId('export-metadata').click()]);
    expect(download.suggestedFilename()).toMatch(/\.json$/);
    expect(errors).toEqual([]);
  });
});
