// The viewer in real Chromium: the page loads cleanly, the synthetic room renders the right way
// round, the desktop controls turn the view, and XR starts through the IWER emulator.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MARKER_COLOUR, SYNTHETIC_SCENE } from '../../src/panorama/synthetic';
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
  type Screenshot,
} from './browser';

const marker: Rgb = { r: MARKER_COLOUR[0], g: MARKER_COLOUR[1], b: MARKER_COLOUR[2] };
const VIEWPORT = { width: 960, height: 600 };
/** The app's camera (App.tsx). */
const FOV_Y = (75 * Math.PI) / 180;

/** Pixel where the desktop camera (at the origin, looking down −Z) sees world point p. */
function project(p: { x: number; y: number; z: number }, width: number, height: number): { x: number; y: number } {
  const t = Math.tan(FOV_Y / 2);
  const aspect = width / height;
  const nx = p.x / -p.z / (t * aspect);
  const ny = p.y / -p.z / t;
  return { x: ((nx + 1) / 2) * width, y: ((1 - ny) / 2) * height };
}

/** Centre of the pixels within `tolerance` of `colour`. */
function centroidOf(shot: Screenshot, colour: Rgb, tolerance: number): { x: number; y: number; count: number } {
  let x = 0;
  let y = 0;
  let count = 0;
  for (let py = 0; py < shot.height; py++) {
    for (let px = 0; px < shot.width; px++) {
      if (colourDistance(shot.pixel(px, py), colour) > tolerance) continue;
      x += px;
      y += py;
      count++;
    }
  }
  return { x: x / count, y: y / count, count };
}

/**
 * Moves the emulated headset sideways through the emulator's own panel (its UI owns the headset
 * pose and writes it every frame, so setting the device directly would be undone): the X field
 * of the position triple whose Y reads 1.60.
 */
async function setEmulatedHeadX(page: Page, x: string): Promise<void> {
  // Playwright's locators see into the emulator UI's shadow DOM; querySelectorAll does not.
  const values = await page.locator('input').evaluateAll((els) => els.map((el) => (el as HTMLInputElement).value));
  const index = values.findIndex((_, i) => values[i + 1] === '1.60' && i + 2 < values.length);
  expect(index).toBeGreaterThanOrEqual(0);
  await page.locator('input').nth(index).fill(x);
}

describe('viewer', () => {
  let browser: Browser;
  let app: AppPage;

  beforeAll(async () => {
    browser = await launchBrowser();
    app = await openApp(browser, inject('baseUrl'), VIEWPORT);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads without console errors and renders the synthetic room with the marker straight ahead', async () => {
    const { page, errors } = app;
    const id = await waitForSceneReady(page, 1);
    expect(id).toBe(1);
    const shot = await screenshotCanvas(page);
    saveArtefact('e2e/synthetic-desktop.png', shot.png);
    const cx = shot.width / 2;
    const cy = shot.height / 2;
    // The marker disc is 0.25 m at 4.5 m: ~±3.2° around the centre, tens of pixels wide.
    expect(colourDistance(shot.mean(cx, cy, 2), marker)).toBeLessThan(12);
    expect(await page.getByTestId('panorama-label').textContent()).toMatch(/synthetic/i);
    // Served with COOP + COEP (src/runtime/isolation-headers.ts): isolated, so SharedArrayBuffer
    // and onnxruntime's WASM threads are available, and everything above still loaded under COEP.
    expect(await page.evaluate(() => crossOriginIsolated && typeof SharedArrayBuffer === 'function')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('is not mirrored and up is up: the blue ball is front-right, the red table front-left and low', async () => {
    const { page } = app;
    const shot = await screenshotCanvas(page);
    const ball = SYNTHETIC_SCENE.spheres[0].centre; // (1.5, −0.6, −2.8)
    const table = SYNTHETIC_SCENE.boxes[0]; // front left
    const tableTop = { x: (table.min.x + table.max.x) / 2, y: table.max.y, z: (table.min.z + table.max.z) / 2 };
    const b = project(ball, shot.width, shot.height);
    const t = project(tableTop, shot.width, shot.height);
    expect(b.x).toBeGreaterThan(shot.width / 2);
    expect(t.x).toBeLessThan(shot.width / 2);
    const ballColour = shot.mean(b.x, b.y, 2);
    const tableColour = shot.mean(t.x, t.y, 2);
    // Shading changes brightness, not hue: blue dominates on the ball, red on the table.
    expect(ballColour.b).toBeGreaterThan(ballColour.r + 60);
    expect(ballColour.b).toBeGreaterThan(ballColour.g + 60);
    expect(tableColour.r).toBeGreaterThan(tableColour.g + 60);
    expect(tableColour.r).toBeGreaterThan(tableColour.b + 60);
    // A mirrored image would put other surfaces here: the ball and table colours are not found
    // at the mirrored positions.
    expect(colourDistance(shot.mean(shot.width - b.x, b.y, 2), ballColour)).toBeGreaterThan(40);
    expect(colourDistance(shot.mean(shot.width - t.x, t.y, 2), tableColour)).toBeGreaterThan(40);
  });

  it('turns the view with the keyboard (left arrow turns left: the marker moves right) and recenters', async () => {
    const { page } = app;
    // Keys go to the window; make sure no form field has focus (it would take the arrows).
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.down('ArrowLeft');
    await page.waitForFunction(() => (window.__ldm3d?.look.yaw ?? 0) > 0.25, undefined, { polling: 50 });
    await page.keyboard.up('ArrowLeft');
    await waitForFrames(page, 3);
    const yaw = await page.evaluate(() => window.__ldm3d!.look.yaw);
    // Held for a few frames at most 0.075 rad each (MAX_KEY_DT): the marker is still in view.
    expect(yaw).toBeLessThan(0.7);
    const shot = await screenshotCanvas(page);
    // Marker direction after turning left by yaw: it appears right of centre.
    const expectedX = project({ x: Math.sin(yaw), y: 0, z: -Math.cos(yaw) }, shot.width, shot.height).x;
    expect(expectedX).toBeGreaterThan(shot.width / 2 + 20);
    expect(colourDistance(shot.mean(expectedX, shot.height / 2, 1), marker)).toBeLessThan(20);
    expect(colourDistance(shot.mean(shot.width / 2, shot.height / 2, 1), marker)).toBeGreaterThan(60);

    await page.getByRole('button', { name: 'Recenter' }).click();
    await page.waitForFunction(() => window.__ldm3d?.look.yaw === 0, undefined, { polling: 50 });
    await waitForFrames(page, 3);
    const back = await screenshotCanvas(page);
    expect(colourDistance(back.mean(back.width / 2, back.height / 2, 2), marker)).toBeLessThan(12);
  });

  it('near and far take a typed value (issue 14): Enter applies it, a value out of range is put back', async () => {
    const { page } = app;
    const near = page.getByTestId('depth-near-value');
    const far = page.getByTestId('depth-far-value');
    const before = await page.evaluate(() => ({ ...window.__ldm3d!.depthMapping }));
    await far.fill('25');
    await far.press('Enter');
    await page.waitForFunction(() => window.__ldm3d?.depthMapping.far === 25, undefined, { polling: 50 });
    await near.fill('1.35');
    await near.press('Enter');
    await page.waitForFunction(() => window.__ldm3d?.depthMapping.near === 1.35, undefined, { polling: 50 });
    // The slider shows the typed value too (one source of truth).
    expect(Number(await page.getByTestId('depth-near').inputValue())).toBeCloseTo(1.35, 2);
    await near.fill('900');
    await near.press('Enter');
    expect(await near.inputValue()).toBe('1.35');
    expect(await page.evaluate(() => window.__ldm3d!.depthMapping.near)).toBe(1.35);
    // Back to the room's own distances: the next test measures parallax at the marker's true 4.5 m.
    await near.fill(String(before.near));
    await near.press('Enter');
    await far.fill(String(before.far));
    await far.press('Enter');
    await page.waitForFunction((b) => window.__ldm3d?.depthMapping.near === b.near && window.__ldm3d?.depthMapping.far === b.far, before, { polling: 50 });
  });

  it('enters VR through the emulator: a session starts and the scene keeps rendering', async () => {
    const { page, errors } = app;
    await page.getByRole('button', { name: 'Enter VR' }).click();
    await page.waitForFunction(() => window.__ldm3d?.xrSession === true, undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => window.__ldm3d!.xrMode)).toBe('immersive-vr');
    expect(await page.evaluate(() => document.body.dataset.xrSession)).toBe('active');
    await waitForFrames(page, 10);
    const shot = await screenshotCanvas(page);
    saveArtefact('e2e/synthetic-xr.png', shot.png);
    // Recentered at the emulated head: the marker is straight ahead in the XR view too.
    expect(colourDistance(shot.mean(shot.width / 2, shot.height / 2, 2), marker)).toBeLessThan(12);

    // Parallax from real geometry, drawn by the real shader: step the emulated head 0.5 m to the
    // right (inside the room's movement radius, ~0.58 m, beyond which the comfort clamp moves the
    // panorama with the head). The marker is 4.5 m ahead (the room's mapping is metric), so it
    // must now appear atan(0.5 / 4.5) to the left of the view's centre; a wrong depth mapping
    // moves it elsewhere.
    const step = 0.5;
    const fovy = await page.evaluate(() => window.__ldm3d!.emulator!.fovy);
    await setEmulatedHeadX(page, String(step));
    await waitForFrames(page, 5);
    const moved = await screenshotCanvas(page);
    saveArtefact('e2e/synthetic-xr-moved.png', moved.png);
    const found = centroidOf(moved, marker, 40);
    const aspect = moved.width / moved.height;
    const expectedX = moved.width / 2 + (-step / 4.5 / (Math.tan(fovy / 2) * aspect)) * (moved.width / 2);
    expect(found.count).toBeGreaterThan(50);
    expect(Math.abs(found.x - expectedX)).toBeLessThan(4);
    expect(Math.abs(found.y - moved.height / 2)).toBeLessThan(4);
    // For scale: a marker painted at 20 m instead would sit at about a fifth of that offset.
    expect(moved.width / 2 - found.x).toBeGreaterThan(20);
    await setEmulatedHeadX(page, '0');

    // The emulator's view covers the page while presenting; its own toolbar ends the session.
    await page.getByTitle('Click to exit XR session').click();
    await page.waitForFunction(() => window.__ldm3d?.xrSession === false, undefined, { timeout: 60_000 });
    await waitForFrames(page, 3);
    expect(errors).toEqual([]);
  });
});
