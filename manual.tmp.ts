import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { CHROMIUM_ARGS } from './test/e2e/browser';
const big = Buffer.alloc(300000, 7);
const srv = createServer((req, res) => {
  if (req.url === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<p>x</p>'); return; }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length), 'cache-control': 'no-store' }); res.end(big);
});
await new Promise<void>((r) => srv.listen(5302, '127.0.0.1', () => r()));
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
const p = await b.newPage();
p.on('requestfailed', (r) => console.log('requestfailed', r.url(), r.failure()?.errorText));
p.on('crash', () => console.log('crash'));
await p.goto('http://127.0.0.1:5302/');
const src = `onmessage = async (e) => {
    const out = [];
    for (const mode of ['no-store', 'default', 'no-cache']) {
      const r = await fetch('/f-' + mode + '-reader', { cache: mode });
      const rd = r.body.getReader(); let n = 0;
      for (;;) { const x = await rd.read(); if (x.done) break; n += x.value.length; }
      rd.releaseLock();
      const r2 = await fetch('/f-' + mode + '-ab', { cache: mode });
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
await b.close(); srv.close();
