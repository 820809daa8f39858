import { describe, expect, it } from 'vitest';
import { SpeechError } from '../../src/speech/errors';
import { PushToTalk, type PushToTalkOptions, type PushToTalkState, type PushToTalkStatus } from '../../src/speech/push-to-talk';
import { WebSpeechRecognizer, WhisperRecognizer } from '../../src/speech/recognizer';
import { toWhisperInput } from '../../src/speech/resample';
import { detectSpeech } from '../../src/speech/vad';
import { WhisperEngine } from '../../src/speech/whisper-engine';
import type { WavAudio } from '../../src/speech/wav';
import { failingMicrophone, FakeSpeechRecognition, fakeMicrophone, RecordingRecognizer } from './fake-audio';
import { FIXTURES, loadFixture, TINY_WHISPER_DIR, TINY_WHISPER_ID } from './helpers';

const PRE = 0.25;
const POST = 0.15;

/** Every state the machine went through, plus how often it notified. */
function watch(ptt: PushToTalk) {
  const statuses: PushToTalkStatus[] = [ptt.getState().status];
  let notifications = 0;
  ptt.subscribe(() => {
    notifications++;
    const s = ptt.getState().status;
    if (statuses.at(-1) !== s) statuses.push(s);
  });
  return { statuses, notifications: () => notifications };
}

function settled(ptt: PushToTalk, timeoutMs = 20_000): Promise<PushToTalkState> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const s = ptt.getState();
      if (s.status === 'done' || s.status === 'error') {
        clearTimeout(timer);
        unsubscribe();
        resolve(s);
      }
    };
    const timer = setTimeout(() => reject(new Error(`still ${ptt.getState().status}`)), timeoutMs);
    const unsubscribe = ptt.subscribe(check);
    check();
  });
}

/** What the recogniser must receive, computed without the state machine: batch resample + VAD. */
function expectedSegment(wav: WavAudio): Float32Array {
  const x = toWhisperInput(wav.channels, wav.sampleRate);
  const segments = detectSpeech(x);
  const start = Math.floor((segments[0].start - PRE) * 16000);
  const end = Math.ceil((segments.at(-1)!.end + POST) * 16000);
  return x.slice(Math.max(0, start), Math.min(x.length, end));
}

function make(wav: WavAudio, extra: Partial<PushToTalkOptions> = {}) {
  const mic = fakeMicrophone(wav);
  const recognizer = (extra.recognizer as RecordingRecognizer | undefined) ?? new RecordingRecognizer();
  const ptt = new PushToTalk({ openMicrophone: mic.open, preRollMs: PRE * 1000, postRollMs: POST * 1000, ...extra, recognizer });
  return { mic, recognizer, ptt };
}

describe('PushToTalk with a PCM recogniser: capture -> 16 kHz mono -> VAD -> recogniser', () => {
  it.each(['cabin-noisy-44k.wav', 'peak-48k-stereo.wav', 'cabin-22k.wav'])(
    '%s (hold): the recogniser gets exactly the 16 kHz mono utterance, trimmed at the detected speech',
    async (name) => {
      const wav = loadFixture(name);
      const truth = FIXTURES[name];
      const { mic, recognizer, ptt } = make(wav);
      const log = watch(ptt);
      ptt.press();
      expect(ptt.getState().status).toBe('listening');
      let loudest = -Infinity;
      while (mic.delivered < wav.channels[0].length) {
        loudest = Math.max(loudest, ptt.getLevel());
        await new Promise((r) => setTimeout(r, 0));
      }
      await mic.finished;
      // The meter level follows the speech (espeak peaks near -20 dBFS RMS per chunk).
      expect(loudest).toBeGreaterThan(-30);
      ptt.release();
      const final = await settled(ptt);
      expect(final).toMatchObject({ status: 'done', transcript: 'a cozy wooden cabin at sunset', speechDetected: true, error: null });
      expect(log.statuses).toEqual(['idle', 'listening', 'transcribing', 'done']);
      // State changes on transitions only, never per audio chunk (there were dozens of chunks).
      expect(log.notifications()).toBeLessThanOrEqual(6);
      expect(mic.stopped).toBe(1);
      expect(ptt.getLevel()).toBe(-Infinity);

      expect(recognizer.segments).toHaveLength(1);
      const segment = recognizer.segments[0];
      // Bit-exact with the batch pipeline: streaming resampling and VAD changed nothing.
      expect(segment).toEqual(expectedSegment(wav));
      // And where the ground truth says the speech is (±100 ms), with the pre/post roll around it.
      const startSec = truth.speechStart! - PRE;
      const seconds = segment.length / 16000;
      expect(Math.abs(seconds - (truth.speechEnd! + POST - startSec))).toBeLessThanOrEqual(0.2);
      const x = toWhisperInput(wav.channels, wav.sampleRate);
      const at = Math.round(startSec * 16000);
      const offset = [-1600, -800, 0, 800, 1600].find((d) => x[at + d] === segment[0] && x[at + d + 100] === segment[100]);
      expect(offset, 'segment starts within ±100 ms of truth - preRoll').toBeDefined();
    },
  );

  it('tap mode stops by itself at the end of speech (after the hangover), before the recording ends', async () => {
    const wav = loadFixture('cabin-22k.wav');
    const { mic, recognizer, ptt } = make(wav, { mode: 'tap' });
    ptt.press();
    const final = await settled(ptt);
    expect(final.status).toBe('done');
    expect(mic.stopped).toBe(1);
    // Speech ends at 2.41 s, hangover 0.6 s: stopped near 3.0 s of the 3.31 s file.
    const stoppedAt = mic.delivered / wav.sampleRate;
    expect(stoppedAt).toBeGreaterThan(FIXTURES['cabin-22k.wav'].speechEnd! + 0.5);
    expect(stoppedAt).toBeLessThan(wav.channels[0].length / wav.sampleRate);
    expect(recognizer.segments[0]).toEqual(expectedSegment(wav));
  });

  it('tap mode: a second press stops listening', async () => {
    const wav = loadFixture('cabin-noisy-44k.wav');
    const { mic, ptt } = make(wav, { mode: 'tap' });
    ptt.press();
    while (mic.delivered < wav.sampleRate * 2.0) await new Promise((r) => setTimeout(r, 0));
    ptt.press();
    expect(ptt.getState().status).toBe('transcribing');
    expect((await settled(ptt)).status).toBe('done');
  });

  it('silence -> no-speech, with a message that points to the keyboard', async () => {
    const { mic, recognizer, ptt } = make(loadFixture('silence-48k.wav'));
    ptt.press();
    await mic.finished;
    ptt.release();
    const final = await settled(ptt);
    expect(final.status).toBe('error');
    expect(final.error?.kind).toBe('no-speech');
    expect(final.error?.message).toMatch(/type your prompt/);
    expect(recognizer.segments).toHaveLength(0);
  });

  it('gives up with no-speech when nothing was said for noSpeechTimeoutMs, and closes the mic', async () => {
    const noise = loadFixture('noise-44k.wav'); // 2 s of -30 dBFS pink noise
    const { mic, ptt } = make(noise, { noSpeechTimeoutMs: 1500 });
    ptt.press();
    const final = await settled(ptt);
    expect(final.error?.kind).toBe('no-speech');
    expect(mic.stopped).toBe(1);
    expect(mic.delivered / noise.sampleRate).toBeLessThan(1.8);
  });

  it('stops at maxDurationMs and transcribes what it has', async () => {
    const wav = loadFixture('cabin-noisy-44k.wav');
    const { mic, recognizer, ptt } = make(wav, { maxDurationMs: 2000 });
    ptt.press();
    const final = await settled(ptt);
    expect(final.status).toBe('done');
    expect(mic.stopped).toBe(1);
    // The limit is checked per chunk (2048 frames = 46 ms at 44.1 kHz).
    const limit = 2.0 + 2048 / wav.sampleRate;
    expect(recognizer.segments[0].length / 16000).toBeLessThanOrEqual(limit - (FIXTURES['cabin-noisy-44k.wav'].speechStart! - PRE) + 0.01);
    expect(mic.delivered / wav.sampleRate).toBeLessThan(limit + 0.01);
  });

  it.each([
    ['permission-denied', /denied/],
    ['no-device', /No microphone/],
    ['device-busy', /in use/],
    ['unsupported', /not available/],
  ] as const)('microphone failure %s -> error state with a clear message; pressing again retries', async (kind, text) => {
    const recognizer = new RecordingRecognizer();
    const ptt = new PushToTalk({ recognizer, openMicrophone: failingMicrophone(new SpeechError(kind)) });
    ptt.press();
    const final = await settled(ptt);
    expect(final.error).toEqual({ kind, message: expect.stringMatching(text) });
    expect(final.error!.message).toMatch(/type your prompt/);
    ptt.press();
    expect(ptt.getState()).toMatchObject({ status: 'listening', error: null });
  });

  it('no-audio reported by the capture (muted mic) ends the take', async () => {
    const wav = loadFixture('silence-48k.wav');
    const { mic, ptt } = make(wav);
    ptt.press();
    while (!mic.options) await new Promise((r) => setTimeout(r, 0));
    mic.options.onError!(new SpeechError('no-audio'));
    const final = await settled(ptt);
    expect(final.error?.kind).toBe('no-audio');
    expect(mic.stopped).toBe(1);
  });

  it('release while the microphone is still opening stops right after it opens', async () => {
    const wav = loadFixture('cabin-16k.wav');
    const mic = fakeMicrophone(wav, { openDelay: 30 });
    const ptt = new PushToTalk({ recognizer: new RecordingRecognizer(), openMicrophone: mic.open });
    ptt.press();
    ptt.release();
    const final = await settled(ptt);
    expect(mic.stopped).toBe(1);
    expect(final.error?.kind).toBe('no-speech');
  });

  it('cancel abandons the take: idle, mic closed, recogniser never called', async () => {
    const wav = loadFixture('cabin-22k.wav');
    const { mic, recognizer, ptt } = make(wav);
    ptt.press();
    while (mic.delivered < wav.sampleRate) await new Promise((r) => setTimeout(r, 0));
    ptt.cancel();
    expect(ptt.getState().status).toBe('idle');
    await mic.finished;
    expect(mic.stopped).toBe(1);
    expect(recognizer.segments).toHaveLength(0);
  });

  it('loads the model while listening and shows whole-percent progress, then clears it', async () => {
    const steps = [0.001, 0.002, 0.1, 0.105, 0.5, 1].map((f) => ({ status: 'download' as const, loaded: f * 1e6, total: 1e6, fraction: f }));
    const recognizer = new RecordingRecognizer('ok', steps);
    const wav = loadFixture('cabin-16k.wav');
    const { mic, ptt } = make(wav, { recognizer });
    const seen: number[] = [];
    ptt.subscribe(() => {
      const m = ptt.getState().model;
      if (m && seen.at(-1) !== m.fraction) seen.push(m.fraction);
    });
    ptt.press();
    await mic.finished;
    ptt.release();
    const final = await settled(ptt);
    expect(final).toMatchObject({ status: 'done', model: null });
    expect(recognizer.loads).toBe(1);
    expect(seen).toEqual([0.001, 0.1, 0.5, 1]); // 0.002 and 0.105 are the same whole percent
  });

  it('a model that fails to load -> model-load-failed', async () => {
    const recognizer = new RecordingRecognizer('ok', [], new SpeechError('model-load-failed', '404'));
    const wav = loadFixture('cabin-16k.wav');
    const { mic, ptt } = make(wav, { recognizer });
    ptt.press();
    await mic.finished;
    ptt.release();
    expect((await settled(ptt)).error?.kind).toBe('model-load-failed');
  });

  it('dispose stops the take and disposes the recogniser', async () => {
    const wav = loadFixture('cabin-22k.wav');
    const { mic, recognizer, ptt } = make(wav);
    ptt.press();
    await ptt.dispose();
    expect(recognizer.disposed).toBe(true);
    await mic.finished;
    ptt.press();
    expect(ptt.getState().status).toBe('idle');
  });
});

describe('PushToTalk with the real Whisper engine (tiny random weights)', () => {
  it('transcribes what it captured exactly as the engine does on the expected segment', async () => {
    const engine = new WhisperEngine({
      modelId: TINY_WHISPER_ID,
      device: 'cpu',
      dtype: 'fp32',
      maxNewTokens: 12,
      localModelPath: TINY_WHISPER_DIR + '/',
      allowRemoteModels: false,
    });
    const wav = loadFixture('peak-48k-stereo.wav');
    const mic = fakeMicrophone(wav);
    const ptt = new PushToTalk({ recognizer: new WhisperRecognizer(engine), openMicrophone: mic.open, preRollMs: PRE * 1000, postRollMs: POST * 1000 });
    ptt.press();
    await mic.finished;
    ptt.release();
    const final = await settled(ptt, 60_000);
    expect(final.status).toBe('done');
    const direct = (await engine.transcribe(expectedSegment(wav))).replace(/\s+/g, ' ').trim();
    expect(direct.length).toBeGreaterThan(0);
    expect(final.transcript).toBe(direct);
    await ptt.dispose();
  });
});

describe('PushToTalk with the Web Speech API', () => {
  it('hold: listens continuously, shows interim text, returns the final transcript on release', async () => {
    const ptt = new PushToTalk({ recognizer: new WebSpeechRecognizer(FakeSpeechRecognition, 'en-GB') });
    const log = watch(ptt);
    ptt.press();
    const rec = FakeSpeechRecognition.last!;
    expect(rec).toMatchObject({ started: true, continuous: true, interimResults: true, lang: 'en-GB' });
    rec.say(0, 'a cozy', false);
    expect(ptt.getState()).toMatchObject({ status: 'listening', transcript: 'a cozy', speechDetected: true });
    rec.say(0, 'a cozy wooden cabin', true);
    rec.say(1, ' at sun', false);
    ptt.release();
    expect(rec.stopped).toBe(true);
    rec.say(1, 'at sunset', true);
    rec.end();
    const final = await settled(ptt);
    expect(final).toMatchObject({ status: 'done', transcript: 'a cozy wooden cabin at sunset', recognizer: 'web-speech' });
    expect(log.statuses).toEqual(['idle', 'listening', 'transcribing', 'done']);
  });

  it('tap: single-utterance mode ends by itself', async () => {
    const ptt = new PushToTalk({ recognizer: new WebSpeechRecognizer(FakeSpeechRecognition), mode: 'tap' });
    ptt.press();
    const rec = FakeSpeechRecognition.last!;
    expect(rec.continuous).toBe(false);
    rec.say(0, 'a snowy mountain peak', true);
    rec.end();
    expect(await settled(ptt)).toMatchObject({ status: 'done', transcript: 'a snowy mountain peak' });
  });

  it.each([
    ['not-allowed', 'permission-denied'],
    ['audio-capture', 'no-device'],
    ['no-speech', 'no-speech'],
  ] as const)('browser error %s -> %s', async (browserError, kind) => {
    const ptt = new PushToTalk({ recognizer: new WebSpeechRecognizer(FakeSpeechRecognition) });
    ptt.press();
    FakeSpeechRecognition.last!.fail(browserError);
    FakeSpeechRecognition.last!.end();
    expect((await settled(ptt)).error?.kind).toBe(kind);
  });

  it('service unreachable (network) -> switches to the fallback recogniser for the next press', async () => {
    const whisper = new RecordingRecognizer();
    const web = new WebSpeechRecognizer(FakeSpeechRecognition);
    const wav = loadFixture('cabin-22k.wav');
    const mic = fakeMicrophone(wav);
    const ptt = new PushToTalk({ recognizer: web, fallbackRecognizer: () => whisper, openMicrophone: mic.open });
    ptt.press();
    FakeSpeechRecognition.last!.fail('network');
    FakeSpeechRecognition.last!.end();
    const failed = await settled(ptt);
    expect(failed).toMatchObject({ status: 'error', recognizer: 'whisper', error: { kind: 'recognizer-unavailable' } });
    ptt.press();
    await mic.finished;
    ptt.release();
    expect(await settled(ptt)).toMatchObject({ status: 'done', recognizer: 'whisper' });
    expect(whisper.segments).toHaveLength(1);
  });

  it('cancel aborts the browser session and returns to idle', async () => {
    const ptt = new PushToTalk({ recognizer: new WebSpeechRecognizer(FakeSpeechRecognition) });
    ptt.press();
    const rec = FakeSpeechRecognition.last!;
    ptt.cancel();
    expect(rec.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(ptt.getState().status).toBe('idle');
  });
});
