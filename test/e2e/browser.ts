// Shared helpers for the end-to-end tests: real Debian Chromium through playwright-core, with the
// flags that give WebGPU through SwiftShader on a machine without a GPU (ENVIRONMENT.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decode } from 'fast-png';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

export const ROOT = resolve(import.meta.dirname, '../..');
export const RESULTS = join(ROOT, 'test-results');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * The app's address with `?backend=wasm` (and `params`), for files that test a flow (gallery,
 * cache, offline, VR) rather than the WebGPU kernels. In a fresh page WebGPU on SwiftShader spends
 * over a minute compiling its pipelines before the first step (load + a 2-step generation: 77 s
 * against 6 s on WASM, 2 cores); WebGPU in the browser stays covered by generate.e2e.ts,
 * sharpen.e2e.ts and low-memory-model.e2e.ts, the kernels by the unit project's *.webgpu tests.
 */
export function wasmAppUrl(base: string, params: Record<string, string> = {}): string {
  const url = new URL(base);
  url.searchParams.set('backend', 'wasm');
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

export interface AppPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far (the tests require none). */
  readonly errors: string[];
}

export async function openApp(browser: Browser, url: string, viewport = { width: 960, height: 600 }): Promise<AppPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText ?? '';
    // A gallery thumbnail unmounted while its blob: URL loads (the list re-renders as scenes are
    // saved) is a cancelled load, not a failure; how often it happens depends only on timing.
    if (r.url().startsWith('blob:') && reason === 'net::ERR_ABORTED') return;
    errors.push(`request failed: ${r.url()} ${reason}`);
  });
  await page.goto(url);
  return { page, errors };
}

/**
 * Waits until the app reports that a frame showing panorama `id` or a later one has been rendered
 * (`document.body.dataset.sceneReady`). Returns that id. Never a fixed sleep.
 */
export async function waitForSceneReady(page: Page, atLeast = 1, timeout = 120_000): Promise<number> {
  await page.waitForFunction(
    (min) => Number(document.body.dataset.sceneReady ?? '0') >= min,
    atLeast,
    { timeout, polling: 100 },
  );
  return page.evaluate(() => Number(document.body.dataset.sceneReady));
}

/**
 * Asks for `count` frames and waits until the app has rendered them (the renderer is alive and
 * everything changed before this call is drawn). The desktop view renders on demand, so the frames
 * are requested; in XR the session renders every frame anyway.
 */
export async function waitForFrames(page: Page, count: number, timeout = 60_000): Promise<void> {
  const start = await page.evaluate((c) => {
    const handle = window.__ldm3d;
    handle?.requestFrames?.(c);
    return handle?.frames ?? 0;
  }, count);
  await page.waitForFunction(
    ([s, c]) => (window.__ldm3d?.frames ?? 0) >= s + c,
    [start, count] as const,
    { timeout, polling: 50 },
  );
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface Screenshot {
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
  pixel(x: number, y: number): Rgb;
  /** Mean colour of the (2·radius+1)² square around (x, y). */
  mean(x: number, y: number, radius: number): Rgb;
}

/** Hides every element but the viewer's canvas, so panels never cover the pixels a test reads. */
const CANVAS_ONLY_CSS =
  'body * { visibility: hidden !important; } canvas[data-testid="viewer-canvas"] { visibility: visible !important; }';

/**
 * A screenshot of the WebGL canvas alone (DOM panels hidden while it is taken), decoded so tests
 * can read pixels.
 */
export async function screenshotCanvas(page: Page): Promise<Screenshot> {
  const canvas = page.locator('canvas[data-testid="viewer-canvas"]');
  const style = await page.addStyleTag({ content: CANVAS_ONLY_CSS });
  let png: Buffer;
  try {
    png = await canvas.screenshot();
  } finally {
    await style.evaluate((el) => (el as Element).remove());
  }
  const img = decode(png);
  const ch = img.channels;
  const data = img.data;
  const pixel = (x: number, y: number): Rgb => {
    const i = (Math.round(y) * img.width + Math.round(x)) * ch;
    return { r: data[i], g: data[i + 1], b: data[i + 2] };
  };
  return {
    png,
    width: img.width,
    height: img.height,
    pixel,
    mean(x, y, radius) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          const p = pixel(x + dx, y + dy);
          r += p.r;
          g += p.g;
          b += p.b;
          n++;
        }
      }
      return { r: r / n, g: g / n, b: b / n };
    },
  };
}

/** Largest per-channel difference. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a.r - b.r), Math.abs(a.g - b.g), Math.abs(a.b - b.b));
}

export function saveArtefact(name: string, data: Uint8Array | string): string {
  const path = join(RESULTS, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

export async function generatedId(page: Page): Promise<number> {
  return Number(await page.getByTestId('generate-panel').getAttribute('data-generated-id'));
}

/** Waits until the panel reports a generated panorama with an id above `above`; returns it. */
export async function waitForGenerated(page: Page, above: number, timeout = 240_000): Promise<number> {
  await page.waitForFunction(
    (min) => {
      const panel = document.querySelector('[data-testid="generate-panel"]');
      const err = document.querySelector('[data-testid="generate-error"]')?.textContent;
      if (err) throw new Error(`generation failed: ${err}`);
      return Number(panel?.getAttribute('data-generated-id') ?? '0') > min;
    },
    above,
    { timeout, polling: 100 },
  );
  return generatedId(page);
}
