import { describe, expect, it } from 'vitest';
import { downmix, resample, StreamingResampler, toWhisperInput } from '../../src/speech/resample';
import { bandEnergy, db, loadFixture, rms, tone } from './helpers';

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Amplitude of a sinusoid of frequency f in x (least squares on sin/cos, away from the edges). */
function toneAmplitude(x: Float32Array, rate: number, f: number): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let s = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    s += x[i] * Math.sin((2 * Math.PI * f * i) / rate);
    c += x[i] * Math.cos((2 * Math.PI * f * i) / rate);
  }
  return (2 * Math.hypot(s, c)) / (to - from);
}

describe('resample', () => {
  it.each([
    [44100, 3.0],
    [48000, 2.5],
    [22050, 1.7],
    [8000, 1.0],
    [16000, 1.2],
  ])('%i Hz -> 16 kHz keeps the duration', (rate, seconds) => {
    const x = tone(440, rate, seconds);
    const y = resample(x, rate, 16000);
    expect(Math.abs(y.length - (x.length * 16000) / rate)).toBeLessThanOrEqual(1);
  });

  it('gives identical output whatever the chunking (streaming = batch)', () => {
    const { channels, sampleRate } = loadFixture('cabin-22k.wav');
    const whole = resample(channels[0], sampleRate);
    for (const chunk of [7, 128, 777, 4096]) {
      const r = new StreamingResampler(sampleRate, 16000);
      const parts: Float32Array[] = [];
      for (let i = 0; i < channels[0].length; i += chunk) parts.push(r.push(channels[0].subarray(i, i + chunk)));
      parts.push(r.flush());
      const streamed = concat(parts);
      expect(streamed.length).toBe(whole.length);
      expect(streamed).toEqual(whole);
    }
  });

  it('matches sox\'s very-high-quality resampler on espeak speech (22.05 kHz)', () => {
    const src = loadFixture('cabin-22k.wav');
    const ref = loadFixture('cabin-16k.wav').channels[0]; // sox -r 16000 rate -v
    const ours = resample(src.channels[0], src.sampleRate);
    const n = Math.min(ours.length, ref.length);
    let err = 0;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      err += (ours[i] - ref[i]) ** 2;
      energy += ref[i] ** 2;
    }
    // Measured -44.7 dB: the two filters differ only in the 7.2-8 kHz transition band.
    expect(10 * Math.log10(err / energy)).toBeLessThan(-35);
  });

  it('preserves the speech band below 7 kHz of real speech at 22.05 and 48 kHz', () => {
    for (const name of ['cabin-22k.wav', 'peak-48k-stereo.wav']) {
      const src = loadFixture(name);
      const mono = downmix(src.channels);
      const out = resample(mono, src.sampleRate);
      for (const [lo, hi] of [
        [50, 1000],
        [1000, 3000],
        [3000, 7000],
      ]) {
        const before = bandEnergy(mono, src.sampleRate, lo, hi);
        const after = bandEnergy(out, 16000, lo, hi);
        expect(Math.abs(10 * Math.log10(after / before)), `${name} ${lo}-${hi} Hz`).toBeLessThan(0.2);
      }
    }
  });

  it('passes tones below 7.2 kHz at unit gain', () => {
    for (const rate of [44100, 48000, 22050]) {
      for (const f of [100, 1000, 4000, 7000]) {
        const y = resample(tone(f, rate, 1), rate);
        expect(Math.abs(db(toneAmplitude(y, 16000, f) / 0.5)), `${f} Hz from ${rate}`).toBeLessThan(0.05);
      }
    }
  });

  it('removes tones above 8 kHz instead of folding them into the speech band', () => {
    for (const rate of [44100, 48000, 22050]) {
      for (const f of [8300, 9000, 10000, 12000, 15000, 20000].filter((f) => f < rate / 2)) {
        const y = resample(tone(f, rate, 1), rate);
        // Ignore the first and last filter lengths: the tone starts and stops abruptly there.
        const edge = 200;
        expect(db(rms(y, edge, y.length - edge) / (0.5 / Math.SQRT2)), `${f} Hz from ${rate}`).toBeLessThan(-75);
      }
    }
    // What naive decimation (every third sample) would have let through: 12 kHz folds to 4 kHz.
    const x = tone(12000, 48000, 1);
    const naive = Float32Array.from({ length: x.length / 3 }, (_, i) => x[3 * i]);
    expect(db(rms(naive) / (0.5 / Math.SQRT2))).toBeGreaterThan(-10);
  });

  it('downmixes by averaging the channels', () => {
    const { channels, sampleRate } = loadFixture('peak-48k-stereo.wav');
    expect(sampleRate).toBe(48000);
    expect(channels).toHaveLength(2);
    const mono = downmix(channels);
    // The fixture's right channel is 0.5 x the left one: the average is 0.75 x left.
    for (let i = 0; i < mono.length; i += 97) expect(mono[i]).toBeCloseTo(0.75 * channels[0][i], 4);
    const y = toWhisperInput(channels, sampleRate);
    expect(y).toEqual(resample(mono, 48000));
  });

  it('upsamples too (8 kHz telephone audio)', () => {
    const y = resample(tone(1000, 8000, 1), 8000);
    expect(y.length).toBe(16000);
    expect(Math.abs(db(toneAmplitude(y, 16000, 1000) / 0.5))).toBeLessThan(0.05);
  });

  it('rejects impossible rates and late pushes', () => {
    expect(() => new StreamingResampler(0, 16000)).toThrow(RangeError);
    expect(() => new StreamingResampler(44100.5, 16000)).toThrow(RangeError);
    expect(() => downmix([])).toThrow(RangeError);
    expect(() => downmix([new Float32Array(3), new Float32Array(4)])).toThrow(/different lengths/);
    const r = new StreamingResampler(48000);
    r.flush();
    expect(() => r.push(new Float32Array(10))).toThrow(/after flush/);
  });
});
