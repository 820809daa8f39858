// Leaving VR mid-generation (issue 13 item 7) with the IWER emulator: the session ends while the
// tiny model is stepping. The job goes on, the page says so and how to stop it, the scene is saved
// to the gallery and shown, and it is the scene the user finds when entering VR again. The other
// choice: Cancel on the page after leaving stops the job; nothing is saved and the previous scene stays.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generatedId, launchBrowser, openApp, waitForGenerated, waitForSceneReady, wasmAppUrl } from './browser';

const NOTICE = /You left VR while a panorama was being made\. It goes on/;

async function enterVR(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Enter VR' }).click();
  await page.waitForFunction(() => window.__ldm3d?.xrSession === true && window.__ldm3dVR?.panelMounted === true, undefined, {
    timeout: 120_000,
    polling: 100,
  });
}

async function startInVR(page: Page, prompt: string, steps: number): Promise<void> {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('steps').fill(String(steps));
  await page.evaluate(() => (window.__ldm3dVR as unknown as { generate(): void }).generate());
  // Under way: the VR panel has shown a diffusion step.
  await page.waitForFunction(() => (window.__ldm3dVR?.progressLog ?? []).some((t) => /^Step \d+ of/.test(t)), undefined, {
    timeout: 240_000,
    polling: 50,
  });
}

/**
 * Ends the session from the runtime's side, as taking the headset off or the browser's back button
 * does (not through the app's own Exit VR button, which the emulator's overlay covers anyway).
 */
async function leaveVR(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const device = window.__ldm3d?.emulator as { activeSession?: { end(): Promise<void> } } | null | undefined;
    if (!device?.activeSession) throw new Error('no emulated XR session to end');
    await device.activeSession.end();
  });
  await page.waitForFunction(() => window.__ldm3d?.xrSession === false, undefined, { timeout: 60_000, polling: 50 });
}

const galleryPrompts = (page: Page): Promise<string[]> => page.getByTestId('gallery-item').allTextContents();

describe('leaving VR while generating', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the job goes on, is saved and shown, and is the scene found on entering VR again', async () => {
    const prompt = 'Left VR, kept going';
    const { page } = await openApp(browser, wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(page, 1);
    const before = await generatedId(page);
    await enterVR(page);
    await startInVR(page, prompt, 150);
    await leaveVR(page);
    await expect.poll(() => page.getByTestId('notices').textContent(), { timeout: 10_000 }).toMatch(NOTICE);
    expect(await page.getByTestId('generate-panel').getAttribute('data-status')).toBe('generating');

    await waitForGenerated(page, before, 280_000);
    await page.waitForFunction((p) => window.__ldm3d?.panorama?.label === p, prompt, { timeout: 60_000, polling: 100 });
    await expect.poll(() => galleryPrompts(page), { timeout: 30_000 }).toEqual(expect.arrayContaining([expect.stringContaining(prompt)]));

    await enterVR(page);
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toBe(prompt);
    await page.waitForFunction((p) => (window.__ldm3dVR?.gallery ?? []).some((s) => s.prompt === p), prompt, { timeout: 30_000, polling: 100 });
    await leaveVR(page);
    await page.close();
  });

  it('Cancel on the page after leaving stops the job: nothing saved, the previous scene stays', async () => {
    const prompt = 'Left VR, then cancelled';
    const { page } = await openApp(browser, wasmAppUrl(inject('baseUrl')));
    await waitForSceneReady(page, 1);
    const shownBefore = await page.evaluate(() => window.__ldm3d?.panorama?.label);
    await enterVR(page);
    await startInVR(page, prompt, 400);
    await leaveVR(page);
    await expect.poll(() => page.getByTestId('notices').textContent(), { timeout: 10_000 }).toMatch(NOTICE);
    await page.getByTestId('cancel').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="generate-panel"]')?.getAttribute('data-status') === 'idle', undefined, {
      timeout: 60_000,
      polling: 50,
    });
    expect(await page.getByTestId('generate-error').textContent()).toBe('');
    expect(await page.evaluate(() => window.__ldm3d?.panorama?.label)).toBe(shownBefore);
    expect((await galleryPrompts(page)).some((t) => t.includes(prompt))).toBe(false);
    await page.close();
  });
});
