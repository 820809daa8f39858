import { chromium } from 'playwright-core';
import { startStaticServer } from './test/e2e/static-server';
import { CHROMIUM_ARGS } from './test/e2e/browser';
const server = await startStaticServer([['/models/', '/work/main/models'], ['/', '/work/main/dist']]);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
b.on('disconnected', () => console.log('disconnected'));
const p = await b.newPage();
p.on('requestfailed', (r) => console.log('requestfailed', r.url().slice(-40), r.failure()?.errorText));
p.on('crash', () => console.log('crash'));
p.on('close', () => console.log('close'));
await p.goto(server.url + 'models/tiny/ldm3d-pano/manifest.json');
const src = `onmessage = async (e) => {
    const out = [];
    const f = '/models/tiny/ldm3d-pano/unet/model.onnx_data';
    for (const mode of ['no-store', 'default']) {
      const r = await fetch(f + '?' + mode + '-reader', { cache: mode });
      const rd = r.body.getReader(); let n = 0;
      for (;;) { const x = await rd.read(); if (x.done) break; n += x.value.length; }
      rd.releaseLock();
      const r2 = await fetch(f + '?' + mode + '-ab', { cache: mode });
      const ab = await r2.arrayBuffer();
      out.push(mode + ':' + n + ':' + ab.byteLength);
    }
    postMessage(out);
  }`;
const r = await p.evaluate(async (src) => {
  const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
  return new Promise((res) => { w.onmessage = (e) => res(e.data); w.postMessage(0); });
}, src);
console.log(r);
await new Promise((r) => setTimeout(r, 1000));
await b.close(); await server.close();
