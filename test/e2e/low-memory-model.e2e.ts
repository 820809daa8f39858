// The low-memory export a Quest 3 is pointed at (models/narrow_weights.py --storage int8; the tiny
// copy in models/tiny/ldm3d-pano-int8) in real Chromium on WebGPU (SwiftShader): the link
// `?model=…` selects it, the runtime checks the GPU's int8 dequantisation before using it, the model
// line says which weights run, and a panorama is generated and shown.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, openApp, saveArtefact, waitForGenerated, waitForSceneReady } from './browser';

const MODEL = './models/tiny/ldm3d-pano-int8/';
const PROMPT = 'a lighthouse on a cliff at night';
const LONG = 900_000;

/** See generate.e2e.ts: Chromium reports completed streamed no-store fetches as aborted. */
function realErrors(errors: readonly string[]): string[] {
  return errors.filter((e) => !/^request failed: \S+\/models\/tiny\/ldm3d-pano-int8\/\S+ net::ERR_ABORTED$/.test(e));
}

describe('low-memory (int8) export', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads from a ?model= link, verifies int8 dequantisation on the GPU, generates and shows the scene', async () => {
    const url = new URL(inject('baseUrl'));
    url.searchParams.set('model', MODEL);
    const { page, errors } = await openApp(browser, url.toString(), { width: 1280, height: 800 });
    await waitForSceneReady(page, 1);
    await expect
      .poll(() => page.getByTestId('model-size').textContent(), { timeout: 30_000 })
      .toMatch(/tiny-random\/ldm3d-pano\+int8-per-channel: [\d.]+ (KB|MB) to download/);
    await page.getByTestId('prompt').fill(PROMPT);
    await page.getByTestId('steps').fill('2');
    await page.getByTestId('generate').click();
    const id = await waitForGenerated(page, 0, 600_000);
    await waitForSceneReady(page, id);
    expect(await page.evaluate(() => window.__ldm3d?.panorama)).toEqual({ width: 128, height: 64, label: PROMPT });
    const line = await page.getByTestId('runtime-line').textContent();
    expect(line).toMatch(/^WebGPU on .*int8 weight dequantisation exact \(18432 values, \d+ ms\)/);
    expect(line).toMatch(/int8 weights \(per channel\) dequantised on the GPU$/);
    expect(await page.getByTestId('generate-error').textContent()).toBe('');
    saveArtefact('e2e/generate-int8.png', await page.screenshot());
    expect(realErrors(errors)).toEqual([]);
    await page.close();
  }, LONG);
});
