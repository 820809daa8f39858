/**
 * The WASM fallback with and without cross-origin isolation (issue 13 item 9), in real Chromium on
 * this machine: the built app served once with COOP/COEP (onnxruntime-web may then run its WASM
 * kernels on threads) and once without (one thread), the tiny model, `?backend=wasm`, the same
 * prompt, seed and steps. Prints the warm generation time of each and their ratio; never a test.
 *
 *   npm run build && npx tsx bench/wasm-threads.ts [--cores N] [--steps 8] [--runs 3] [--out FILE.json]
 *
 * onnxruntime-web picks min(4, ceil(navigator.hardwareConcurrency / 2)) threads when isolated:
 * --cores sets what the page sees (CDP Emulation.setHardwareConcurrencyOverride; default: this
 * machine's cores), so a 2-core machine can show what 2 threads do, not only its own default of 1.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser, ROOT, waitForGenerated, waitForSceneReady } from '../test/e2e/browser';
import { startStaticServer } from '../test/e2e/static-server';
import { median } from './lib/stats';

const { values: args } = parseArgs({
  options: {
    cores: { type: 'string', default: String(availableParallelism()) },
    steps: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const cores = Number(args.cores);
const steps = Number(args.steps);
const runs = Number(args.runs);

async function generateOnce(page: Page): Promise<number> {
  const before = Number(await page.getByTestId('generate-panel').getAttribute('data-generated-id'));
  const t0 = Date.now();
  await page.getByTestId('generate').click();
  await waitForGenerated(page, before, 600_000);
  return (Date.now() - t0) / 1000;
}

interface Row {
  readonly isolated: boolean;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly ortThreads: number;
  readonly firstS: number;
  readonly warmS: number[];
}

const browser = await launchBrowser();
const rows: Row[] = [];
try {
  for (const isolated of [false, true]) {
    const server = await startStaticServer([['/models/', join(ROOT, 'models')], ['/', join(ROOT, 'dist')]], isolated);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: cores });
    await page.goto(new URL('?backend=wasm', server.url).href);
    await waitForSceneReady(page, 1);
    const env = await page.evaluate(() => ({ coi: crossOriginIsolated, hc: navigator.hardwareConcurrency }));
    await page.getByTestId('prompt').fill('a quiet reading room with tall windows');
    await page.getByTestId('steps').fill(String(steps));
    await page.getByTestId('seed-random').uncheck();
    await page.getByTestId('seed').fill('7');
    const firstS = await generateOnce(page);
    const warmS: number[] = [];
    for (let i = 0; i < runs; i++) warmS.push(await generateOnce(page));
    const ortThreads = env.coi ? Math.min(4, Math.ceil(env.hc / 2)) : 1;
    rows.push({ isolated, crossOriginIsolated: env.coi, hardwareConcurrency: env.hc, ortThreads, firstS, warmS });
    console.log(`${isolated ? 'COOP/COEP' : 'no headers'}: crossOriginIsolated ${env.coi}, ${ortThreads} thread(s); first ${firstS.toFixed(1)} s, warm ${warmS.map((s) => s.toFixed(1)).join(' / ')} s`);
    await context.close();
    await server.close();
  }
} finally {
  await browser.close();
}
const [plain, iso] = rows;
if (plain && iso) {
  const a = median(plain.warmS) ?? Number.NaN;
  const b = median(iso.warmS) ?? Number.NaN;
  const ratio = a / b;
  console.log(`\nwarm generation (tiny model, WASM, ${steps} steps, median of ${runs}): ${a.toFixed(2)} s without isolation, ${b.toFixed(2)} s with (${iso.ortThreads} threads): ${ratio.toFixed(2)}× on ${availableParallelism()} cores (page told ${cores})`);
}
if (args.out) writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), machineCores: availableParallelism(), pageCores: cores, steps, runs, rows }, null, 2) + '\n');
