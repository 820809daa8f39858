// Served by Vite's dev server to headless Chromium (test/speech/browser.test.ts). Runs the shipped
// voice path unchanged: getUserMedia (Chromium's fake device playing a fixture WAV) -> AudioWorklet
// -> PushToTalk (resample + VAD) -> WhisperRecognizer in the speech worker (transformers.js +
// onnxruntime-web WASM) on the tiny random Whisper.
import { openMicrophone } from '../../../src/speech/capture';
import { PushToTalk, type PushToTalkState } from '../../../src/speech/push-to-talk';
import { createWhisperRecognizer, type PcmRecognizer } from '../../../src/speech/recognizer';
import type { LoadProgress } from '../../../src/speech/whisper-engine';

export interface BrowserRunResult {
  state: PushToTalkState;
  method: string | null;
  sampleRate: number | null;
  segmentSeconds: number[];
  progress: LoadProgress[];
  cachedUrls: string[];
  secondLoadProgress: LoadProgress[];
  /** ms since the run started, for the report when something is slow. */
  timings: Record<string, number>;
}

declare global {
  interface Window {
    speechTest: (listenMs: number) => Promise<BrowserRunResult>;
  }
}

const whisperOptions = {
  modelId: 'whisper-tiny-random',
  localModelPath: '/test/speech/data/',
  allowLocalModels: true,
  allowRemoteModels: false,
  device: 'wasm' as const,
  dtype: 'fp32' as const,
  maxNewTokens: 12,
};

window.speechTest = async (listenMs: number) => {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string) => (timings[name] = Math.round(performance.now() - t0));
  const real = createWhisperRecognizer({ whisperInWorker: true, whisper: whisperOptions });
  const progress: LoadProgress[] = [];
  const segmentSeconds: number[] = [];
  // Forwards to the real recogniser; it only notes what it was given, so the test can check it.
  const recognizer: PcmRecognizer = {
    kind: 'whisper',
    input: 'pcm16k',
    get ready() {
      return real.ready;
    },
    load: (onProgress) =>
      real.load((p) => {
        progress.push(p);
        if (p.status === 'ready') mark('modelReady');
        onProgress?.(p);
      }),
    transcribe: (pcm, signal) => {
      segmentSeconds.push(pcm.length / 16000);
      mark('transcribeStart');
      return real.transcribe(pcm, signal).finally(() => mark('transcribeEnd'));
    },
    dispose: () => real.dispose(),
  };
  let method: string | null = null;
  let sampleRate: number | null = null;
  const ptt = new PushToTalk({
    recognizer,
    openMicrophone: async (o) => {
      const mic = await openMicrophone(o);
      mark('micOpen');
      method = mic.method;
      sampleRate = mic.sampleRate;
      return mic;
    },
  });
  const done = new Promise<PushToTalkState>((resolve) => {
    ptt.subscribe(() => {
      const s = ptt.getState();
      if (s.status === 'done' || s.status === 'error') resolve(s);
    });
  });
  ptt.press();
  await new Promise((r) => setTimeout(r, listenMs));
  mark('release');
  ptt.release();
  const state = await done;
  mark('done');

  // Downloaded once: the files are in the browser's Cache API now, and a fresh worker reads them there.
  const cache = await caches.open('transformers-cache');
  const cachedUrls = (await cache.keys()).map((r) => new URL(r.url).pathname);
  await ptt.dispose();
  const again = createWhisperRecognizer({ whisperInWorker: true, whisper: whisperOptions });
  const secondLoadProgress: LoadProgress[] = [];
  await again.load((p) => secondLoadProgress.push(p));
  mark('secondLoad');
  await again.dispose();
  return { timings, state, method, sampleRate, segmentSeconds, progress, cachedUrls, secondLoadProgress };
};
