import { describe, expect, it } from 'vitest';
import { toWhisperInput } from '../../src/speech/resample';
import { detectSpeech, EnergyVad, type VadEvent } from '../../src/speech/vad';
import { FIXTURES, loadFixture } from './helpers';

const TOLERANCE = 0.1; // seconds, the issue's ±100 ms

function fixture16k(name: string): Float32Array {
  const { channels, sampleRate } = loadFixture(name);
  return toWhisperInput(channels, sampleRate);
}

function silence(seconds: number): Float32Array {
  return new Float32Array(Math.round(seconds * 16000));
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('EnergyVad on espeak-ng speech', () => {
  it.each(['cabin-22k.wav', 'cabin-16k.wav', 'peak-48k-stereo.wav', 'cabin-noisy-44k.wav'])(
    '%s: one utterance, start and end within ±100 ms of the padding sox added',
    (name) => {
      const truth = FIXTURES[name];
      const segments = detectSpeech(fixture16k(name));
      expect(segments).toHaveLength(1);
      expect(Math.abs(segments[0].start - truth.speechStart!)).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(segments[0].end - truth.speechEnd!)).toBeLessThanOrEqual(TOLERANCE);
    },
  );

  it('finds nothing in digital silence', () => {
    const vad = new EnergyVad();
    expect(vad.push(fixture16k('silence-48k.wav'))).toEqual([]);
    expect(vad.finish()).toEqual([]);
    expect(vad.segments).toEqual([]);
  });

  it('finds nothing in steady pink noise at -30 dBFS, and its floor follows the noise', () => {
    const vad = new EnergyVad();
    vad.push(fixture16k('noise-44k.wav'));
    vad.finish();
    expect(vad.segments).toEqual([]);
    // The floor sits under the noise, not at the -120 dB of an empty room.
    expect(vad.noiseFloorDb).toBeGreaterThan(FIXTURES['noise-44k.wav'].noiseRmsDbfs! - 10);
    expect(vad.noiseFloorDb).toBeLessThan(FIXTURES['noise-44k.wav'].noiseRmsDbfs!);
  });

  it('still finds quiet speech (-20 dB) in silence: the threshold is relative, not absolute', () => {
    const x = fixture16k('cabin-22k.wav').map((v) => v * 0.1);
    const [seg] = detectSpeech(x);
    expect(Math.abs(seg.start - FIXTURES['cabin-22k.wav'].speechStart!)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(seg.end - FIXTURES['cabin-22k.wav'].speechEnd!)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('gives the same events whatever the chunk sizes', () => {
    const x = fixture16k('cabin-noisy-44k.wav');
    const whole = new EnergyVad();
    const expected = [...whole.push(x), ...whole.finish()];
    for (const size of [1, 100, 160, 333, 4096]) {
      const vad = new EnergyVad();
      const events: VadEvent[] = [];
      for (let i = 0; i < x.length; i += size) events.push(...vad.push(x.subarray(i, i + size)));
      events.push(...vad.finish());
      expect(events).toEqual(expected);
    }
  });

  it('reports the end only after the hangover, with the timestamp of the last speech', () => {
    const hangoverMs = 600;
    const x = fixture16k('cabin-22k.wav');
    const truthEnd = FIXTURES['cabin-22k.wav'].speechEnd!;
    const vad = new EnergyVad({ hangoverMs });
    let endSeenAt = -1;
    let end: Extract<VadEvent, { type: 'speech-end' }> | undefined;
    for (let i = 0; i < x.length && !end; i += 160) {
      for (const e of vad.push(x.subarray(i, i + 160))) {
        if (e.type === 'speech-end') {
          end = e;
          endSeenAt = vad.time;
        }
      }
    }
    expect(end).toBeDefined();
    expect(Math.abs(end!.end - truthEnd)).toBeLessThanOrEqual(TOLERANCE);
    // Decided no earlier than hangover after the end, and promptly after that.
    expect(endSeenAt).toBeGreaterThanOrEqual(end!.end + hangoverMs / 1000 - 0.011);
    expect(endSeenAt).toBeLessThanOrEqual(end!.end + hangoverMs / 1000 + 0.03);
  });

  it('keeps one utterance across a short pause and splits at a long one', () => {
    const { channels, sampleRate } = loadFixture('cabin-16k.wav');
    const t = FIXTURES['cabin-16k.wav'];
    const speech = channels[0].subarray(Math.round(t.speechStart! * sampleRate), Math.round(t.speechEnd! * sampleRate));
    const short = detectSpeech(concat(silence(0.5), speech, silence(0.3), speech, silence(1)));
    expect(short).toHaveLength(1);
    const long = detectSpeech(concat(silence(0.5), speech, silence(1.5), speech, silence(1)));
    expect(long).toHaveLength(2);
    const d = speech.length / 16000;
    expect(Math.abs(long[1].start - (0.5 + d + 1.5))).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(long[1].end - (0.5 + 2 * d + 1.5))).toBeLessThanOrEqual(TOLERANCE);
  });

  it('ignores a click shorter than minSpeechMs', () => {
    const click = new Float32Array(16000 * 0.03).map((_, i) => 0.5 * Math.sin(i * 0.3));
    expect(detectSpeech(concat(silence(0.5), click, silence(1)))).toEqual([]);
  });

  it('finds speech that starts during the calibration window', () => {
    const t = FIXTURES['cabin-16k.wav'];
    const { channels } = loadFixture('cabin-16k.wav');
    const fromStart = channels[0].subarray(Math.round((t.speechStart! - 0.05) * 16000));
    const [seg] = detectSpeech(fromStart);
    expect(seg.start).toBeLessThanOrEqual(0.05 + TOLERANCE);
  });

  it('closes an utterance still open at the end of the stream', () => {
    const t = FIXTURES['cabin-16k.wav'];
    const { channels } = loadFixture('cabin-16k.wav');
    const cut = channels[0].subarray(0, Math.round((t.speechEnd! - 0.3) * 16000));
    const vad = new EnergyVad();
    const events = vad.push(cut);
    expect(events.map((e) => e.type)).toEqual(['speech-start']);
    expect(vad.speaking).toBe(true);
    const [end] = vad.finish();
    expect(end.type).toBe('speech-end');
  });
});
