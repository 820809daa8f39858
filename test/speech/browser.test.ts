// The voice path in a real browser: headless Chromium with its fake microphone playing an espeak-ng
// fixture, the real capture (getUserMedia + AudioWorklet), PushToTalk, and Whisper in the speech
// worker through @huggingface/transformers on onnxruntime-web (WASM), served by Vite's dev server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserRunResult } from './browser/page';
import { AUDIO_DIR, FIXTURES, ROOT, TINY_WHISPER_ID } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIXTURE = 'cabin-22k.wav';

describe('voice prompt in headless Chromium (fake microphone -> AudioWorklet -> VAD -> Whisper worker)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    server = await createServer({
      root: ROOT,
      configFile: false,
      logLevel: 'error',
      // The page imports src/ directly; no dependency pre-bundling (transformers.js and ORT are ESM).
      optimizeDeps: { noDiscovery: true, include: [] },
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    });
    await server.listen();
    const address = server.httpServer!.address() as { port: number };
    url = `http://127.0.0.1:${address.port}/test/speech/browser/index.html`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--autoplay-policy=no-user-gesture-required',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        // Play the fixture once as the microphone, then silence.
        `--use-file-for-fake-audio-capture=${join(AUDIO_DIR, FIXTURE)}%noloop`,
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('captures, finds the utterance, and transcribes it with the real Whisper code path', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.speechTest === 'function');
    const truth = FIXTURES[FIXTURE];
    const result: BrowserRunResult = await page.evaluate((ms) => window.speechTest(ms), 4500);

    expect(errors).toEqual([]);
    const context = JSON.stringify({ timings: result.timings, segments: result.segmentSeconds, rate: result.sampleRate });
    expect(result.state.error, context).toBeNull();
    expect(result.state.status, context).toBe('done');
    expect(result.method).toBe('audio-worklet');
    expect(result.sampleRate).toBeGreaterThanOrEqual(16000);
    expect(result.state.speechDetected).toBe(true);
    // One utterance of about the spoken length (+0.25 s pre-roll, +0.15 s post-roll). Chromium's
    // audio processing (AGC, noise suppression) shapes the edges, so allow a little more than ±100 ms.
    expect(result.segmentSeconds).toHaveLength(1);
    expect(Math.abs(result.segmentSeconds[0] - (truth.speechEnd! - truth.speechStart! + 0.4)), context).toBeLessThan(0.3);
    // The tiny random model's text is arbitrary but real: printable ASCII from its vocabulary.
    expect(result.state.transcript).toMatch(/^[\x20-\x7e]+$/);

    // Progress in bytes over the model's files, ending ready.
    expect(result.progress.at(-1)).toMatchObject({ status: 'ready', fraction: 1 });
    expect(result.progress.some((p) => p.status === 'download' && p.total > 1_000_000)).toBe(true);
    // Downloaded once: transformers.js put every model file in the Cache API ...
    const model = `/test/speech/data/${TINY_WHISPER_ID}/`;
    expect(result.cachedUrls).toEqual(expect.arrayContaining([`${model}onnx/encoder_model.onnx`, `${model}onnx/decoder_model_merged.onnx`, `${model}tokenizer.json`]));
    // ... and a second worker loads from it.
    expect(result.secondLoadProgress.at(-1)).toMatchObject({ status: 'ready' });
    await page.close();
  });
});
