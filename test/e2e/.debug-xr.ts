import { launchBrowser, openApp, waitForSceneReady } from './browser';
import { startStaticServer } from './static-server';
const server = await startStaticServer([['/', process.env.DIST ?? 'dist']]);
const b = await launchBrowser();
const { page, errors } = await openApp(b, server.url);
page.on('pageerror', (e) => console.log('STACK', e.stack)); page.on('console', (m) => { if (!m.text().includes('ReadPixels')) console.log('console', m.type(), m.text()); });
await waitForSceneReady(page, 1);
console.log('xr?', await page.evaluate(async () => [!!navigator.xr, await navigator.xr?.isSessionSupported('immersive-vr')]));
await page.getByRole('button', { name: 'Enter VR' }).click();
for (let i = 0; i < 5; i++) {
  await page.waitForTimeout(2000);
  console.log(await page.evaluate(() => JSON.stringify({f: window.__ldm3d?.frames, s: window.__ldm3d?.xrSession})));
}
console.log(await page.locator('[role=alert]').allTextContents());
console.log(errors);
await page.screenshot({ path: '/tmp/dbg/xr.png' });
await b.close(); await server.close();
