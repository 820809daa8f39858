// Issue 13 item 10: non-ASCII prompts on the VR panel. The panel loads the bundled Latin-1 MSDF
// font (public/fonts, no network font), and an accented prompt with typographic punctuation is laid
// out without a single missing glyph: uikit warns "Missing glyph info for character …" for every
// character its font lacks, which is what the default font (ASCII and a few German letters) did
// for "é", "à", "—", "“" … The emoji is drawn as one "?" by vrText, not as broken glyphs.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openApp, saveArtefact, waitForFrames, waitForSceneReady } from './browser';

const PROMPT = 'Café crème à Zürich — “été” ½ °C, Ærøskøbing 🌅';

describe('VR panel font', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws an accented prompt with the bundled font and no missing glyph', async () => {
    const { page, errors } = await openApp(browser, inject('baseUrl'));
    const missing: string[] = [];
    page.on('console', (m) => {
      if (m.text().includes('Missing glyph')) missing.push(m.text());
    });
    const fontJson = page.waitForResponse((r) => r.url().endsWith('/fonts/inter-latin1-400.json'), { timeout: 120_000 });
    const fontPng = page.waitForResponse((r) => r.url().endsWith('/fonts/inter-latin1-400.png'), { timeout: 120_000 });
    await waitForSceneReady(page, 1);
    await page.getByRole('button', { name: 'Enter VR' }).click();
    await page.waitForFunction(() => window.__ldm3d?.xrSession === true, undefined, { timeout: 120_000, polling: 100 });
    await page.waitForFunction(() => window.__ldm3dVR?.panelMounted === true, undefined, { timeout: 120_000, polling: 100 });
    expect((await fontJson).ok()).toBe(true);
    expect((await fontPng).ok()).toBe(true);

    // The desktop panel and the VR panel show one store: the VR prompt field now holds the text.
    await page.getByTestId('prompt').fill(PROMPT);
    await waitForFrames(page, 30);
    saveArtefact('e2e/vr-font.png', await page.screenshot());
    expect(missing).toEqual([]);
    expect(errors).toEqual([]);
  });
});
