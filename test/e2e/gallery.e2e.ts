// Scenes that last, in real Chromium: an imported scene is saved to IndexedDB before it is shown,
// survives a reload, is listed and reopened from the gallery, exports a GLB that three's
// GLTFLoader parses with the right vertex count and a 16-bit depth PNG with the exact values, and
// is deleted for good. Without IndexedDB the scene is still shown, with a message, and exports.
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import type { Mesh, MeshBasicMaterial } from 'three';
import { GLTFLoader, type GLTF } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { renderSyntheticPanorama } from '../../src/panorama/synthetic';
import { segmentsForImage, sphereVertexCount } from '../../src/panorama/mesh';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { stringifyMetadata, type SceneMetadata } from '../../src/export/metadata';
import { decodeDepthPng } from '../../src/export/png';
import { installBrowserShims, type FakeImageBitmap } from '../export/node-shims';
import { launchBrowser, openApp, waitForGenerated, waitForSceneReady, type AppPage, wasmAppUrl } from './browser';

const W = 256;
const H = 128;
const synthetic = renderSyntheticPanorama(W, H);
const metadata: SceneMetadata = {
  prompt: 'e2e gallery room',
  negativePrompt: '',
  settings: { steps: 20, guidance: 5, scheduler: 'ddim', seed: 777 },
  modelId: 'test/e2e',
  testWeights: true,
  createdAt: '2026-07-01T10:00:00.000Z',
  width: W,
  height: H,
  depthMapping: synthetic.mapping,
};
const files = encodeSceneFiles(
  { width: W, height: H, rgb: synthetic.panorama.rgba, depth: synthetic.panorama.depth },
  metadata,
);
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

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const path = await d.path();
  return { name: d.suggestedFilename(), bytes: new Uint8Array(await readFile(path)) };
}

describe('gallery and export', () => {
  let browser: Browser;
  let app: AppPage;
  let uninstall: () => void;

  beforeAll(async () => {
    uninstall = installBrowserShims();
    browser = await launchBrowser();
    app = await openApp(browser, wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(app.page, 1);
  });

  afterAll(async () => {
    await browser?.close();
    uninstall?.();
  });

  it('starts with an empty gallery; the test room is exportable without being saved (issue 14)', async () => {
    const { page } = app;
    await expect.poll(() => page.getByTestId('gallery').textContent(), POLL).toMatch(/No saved scenes yet/);
    expect(await page.getByTestId('export-glb').isDisabled()).toBe(false);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Not in the gallery/);
  });

  it('imports RGB + 16-bit depth + metadata: saved, then shown, then listed', async () => {
    const { page } = app;
    const before = await sceneId(page);
    await page.getByTestId('import-scene').setInputFiles(importPayload);
    await waitForSceneReady(page, before + 1);
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);
    expect(await page.getByTestId('panorama-label').textContent()).toBe(metadata.prompt);
    expect(await page.getByTestId('gallery-item').textContent()).toMatch(/e2e gallery room.*seed 777.*test weights/);
    // The thumbnail decodes (its object URL is alive): 256 × 128 from a 256 × 128 scene.
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="gallery-item"] img');
      return img !== null && img.complete && img.naturalWidth === 256 && img.naturalHeight === 128;
    });
  });

  it('exports a GLB that GLTFLoader parses with the right vertex count and texture', async () => {
    const { page } = app;
    const glb = await download(page, 'export-glb');
    expect(glb.name).toBe('ldm3d-2026-07-01-777-e2e-gallery-room.glb');
    const buffer = glb.bytes.buffer.slice(glb.bytes.byteOffset, glb.bytes.byteOffset + glb.bytes.byteLength) as ArrayBuffer;
    const gltf = await new Promise<GLTF>((resolve, reject) => new GLTFLoader().parse(buffer, '', resolve, reject));
    const mesh = gltf.scene.getObjectByName('panorama') as Mesh;
    const { segmentsX, segmentsY } = segmentsForImage(W, H);
    expect(mesh.geometry.attributes.position.count).toBe(sphereVertexCount(segmentsX, segmentsY));
    const image = (mesh.material as MeshBasicMaterial).map!.image as FakeImageBitmap;
    expect([image.width, image.height]).toEqual([W, H]);
  });

  it('exports the 16-bit depth PNG with exactly the imported values, and the metadata JSON', async () => {
    const { page } = app;
    const depth = await download(page, 'export-depth');
    expect(depth.name).toMatch(/-depth16\.png$/);
    expect(decodeDepthPng(depth.bytes).depth16).toEqual(decodeDepthPng(files.depthPng).depth16);
    const json = await download(page, 'export-metadata');
    const doc = JSON.parse(new TextDecoder().decode(json.bytes));
    expect(doc).toMatchObject({ format: 'ldm3d-xr.scene', prompt: metadata.prompt, settings: metadata.settings });
  });

  it('survives a reload and reopens from the gallery', async () => {
    const { page } = app;
    await page.reload();
    await waitForSceneReady(page, 1);
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    const before = await sceneId(page);
    await page.getByTestId('gallery-open').click();
    await waitForSceneReady(page, before + 1);
    expect(await page.getByTestId('panorama-label').textContent()).toBe(metadata.prompt);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);
  });

  it('rejects a file it cannot import with a message, keeping the scene', async () => {
    const { page } = app;
    const shown = await sceneId(page);
    await page
      .getByTestId('import-scene')
      .setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') }]);
    await expect.poll(() => page.getByTestId('errors').textContent(), POLL).toMatch(/notes\.txt is not a file LDM3D-XR can import/);
    expect(await sceneId(page)).toBe(shown);
    expect(await page.getByTestId('gallery-item').count()).toBe(1);
  });

  it('deletes for good (two clicks), also after a reload', async () => {
    const { page, errors } = app;
    await page.getByTestId('gallery-delete').click();
    expect(await page.getByTestId('gallery-item').count()).toBe(1);
    await page.getByTestId('gallery-delete').click();
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(0);
    await page.reload();
    await waitForSceneReady(page, 1);
    await expect.poll(() => page.getByTestId('gallery').textContent(), POLL).toMatch(/No saved scenes yet/);
    expect(errors).toEqual([]);
  });

  it('without IndexedDB (private mode): shows the scene, says so, and still exports', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
    });
    await page.goto(wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(page, 1);
    const before = await sceneId(page);
    await page.getByTestId('import-scene').setInputFiles(importPayload);
    await waitForSceneReady(page, before + 1);
    await expect.poll(() => page.getByTestId('errors').textContent(), POLL).toMatch(/IndexedDB is not available/);
    expect(await page.getByTestId('gallery-error').textContent()).toMatch(/IndexedDB is not available/);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Not saved/);
    const rgb = await download(page, 'export-rgb');
    expect(Array.from(rgb.bytes)).toEqual(Array.from(files.rgbPng));
    await page.close();
  });
});

describe('generate → saved → reload → gallery → step in → GLB (the issue’s end-to-end flow)', () => {
  let browser: Browser;
  let uninstall: () => void;

  beforeAll(async () => {
    uninstall = installBrowserShims();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    uninstall?.();
  });

  it('generates with the tiny models, keeps the scene across a reload and exports it', async () => {
    const { page, errors } = await openApp(browser, wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(page, 1);
    const prompt = 'a glass greenhouse full of ferns';
    await page.getByTestId('prompt').fill(prompt);
    await page.getByTestId('steps').fill('2');
    await page.getByTestId('seed-random').uncheck();
    await page.getByTestId('seed').fill('4321');
    await page.getByTestId('generate').click();
    await waitForGenerated(page, 0);
    // Saved before shown: by the time the panorama is on screen, the gallery lists it.
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await page.getByTestId('scene-saved-status').textContent()).toMatch(/Saved in this browser/);
    const size = await page.evaluate(() => window.__ldm3d?.panorama);
    expect(size?.label).toBe(prompt);

    await page.reload();
    await waitForSceneReady(page, 1);
    await expect.poll(() => page.getByTestId('gallery-item').count(), POLL).toBe(1);
    expect(await page.getByTestId('gallery-item').textContent()).toMatch(/greenhouse.*seed 4321.*test weights/);
    const before = await sceneId(page);
    await page.getByTestId('gallery-open').click();
    await waitForSceneReady(page, before + 1);
    expect(await page.evaluate(() => window.__ldm3d?.panorama)).toEqual(size);

    const glb = await download(page, 'export-glb');
    const buffer = glb.bytes.buffer.slice(glb.bytes.byteOffset, glb.bytes.byteOffset + glb.bytes.byteLength) as ArrayBuffer;
    const gltf = await new Promise<GLTF>((resolve, reject) => new GLTFLoader().parse(buffer, '', resolve, reject));
    const mesh = gltf.scene.getObjectByName('panorama') as Mesh;
    const { segmentsX, segmentsY } = segmentsForImage(size!.width, size!.height);
    expect(mesh.geometry.attributes.position.count).toBe(sphereVertexCount(segmentsX, segmentsY));
    // The colour panorama travels as the mesh's sRGB base-colour texture.
    const map = (mesh.material as MeshBasicMaterial).map;
    expect(map?.isTexture).toBe(true);
    expect(map?.colorSpace).toBe('srgb');
    // The model loader aborts some of its own model-file requests (seen without any reload too);
    // that belongs to the generate tests. Anything else logged here is a failure (a thumbnail's
    // cancelled blob: load is already left out by openApp).
    expect(errors.filter((e) => !/^request failed: .*\/models\/.* net::ERR_ABORTED$/.test(e))).toEqual([]);
    await page.close();
  });
});
