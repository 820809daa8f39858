// "Sharpen what you look at" in the headset, in headless Chromium with the IWER emulator and the
// tiny LDM3D-SR models: enter VR, turn the emulated head towards the blue ball (front right, below
// eye level; the view centre holds the magenta marker), press the VR panel's Sharpen view, and
// check that progress reaches the VR panel, the detail layer changes around the looked-at
// direction and nowhere else, Cancel in VR leaves the layer as it was, and leaving the session
// mid-sharpen loses nothing (the run finishes, a notice says so, the app stays usable). The room is
// imported as a scene first, so that afterwards the desktop export offers the sharpened files:
// the 4096 × 2048 composite PNGs and a GLB textured with it.
//
// Buttons are pressed through the handlers the VR buttons themselves call (vr-debug.ts), as in
// vr-flow.e2e.ts: aiming the emulator's controller ray at a 10 cm button is not reliable on a
// loaded 2-core machine. The head is turned through the emulator's own input rig (what its
// pointer-lock mouse look writes), so the headset pose reaches the app through WebXR.
import { decode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringifyMetadata, type SceneMetadata } from '../../src/export/metadata';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { directionToUV, uvToDirection } from '../../src/panorama/equirect';
import { renderSyntheticPanorama, SYNTHETIC_SCENE } from '../../src/panorama/synthetic';
import { launchBrowser, openApp, saveArtefact, waitForFrames, waitForSceneReady, wasmAppUrl } from './browser';
import { VR_FONT_CHARSET } from '../../src/ui/vr/vr-font';

/** Model download + session creation + SR steps on SwiftShader, on a loaded 2-core machine. */
const LONG = 1_200_000;

type Detail = NonNullable<NonNullable<Window['__ldm3d']>['detail']>;

/** The app's own test room (1024 × 512), imported as a scene so it can be exported. */
const synthetic = renderSyntheticPanorama(1024);
const metadata: SceneMetadata = {
  prompt: 'vr sharpen room',
  negativePrompt: '',
  settings: { steps: 20, guidance: 5, scheduler: 'ddim', seed: 4242 },
  modelId: 'test/e2e',
  testWeights: true,
  createdAt: '2026-11-26T12:00:00.000Z',
  width: 1024,
  height: 512,
  depthMapping: synthetic.mapping,
};
const files = encodeSceneFiles({ width: 1024, height: 512, rgb: synthetic.panorama.rgba, depth: synthetic.panorama.depth }, metadata);
const importPayload = [
  { name: 'room-rgb.png', mimeType: 'image/png', buffer: Buffer.from(files.rgbPng) },
  { name: 'room-depth16.png', mimeType: 'image/png', buffer: Buffer.from(files.depthPng) },
  { name: 'room.metadata.json', mimeType: 'application/json', buffer: Buffer.from(stringifyMetadata(metadata)) },
];

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId(testId).click()]);
  const path = await d.path();
  const { readFile } = await import('node:fs/promises');
  return { name: d.suggestedFilename(), bytes: new Uint8Array(await readFile(path)) };
}

/** The JSON chunk of a GLB. */
function glbJson(bytes: Uint8Array): { images: { name?: string }[]; textures: { source: number; name?: string }[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(12, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + length)));
}

function realErrors(errors: readonly string[]): string[] {
  // Chromium reports a fully streamed `no-store` fetch as ERR_ABORTED (see sharpen.e2e.ts).
  return errors.filter((e) => !/^request failed: \S+\/models\/tiny\/ldm3d-(pano|sr)\/\S+ net::ERR_ABORTED$/.test(e));
}

async function vr<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([name, a]) => {
      const h = window.__ldm3dVR as unknown as Record<string, (...x: unknown[]) => unknown>;
      const f = h[name as string];
      if (typeof f !== 'function') throw new Error(`__ldm3dVR.${name as string} is not available (button disabled?)`);
      return f(...(a as unknown[])) as never;
    },
    [fn, args] as const,
  );
}

/**
 * Turns the emulated head: yaw about +Y (positive = left), then pitch about +X (positive = up),
 * on the emulator's input rig (@iwer/devui InputLayer: playerRig carries yaw, cameraRig pitch),
 * which copies its pose into the XR device every frame.
 */
async function turnHead(page: Page, yaw: number, pitch: number): Promise<void> {
  await page.evaluate(
    ([y, p]) => {
      const device = window.__ldm3d!.emulator as unknown as Record<symbol, { devui?: { inputLayer?: unknown } }>;
      const key = Object.getOwnPropertySymbols(device).find((s) => device[s]?.devui?.inputLayer);
      if (!key) throw new Error('the IWER emulator has no devui input layer');
      const layer = device[key].devui!.inputLayer as { playerRig: { rotation: { y: number } }; cameraRig: { rotation: { x: number } } };
      layer.playerRig.rotation.y = y;
      layer.cameraRig.rotation.x = p;
    },
    [yaw, pitch] as const,
  );
}

async function waitForRegions(page: Page, count: number, timeout: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const err = document.querySelector('[data-testid="errors"]')?.textContent;
      if (err && /Sharpen/.test(err)) throw new Error(`sharpen failed: ${err}`);
      return (window.__ldm3d?.detail?.regions ?? 0) >= n && window.__ldm3d?.sharpenStatus === 'idle';
    },
    count,
    { timeout, polling: 100 },
  );
}

function contains(d: Detail, u: number, v: number): boolean {
  const x = Math.floor(u * d.width) % d.width;
  const y = Math.min(d.height - 1, Math.floor(v * d.height));
  return d.rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
}

/** A 128 × 64 grid of texture coordinates over the whole panorama (pixel centres). */
const GRID: [number, number][] = [];
for (let j = 0; j < 64; j++) for (let i = 0; i < 128; i++) GRID.push([(i + 0.5) / 128, (j + 0.5) / 64]);

function angleBetween(a: { x: number; y: number; z: number }, b: { x: number; y: number; z: number }): number {
  const dot = a.x * b.x + a.y * b.y + a.z * b.z;
  return Math.acos(Math.max(-1, Math.min(1, dot / Math.hypot(a.x, a.y, a.z) / Math.hypot(b.x, b.y, b.z))));
}

describe('VR sharpen', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('sharpens where the head looks, shows progress in VR, cancels from VR, survives leaving VR mid-run', async () => {
    const { page, errors } = await openApp(browser, wasmAppUrl(inject('baseUrl'), { srSteps: '2' }), { width: 1280, height: 800 });
    await waitForSceneReady(page, 1);
    await page.getByTestId('import-scene').setInputFiles(importPayload);
    await waitForSceneReady(page, 2);
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toMatch(/room/);
    await expect.poll(() => page.getByTestId('export-glb').isEnabled(), { timeout: 30_000 }).toBe(true);
    // Nothing sharpened yet: no sharpened files offered.
    expect(await page.getByTestId('export-sharpened-rgb').count()).toBe(0);
    await page.getByRole('button', { name: 'Enter VR' }).click();
    await page.waitForFunction(() => window.__ldm3d?.xrSession === true, undefined, { timeout: 120_000, polling: 100 });
    await page.waitForFunction(() => window.__ldm3dVR?.panelMounted === true && typeof window.__ldm3dVR.sharpen === 'function', undefined, {
      timeout: 120_000,
      polling: 100,
    });
    expect(await page.evaluate(() => window.__ldm3d?.detail ?? null)).toBeNull();

    // Look at the blue ball: front right and below eye level (the rig was recentred facing −Z at
    // session start, so the emulator's world frame is the panorama's frame).
    const ball = SYNTHETIC_SCENE.spheres[0].centre;
    const yaw = -Math.atan2(ball.x, -ball.z);
    const pitch = Math.atan2(ball.y, Math.hypot(ball.x, ball.z));
    await turnHead(page, yaw, pitch);
    await waitForFrames(page, 5);
    const gaze = directionToUV(ball);
    saveArtefact('e2e/vr-sharpen-look.png', await page.screenshot());

    const before = await vr<number[]>(page, 'detailAlphaAt', GRID);
    expect(before.every((a) => a === 0)).toBe(true);
    await page.evaluate(() => void (window.__ldm3dVR!.sharpenProgressLog.length = 0));
    await vr(page, 'sharpen');
    await waitForRegions(page, 1, 900_000);

    // Progress went to the VR panel's label, in characters its bundled font has (vrText).
    const log = await page.evaluate(() => window.__ldm3dVR!.sharpenProgressLog);
    console.log(`[vr-sharpen] VR progress: ${JSON.stringify(log)}`);
    expect(log.some((t) => t.startsWith('Preparing the upscaler') || t.startsWith('Loading the upscaler'))).toBe(true);
    // Labels change at most every PROGRESS_MIN_MS, so fast steps may be skipped (on WASM both
    // steps and the placing can fall inside one window); a line from after the steps must show.
    expect(log.some((t) => /^Step [12] of 2$/.test(t) || t === 'Placing the sharpened patch' || t.startsWith('Saving the sharpened region'))).toBe(true);
    expect(log.every((t) => [...t].every((c) => VR_FONT_CHARSET.includes(c)))).toBe(true);

    // The layer changed around the looked-at direction and only there.
    const detail = (await page.evaluate(() => window.__ldm3d?.detail ?? null))!;
    console.log(`[vr-sharpen] gaze uv (${gaze.u.toFixed(3)}, ${gaze.v.toFixed(3)}), region ${JSON.stringify(detail.rects)}`);
    expect(detail.regions).toBe(1);
    expect(contains(detail, gaze.u, gaze.v)).toBe(true);
    // Not straight ahead (where the head did not look), not the mirror image, not behind or at the poles.
    for (const [u, v] of [
      [0.5, 0.5],
      [1 - gaze.u, gaze.v],
      [gaze.u, 1 - gaze.v],
      [0.001, 0.5],
      [0.25, 0.5],
      [gaze.u, 0.02],
      [gaze.u, 0.98],
    ]) {
      expect(contains(detail, u, v), `(${u}, ${v})`).toBe(false);
    }
    const after = await vr<number[]>(page, 'detailAlphaAt', GRID);
    const changed = GRID.filter((_, i) => after[i] !== before[i]);
    expect(changed.length).toBeGreaterThan(4);
    const gazeDir = uvToDirection(gaze.u, gaze.v);
    const farthest = Math.max(...changed.map(([u, v]) => angleBetween(uvToDirection(u, v), gazeDir)));
    console.log(`[vr-sharpen] ${changed.length} of ${GRID.length} grid points changed, farthest ${((farthest * 180) / Math.PI).toFixed(1)} deg from the gaze`);
    expect(farthest).toBeLessThan((30 * Math.PI) / 180);
    expect(after[GRID.findIndex(([u, v]) => Math.abs(u - gaze.u) <= 0.5 / 128 + 1e-9 && Math.abs(v - gaze.v) <= 0.5 / 64 + 1e-9)]).toBeGreaterThan(0);
    await waitForFrames(page, 3);
    saveArtefact('e2e/vr-sharpen-done.png', await page.screenshot());

    // Cancel from VR: a long run stopped after its first step leaves the layer as it was.
    await page.getByTestId('sharpen-steps').fill('1000');
    await page.waitForFunction(() => typeof window.__ldm3dVR?.sharpen === 'function', undefined, { timeout: 30_000, polling: 50 });
    await vr(page, 'sharpen');
    await page.waitForFunction(() => window.__ldm3dVR!.sharpenProgressLog.some((t) => /^Step [1-9]\d* of 1000$/.test(t)), undefined, {
      timeout: 300_000,
      polling: 20,
    });
    await vr(page, 'cancelSharpen');
    await page.waitForFunction(() => window.__ldm3d?.sharpenStatus === 'idle', undefined, { timeout: 120_000, polling: 50 });
    await expect.poll(() => page.getByTestId('notices').textContent()).toMatch(/Sharpen cancelled/);
    const afterCancel = (await page.evaluate(() => window.__ldm3d?.detail ?? null))!;
    expect(afterCancel.regions).toBe(1);
    expect(afterCancel.alphaSum).toBeCloseTo(detail.alphaSum, 6);
    expect(await vr<number[]>(page, 'detailAlphaAt', GRID)).toEqual(after);

    // Leave VR mid-sharpen: the run goes on (the direction was taken at the press), a notice says
    // so, and the patch lands; the desktop app stays usable.
    // Enough steps on WASM to still be running when the session has ended.
    await page.getByTestId('sharpen-steps').fill('600');
    await page.waitForFunction(() => typeof window.__ldm3dVR?.sharpen === 'function', undefined, { timeout: 30_000, polling: 50 });
    await page.evaluate(() => void (window.__ldm3dVR!.sharpenProgressLog.length = 0));
    await vr(page, 'sharpen');
    await page.waitForFunction(() => window.__ldm3dVR!.sharpenProgressLog.some((t) => /^Step \d+ of 600$/.test(t)), undefined, {
      timeout: 300_000,
      polling: 20,
    });
    // The emulator's own toolbar ends the session (as in viewer.e2e.ts); on two loaded cores the
    // renderer can take a while to answer the click while SR steps and XR frames compete.
    const exitAt = Date.now();
    await page.getByTitle('Click to exit XR session').click({ timeout: 120_000 });
    await page.waitForFunction(() => window.__ldm3d?.xrSession === false, undefined, { timeout: 60_000, polling: 50 });
    console.log(`[vr-sharpen] session ended ${Date.now() - exitAt} ms after the exit click started`);
    await expect.poll(() => page.getByTestId('notices').textContent(), { timeout: 30_000 }).toMatch(/left VR while sharpening/);
    await waitForRegions(page, 2, 600_000);
    const last = (await page.evaluate(() => window.__ldm3d?.detail ?? null))!;
    expect(last.regions).toBe(2);
    expect(contains(last, gaze.u, gaze.v)).toBe(true);
    expect(contains(last, 0.5, 0.5)).toBe(false);
    expect(await page.getByTestId('errors').textContent()).toBe('');
    await waitForFrames(page, 3);
    expect(await page.getByTestId('sharpen').isEnabled()).toBe(true);

    // Export of the sharpened scene (made in a worker): the composite at the layer's size, and a
    // GLB textured with it. Far from the sharpened region the composite is the base, upsampled.
    const rgb = await download(page, 'export-sharpened-rgb');
    expect(rgb.name).toMatch(/^ldm3d-2026-11-26-4242-vr-sharpen-room-sharpened\.png$/);
    const png = decode(rgb.bytes);
    expect([png.width, png.height, png.depth, png.channels]).toEqual([4096, 2048, 8, 3]);
    // Where the base is flat (3 × 3 texels within 2 levels) bilinear upsampling keeps its colour.
    const base = synthetic.panorama.rgba;
    let compared = 0;
    for (let by = 8; by < 512 - 8 && compared < 20; by += 37) {
      for (let bx = 8; bx < 1024 - 8 && compared < 20; bx += 53) {
        if (Math.abs(bx / 1024 - gaze.u) < 0.1) continue; // away from the sharpened region
        let flat = true;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            for (let c = 0; c < 3; c++) flat &&= Math.abs(base[((by + dy) * 1024 + bx + dx) * 4 + c] - base[(by * 1024 + bx) * 4 + c]) <= 2;
          }
        }
        if (!flat) continue;
        const o = ((by * 4 + 2) * 4096 + bx * 4 + 2) * 3;
        for (let c = 0; c < 3; c++) expect(Math.abs(png.data[o + c] - base[(by * 1024 + bx) * 4 + c]), `texel (${bx}, ${by})`).toBeLessThanOrEqual(2);
        compared++;
      }
    }
    expect(compared).toBe(20);
    const depth = await download(page, 'export-sharpened-depth');
    expect(depth.name).toMatch(/-sharpened-depth16\.png$/);
    const d16 = decode(depth.bytes);
    expect([d16.width, d16.height, d16.depth, d16.channels]).toEqual([4096, 2048, 16, 1]);
    const glb = await download(page, 'export-glb');
    const gltf = glbJson(glb.bytes);
    expect(gltf.images.map((i) => i.name)).toEqual(['rgb', 'rgb-sharpened', 'depth16']);
    expect(gltf.textures.map((t) => gltf.images[t.source].name)).toEqual(['rgb-sharpened']);
    console.log(`[vr-sharpen] exports: ${(rgb.bytes.length / 1e6).toFixed(1)} MB PNG, ${(depth.bytes.length / 1e6).toFixed(1)} MB depth PNG, ${(glb.bytes.length / 1e6).toFixed(1)} MB GLB`);
    expect(await page.getByTestId('errors').textContent()).toBe('');
    expect(realErrors(errors)).toEqual([]);
    await page.close();
  }, LONG);
});
