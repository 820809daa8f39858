/**
 * Frame times of the viewer while the pipeline runs (issues 4 and 6): the worker owns the GPU work,
 * so the render loop must keep its pace. Opens the built app in real Chromium, records
 * requestAnimationFrame intervals for a few seconds idle, then during a generation with the tiny
 * models (WebGPU on whatever adapter the browser has), and prints both distributions and their ratio.
 *
 *   npm run build && npx tsx bench/frame-times.ts [--steps 4] [--seconds 5] [--chromium PATH] [--gpu]
 *
 * Without --gpu, Chromium runs WebGPU and WebGL on SwiftShader (CPU): the absolute times then say
 * nothing about a headset, only the idle/generating ratio does. Run it on purpose, never in CI.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/e2e/browser';
import { startStaticServer } from '../test/e2e/static-server';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    gpu: { type: 'boolean', default: false },
  },
});
const root = resolve(import.meta.dirname, '..');
const seconds = Number(values.seconds);

interface FrameStats {
  frames: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  over33Ms: number;
}

function stats(intervals: number[]): FrameStats {
  const s = [...intervals].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return {
    frames: s.length,
    medianMs: q(0.5),
    p95Ms: q(0.95),
    maxMs: s[s.length - 1] ?? NaN,
    over33Ms: s.filter((x) => x > 33.4).length,
  };
}

/** Starts recording requestAnimationFrame intervals in the page. */
async function startRecording(page: Page): Promise<void> {
  // A string, not a function: tsx/esbuild would wrap named inner functions in a __name() helper
  // that does not exist in the page.
  await page.evaluate(`(() => {
    const w = window;
    w.__frameLog = [];
    w.__frameStop = false;
    let last = performance.now();
    const tick = (t) => {
      w.__frameLog.push(t - last);
      last = t;
      if (!w.__frameStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
}

async function stopRecording(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __frameLog: number[]; __frameStop: boolean };
    w.__frameStop = true;
    return w.__frameLog.slice(1); // the first interval spans the evaluate call
  });
}

const server = await startStaticServer([
  ['/models/', join(root, 'models')],
  ['/', join(root, 'dist')],
]);
const args = values.gpu ? CHROMIUM_ARGS.filter((a) => !/swiftshader/.test(a)) : CHROMIUM_ARGS;
const browser = await chromium.launch({ executablePath: values.chromium, args });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url);
  await page.waitForFunction(() => Number(document.body.dataset.sceneReady ?? '0') >= 1, undefined, { timeout: 120_000 });

  await startRecording(page);
  await page.waitForTimeout(seconds * 1000); // a measurement window, not a synchronisation sleep
  const idle = stats(await stopRecording(page));

  await page.getByTestId('prompt').fill('a quiet harbour at dawn');
  await page.getByTestId('steps').fill(values.steps);
  await page.getByTestId('generate').click();
  // Measure only while the worker is generating (after loading), so model download is excluded.
  await page.waitForFunction(() => document.querySelector('[data-testid="generate-panel"]')?.getAttribute('data-status') === 'generating', undefined, { timeout: 300_000 });
  await startRecording(page);
  await page.waitForFunction(
    () => document.querySelector('[data-testid="generate-panel"]')?.getAttribute('data-status') !== 'generating',
    undefined,
    { timeout: 900_000, polling: 200 },
  );
  const busy = stats(await stopRecording(page));

  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    return a ? `${a.info.vendor} ${a.info.architecture}`.trim() : 'none';
  });
  const result = {
    date: new Date().toISOString(),
    adapter,
    steps: Number(values.steps),
    idle,
    generating: busy,
    medianRatio: busy.medianMs / idle.medianMs,
    p95Ratio: busy.p95Ms / idle.p95Ms,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\nframe time median ${idle.medianMs.toFixed(1)} ms idle vs ${busy.medianMs.toFixed(1)} ms generating ` +
      `(×${result.medianRatio.toFixed(2)}); p95 ${idle.p95Ms.toFixed(1)} vs ${busy.p95Ms.toFixed(1)} ms ` +
      `(×${result.p95Ratio.toFixed(2)}); frames over 33 ms while generating: ${busy.over33Ms}/${busy.frames}`,
  );
} finally {
  await browser.close();
  await server.close();
}
