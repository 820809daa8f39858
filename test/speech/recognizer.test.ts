import { describe, expect, it } from 'vitest';
import { SpeechError, SPEECH_ERROR_MESSAGES, toSpeechError } from '../../src/speech/errors';
import { createRecognizer, getSpeechRecognition, WebSpeechRecognizer, WhisperRecognizer, webSpeechErrorKind } from '../../src/speech/recognizer';
import { cleanTranscript, defaultDtype, ProgressAggregator, type LoadProgress } from '../../src/speech/whisper-engine';
import { FakeSpeechRecognition } from './fake-audio';

describe('createRecognizer', () => {
  it('picks the Web Speech API where the browser has it (prefixed or not)', () => {
    expect(createRecognizer({ scope: { SpeechRecognition: FakeSpeechRecognition } })).toBeInstanceOf(WebSpeechRecognizer);
    expect(createRecognizer({ scope: { webkitSpeechRecognition: FakeSpeechRecognition } }).kind).toBe('web-speech');
  });

  it('falls back to on-device Whisper where it has none, without loading anything yet', async () => {
    const r = createRecognizer({ scope: {}, whisperInWorker: false });
    expect(r).toBeInstanceOf(WhisperRecognizer);
    expect(r.kind === 'whisper' && r.ready).toBe(false);
    await r.dispose(); // nothing was created, nothing to free
  });

  it('honours an explicit preference', () => {
    expect(createRecognizer({ prefer: 'whisper', scope: { SpeechRecognition: FakeSpeechRecognition }, whisperInWorker: false }).kind).toBe('whisper');
    expect(() => createRecognizer({ prefer: 'web-speech', scope: {} })).toThrow(SpeechError);
    expect(getSpeechRecognition({ SpeechRecognition: 'not a constructor' })).toBeNull();
  });
});

describe('WebSpeechRecognizer', () => {
  it('maps the browser\'s error codes to our kinds', () => {
    expect(webSpeechErrorKind('not-allowed')).toBe('permission-denied');
    expect(webSpeechErrorKind('audio-capture')).toBe('no-device');
    expect(webSpeechErrorKind('network')).toBe('recognizer-unavailable');
    expect(webSpeechErrorKind('service-not-allowed')).toBe('recognizer-unavailable');
    expect(webSpeechErrorKind('something-new')).toBe('recognition-failed');
  });

  it('keeps the interim text when the service stops without a final result', async () => {
    const session = new WebSpeechRecognizer(FakeSpeechRecognition).listen({ continuous: true });
    FakeSpeechRecognition.last!.say(0, 'a misty lake', false);
    session.stop();
    FakeSpeechRecognition.last!.end();
    await expect(session.result).resolves.toBe('a misty lake');
  });

  it('a start() that throws rejects the result instead of throwing from listen()', async () => {
    class Broken extends FakeSpeechRecognition {
      override start(): void {
        throw new DOMException('nope', 'InvalidStateError');
      }
    }
    const session = new WebSpeechRecognizer(Broken).listen({ continuous: false });
    await expect(session.result).rejects.toMatchObject({ kind: 'recognition-failed' });
  });
});

describe('transcript and progress helpers', () => {
  it('cleanTranscript removes Whisper\'s non-speech tags', () => {
    expect(cleanTranscript(' [BLANK_AUDIO] ')).toBe('');
    expect(cleanTranscript(' A cozy  wooden cabin (wind blowing) at sunset. ♪')).toBe('A cozy wooden cabin at sunset.');
  });

  it('ProgressAggregator sums bytes over files when no total is sent', () => {
    const seen: LoadProgress[] = [];
    const agg = new ProgressAggregator((p) => seen.push(p));
    agg.handle({ status: 'progress', name: 'm', file: 'a.onnx', progress: 50, loaded: 50, total: 100 });
    agg.handle({ status: 'progress', name: 'm', file: 'b.onnx', progress: 0, loaded: 0, total: 300 });
    agg.handle({ status: 'progress', name: 'm', file: 'a.onnx', progress: 100, loaded: 100, total: 100 });
    expect(seen.map((p) => p.fraction)).toEqual([0.5, 50 / 400, 100 / 400]);
    agg.handle({ status: 'ready', task: 'automatic-speech-recognition', model: 'm' });
    expect(seen.at(-1)).toMatchObject({ status: 'ready', fraction: 1 });
  });

  it('default dtypes: fp32 encoder + 4-bit decoder on WebGPU, 8-bit on WASM', () => {
    expect(defaultDtype('webgpu')).toEqual({ encoder_model: 'fp32', decoder_model_merged: 'q4' });
    expect(defaultDtype('wasm')).toBe('q8');
  });

  it('every error kind has a message, and unknown throws are wrapped', () => {
    for (const [kind, message] of Object.entries(SPEECH_ERROR_MESSAGES)) {
      expect(new SpeechError(kind as SpeechError['kind']).message).toBe(message);
    }
    const wrapped = toSpeechError(new TypeError('boom'), 'recognition-failed');
    expect(wrapped).toMatchObject({ kind: 'recognition-failed', detail: 'TypeError: boom' });
    expect(toSpeechError(new DOMException('x', 'AbortError'), 'recognition-failed').kind).toBe('aborted');
  });
});
