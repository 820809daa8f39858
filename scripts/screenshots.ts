/**
 * Re-takes the README's screenshots from the current build (issue 14): the desktop at 1280×800 on
 * the synthetic test room (docs/screenshot.png), and the view in VR through the desktop emulator
 * with the panel as it appears (docs/screenshot-vr.png). Real Chromium, the same server and flags
 * as the end-to-end tests; WebGPU through SwiftShader where there is no GPU.
 *
 *   npm run build && npx tsx scripts/screenshots.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openApp, ROOT, waitForSceneReady } from '../test/e2e/browser';
import { startStaticServer } from '../test/e2e/static-server';

const server = await startStaticServer([
  ['/models/', join(ROOT, 'models')],
  ['/', join(ROOT, 'dist')],
]);
const browser = await launchBrowser();
try {
  const { page } = await openApp(browser, server.url, { width: 1280, height: 800 });
  await waitForSceneReady(page, 1);
  // the model line has its size (the panel as a first-time user sees it)
  await page.waitForFunction(() => (document.querySelector('[data-testid="model-size"]')?.textContent ?? '').length > 0, undefined, {
    timeout: 60_000,
  });
  writeFileSync(join(ROOT, 'docs/screenshot.png'), await page.screenshot());
  console.log('wrote docs/screenshot.png');

  await page.getByRole('button', { name: 'Enter VR' }).click();
  await page.waitForFunction(() => window.__ldm3d?.xrSession === true && window.__ldm3dVR?.panelMounted === true, undefined, {
    timeout: 120_000,
    polling: 100,
  });
  // a few frames with the panel drawn (its text atlas loads after it mounts)
  await page.waitForTimeout(3000);
  writeFileSync(join(ROOT, 'docs/screenshot-vr.png'), await page.screenshot());
  console.log('wrote docs/screenshot-vr.png');
} finally {
  await browser.close();
  await server.close();
}
