// Importing panoramas in real Chromium: bad input keeps the current scene and says what is wrong;
// a valid RGB + 16-bit depth pair (file picker) and an over-under image (drag and drop) replace it.
import { readFile } from 'node:fs/promises';
import { encode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MARKER_COLOUR } from '../../src/panorama/synthetic';
import {
  colourDistance,
  launchBrowser,
  openApp,
  saveArtefact,
  screenshotCanvas,
  waitForFrames,
  waitForSceneReady,
  type AppPage,
  type Rgb,
} from './browser';

const marker: Rgb = { r: MARKER_COLOUR[0], g: MARKER_COLOUR[1], b: MARKER_COLOUR[2] };

interface Payload {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/** A solid RGB PNG. */
function colourPng(name: string, width: number, height: number, rgb: Rgb): Payload {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([rgb.r, rgb.g, rgb.b], i * 3);
  return { name, mimeType: 'image/png', buffer: Buffer.from(encode({ width, height, data, channels: 3, depth: 8 })) };
}

/** A 16-bit grey depth PNG holding `value` (0…65535) everywhere. */
function depth16Png(name: string, width: number, height: number, value: number): Payload {
  const data = new Uint16Array(width * height).fill(value);
  return { name, mimeType: 'image/png', buffer: Buffer.from(encode({ width, height, data, channels: 1, depth: 16 })) };
}

/** One square image: colour panorama on top, 8-bit grey depth (as RGB) below. */
function overUnderPng(name: string, width: number, rgb: Rgb, depth8: number): Payload {
  const half = width / 2;
  const data = new Uint8Array(width * width * 3);
  for (let i = 0; i < width * width; i++) {
    const top = i < width * half;
    data.set(top ? [rgb.r, rgb.g, rgb.b] : [depth8, depth8, depth8], i * 3);
  }
  return { name, mimeType: 'image/png', buffer: Buffer.from(encode({ width, height: width, data, channels: 3, depth: 8 })) };
}

async function centreColour(page: Page): Promise<Rgb> {
  const shot = await screenshotCanvas(page);
  return shot.mean(shot.width / 2, shot.height / 2, 2);
}

/** The viewer's error region (role="alert"; other panels have their own). */
async function alerts(page: Page): Promise<string> {
  const region = page.getByTestId('errors');
  expect(await region.getAttribute('role')).toBe('alert');
  return (await region.textContent()) ?? '';
}

/** The viewer's notice region (role="status"). */
async function notices(page: Page): Promise<string> {
  const region = page.getByTestId('notices');
  expect(await region.getAttribute('role')).toBe('status');
  return (await region.textContent()) ?? '';
}

async function sceneReady(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.body.dataset.sceneReady ?? '0'));
}

/** Waits for the import to settle: an error shows up, or a new panorama is ready. */
async function waitForError(page: Page, pattern: RegExp): Promise<string> {
  await page.getByTestId('errors').filter({ hasText: pattern }).waitFor({ timeout: 60_000 });
  return alerts(page);
}

/** expect.poll's default second is too short while SwiftShader renders on shared cores. */
const POLL = { timeout: 15_000 };

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return { name: d.suggestedFilename(), bytes: new Uint8Array(await readFile(await d.path())) };
}

describe('import', () => {
  let browser: Browser;
  let app: AppPage;

  beforeAll(async () => {
    browser = await launchBrowser();
    app = await openApp(browser, inject('baseUrl'));
    await waitForSceneReady(app.page, 1);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('rejects a pair that is not 2:1, says so, and keeps the synthetic room', async () => {
    const { page } = app;
    await page.getByTestId('import-pair').setInputFiles([
      colourPng('wide.png', 300, 200, { r: 0, g: 200, b: 0 }),
      depth16Png('wide-depth.png', 300, 200, 30000),
    ]);
    const text = await waitForError(page, /2 : 1/);
    expect(text).toMatch(/300 × 200/);
    await waitForFrames(page, 3);
    expect(await sceneReady(page)).toBe(1);
    expect(await page.getByTestId('panorama-label').textContent()).toMatch(/synthetic/i);
    expect(colourDistance(await centreColour(page), marker)).toBeLessThan(12);
  });

  it('rejects a single image that is neither a depth pair nor over-under', async () => {
    const { page } = app;
    await page.getByTestId('import-over-under').setInputFiles([colourPng('photo.png', 300, 200, { r: 0, g: 200, b: 0 })]);
    await waitForError(page, /No depth image/);
    expect(await sceneReady(page)).toBe(1);
    expect(colourDistance(await centreColour(page), marker)).toBeLessThan(12);
  });

  it('rejects an unreadable file', async () => {
    const { page } = app;
    await page.getByTestId('import-over-under').setInputFiles([
      { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not an image at all') },
    ]);
    await waitForError(page, /could not be read/);
    expect(await sceneReady(page)).toBe(1);
    expect(colourDistance(await centreColour(page), marker)).toBeLessThan(12);
  });

  it('imports a valid RGB + 16-bit depth pair of different sizes, with a notice', async () => {
    const { page, errors } = app;
    const green: Rgb = { r: 30, g: 200, b: 60 };
    await page.getByTestId('import-pair').setInputFiles([
      // Depth listed first: the name decides which file is depth.
      depth16Png('field_depth.png', 128, 64, 40000),
      colourPng('field.png', 256, 128, green),
    ]);
    expect(await waitForSceneReady(page, 2)).toBe(2);
    expect(await page.getByTestId('panorama-label').textContent()).toBe('field.png + field_depth.png');
    expect(await notices(page)).toMatch(/resized to match/);
    expect(await alerts(page)).toBe('');
    const c = await centreColour(page);
    saveArtefact('e2e/import-pair.png', (await screenshotCanvas(page)).png);
    // A flat colour through the sRGB texture and back comes out as it went in.
    expect(colourDistance(c, green)).toBeLessThan(4);
    expect(await page.evaluate(() => window.__ldm3d!.panorama)).toMatchObject({ width: 256, height: 128 });
    expect(errors).toEqual([]);
  });

  it('keeps the imported pair in the gallery, without a seed, and exports it (issue 14)', async () => {
    const { page, errors } = app;
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);
    const item = (await page.getByTestId('gallery-item').textContent()) ?? '';
    expect(item).toMatch(/field\.png \+ field_depth\.png/);
    // Pixels carry no seed: none is shown (it read "seed 0").
    expect(item).not.toMatch(/seed/);
    expect(await page.getByTestId('export-glb').isDisabled()).toBe(false);
    const glb = await download(page, 'export-glb');
    expect(glb.name).toMatch(/^ldm3d-\d{4}-\d{2}-\d{2}-field-png-field-depth-png\.glb$/);
    expect(new TextDecoder().decode(glb.bytes.subarray(0, 4))).toBe('glTF');
    expect(errors).toEqual([]);
  });

  it('imports an over-under image dropped onto the page', async () => {
    const { page, errors } = app;
    const orange: Rgb = { r: 230, g: 120, b: 20 };
    const file = overUnderPng('ou.png', 256, orange, 128);
    const dataTransfer = await page.evaluateHandle(
      ({ b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/png' }));
        return dt;
      },
      { b64: file.buffer.toString('base64'), name: file.name },
    );
    const canvas = page.locator('canvas[data-testid="viewer-canvas"]');
    await canvas.dispatchEvent('dragenter', { dataTransfer });
    await canvas.dispatchEvent('dragover', { dataTransfer });
    await canvas.dispatchEvent('drop', { dataTransfer });
    expect(await waitForSceneReady(page, 3)).toBe(3);
    expect(await page.getByTestId('panorama-label').textContent()).toBe('ou.png');
    expect(colourDistance(await centreColour(page), orange)).toBeLessThan(4);
    expect(await page.evaluate(() => window.__ldm3d!.panorama)).toMatchObject({ width: 256, height: 128 });
    // A dropped image is saved and exportable like a picked pair.
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(2);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);
    expect(await page.getByTestId('export-glb').isDisabled()).toBe(false);
    expect(errors).toEqual([]);
  });

  it('goes back to the test room, which is exportable but not added to the gallery', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Test room' }).click();
    expect(await waitForSceneReady(page, 4)).toBe(4);
    expect(colourDistance(await centreColour(page), marker)).toBeLessThan(12);
    await expect.poll(() => page.getByTestId('scene-saved-status').textContent(), POLL).toMatch(/Not in the gallery/);
    const glb = await download(page, 'export-glb');
    expect(glb.name).toMatch(/^ldm3d-\d{4}-\d{2}-\d{2}-synthetic-test-room\.glb$/);
    expect(await page.getByTestId('gallery-item').count()).toBe(2);
  });
});
