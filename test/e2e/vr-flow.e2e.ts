// The headset flow in headless Chromium with the IWER emulator: enter VR, the VR panel mounts,
// a prompt is typed on the virtual keyboard (through the keys' own handlers: 30 presses with
// capitals, digits and Backspace; aimed with the ray each costs several seconds here, and
// test/e2e/vr-pointer.e2e.ts drives keys, Generate and the gallery with the ray and trigger),
// generated with the tiny models in 2 steps, progress reaches the panel,
// the scene is saved and listed in the VR gallery, and stepping into it fades (swap behind the veil).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openApp, saveArtefact, waitForSceneReady, wasmAppUrl } from './browser';
import { VR_FONT_CHARSET } from '../../src/ui/vr/vr-font';

const PROMPT = 'Misty pine forest, 2 cabins';

async function vr<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([name, a]) => {
      const h = window.__ldm3dVR as unknown as Record<string, (...x: unknown[]) => unknown>;
      const f = h[name as string];
      if (typeof f !== 'function') throw new Error(`__ldm3dVR.${name as string} is not available`);
      return f(...(a as unknown[])) as never;
    },
    [fn, args] as const,
  );
}

describe('VR flow', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('types on the virtual keyboard, generates, shows progress, saves to the VR gallery, steps in with a fade', async () => {
    const { page, errors } = await openApp(browser, wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(page, 1);
    await page.getByRole('button', { name: 'Enter VR' }).click();
    await page.waitForFunction(() => window.__ldm3d?.xrSession === true, undefined, { timeout: 120_000, polling: 100 });
    await page.waitForFunction(() => window.__ldm3dVR?.panelMounted === true && window.__ldm3dVR.pressKey !== null, undefined, {
      timeout: 120_000,
      polling: 100,
    });
    // The movement limit was computed from the test room's depth.
    const radius = await page.evaluate(() => window.__ldm3dVR!.safeRadius);
    expect(radius).toBeGreaterThan(0);
    expect(radius).toBeLessThan(3);
    saveArtefact('e2e/vr-panel.png', await page.screenshot());

    // Type through the keyboard: Shift for the capital, the symbols layer for the digit.
    const names: string[] = [];
    for (const c of PROMPT) {
      if (c === ' ') names.push('Space');
      else if (/[0-9]/.test(c)) names.push('123', c, 'abc');
      else if (/[A-Z]/.test(c)) names.push('Shift', c.toLowerCase());
      else names.push(c);
    }
    names.push('x', 'Backspace');
    for (const n of names) {
      expect(await vr<boolean>(page, 'pressKey', n)).toBe(true);
    }
    // The desktop panel shows the same store: the typed prompt is there.
    await expect.poll(() => page.getByTestId('prompt').inputValue(), { timeout: 30_000 }).toBe(PROMPT);

    await vr(page, 'setSteps', 2);
    await expect.poll(() => page.getByTestId('steps').inputValue(), { timeout: 30_000 }).toBe('2');
    const fadesBefore = await page.evaluate(() => window.__ldm3dVR!.fades);
    const readyBefore = await page.evaluate(() => Number(document.body.dataset.sceneReady ?? '0'));
    await vr(page, 'generate');

    // Saved and listed in the VR gallery with its prompt.
    await page.waitForFunction(
      (p) => {
        const err = document.querySelector('[data-testid="generate-error"]')?.textContent;
        if (err) throw new Error(`generation failed: ${err}`);
        return (window.__ldm3dVR?.gallery ?? []).some((s) => s.prompt === p);
      },
      PROMPT,
      { timeout: 280_000, polling: 200 },
    );
    const shownId = await waitForSceneReady(page, readyBefore + 1, 60_000);
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toBe(PROMPT);
    // The new scene came in behind the fade, and the veil lifted again.
    expect(await page.evaluate(() => window.__ldm3dVR!.fades)).toBeGreaterThan(fadesBefore);
    await page.waitForFunction(() => window.__ldm3dVR!.fadeOpacity === 0, undefined, { timeout: 60_000, polling: 50 });

    const log = await page.evaluate(() => window.__ldm3dVR!.progressLog);
    expect(log.some((t) => /^Step [12] of 2/.test(t) || t.startsWith('Decoding'))).toBe(true);
    // Every character has a glyph in the panel's bundled font (vrText: Latin-1 and punctuation).
    expect(log.every((t) => [...t].every((c) => VR_FONT_CHARSET.includes(c)))).toBe(true);

    // Step into the saved scene from the VR gallery: another fade, the scene is shown again.
    const fadesAfterGenerate = await page.evaluate(() => window.__ldm3dVR!.fades);
    const index = await page.evaluate((p) => window.__ldm3dVR!.gallery.findIndex((s) => s.prompt === p), PROMPT);
    await vr(page, 'openScene', index);
    await waitForSceneReady(page, shownId + 1, 60_000);
    expect(await page.evaluate(() => window.__ldm3dVR!.fades)).toBe(fadesAfterGenerate + 1);
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toBe(PROMPT);
    saveArtefact('e2e/vr-gallery.png', await page.screenshot());

    // The model store aborts requests for model files it already holds or has sized (seen here
    // for every file of the tiny model, net::ERR_ABORTED); anything else is a failure.
    expect(errors.filter((e) => !/^request failed: \S+\/models\/tiny\/\S+ net::ERR_ABORTED$/.test(e))).toEqual([]);
    await page.close();
  });
});
