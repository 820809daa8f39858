// Shared by the speech tests: the committed espeak-ng fixtures, their ground truth, and a tiny FFT.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseWav, type WavAudio } from '../../src/speech/wav';

export const ROOT = resolve(import.meta.dirname, '../..');
export const AUDIO_DIR = join(ROOT, 'test/fixtures/audio');
export const TINY_WHISPER_DIR = join(ROOT, 'test/speech/data');
export const TINY_WHISPER_ID = 'whisper-tiny-random';

export interface FixtureTruth {
  text: string;
  speechStart?: number;
  speechEnd?: number;
  rightGain?: number;
  noiseRmsDbfs?: number;
}

export const FIXTURES = JSON.parse(readFileSync(join(AUDIO_DIR, 'fixtures.json'), 'utf8')) as Record<string, FixtureTruth>;

export function loadFixture(name: string): WavAudio {
  return parseWav(readFileSync(join(AUDIO_DIR, name)));
}

export function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, to - from));
}

export function db(x: number): number {
  return 20 * Math.log10(x);
}

export function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Power spectrum |X(k)|^2 of x zero-padded to a power of two (radix-2 FFT); bin k is k * rate / n Hz. */
export function powerSpectrum(x: Float32Array): { power: Float64Array; n: number } {
  let n = 1;
  while (n < x.length) n *= 2;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(x);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const ar = re[i + k + len / 2];
        const ai = im[i + k + len / 2];
        const tr = ar * wr - ai * wi;
        const ti = ar * wi + ai * wr;
        re[i + k + len / 2] = re[i + k] - tr;
        im[i + k + len / 2] = im[i + k] - ti;
        re[i + k] += tr;
        im[i + k] += ti;
      }
    }
  }
  const power = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) power[k] = re[k] * re[k] + im[k] * im[k];
  return { power, n };
}

/** Energy between lo and hi Hz, per input sample (so signals of different rates compare). */
export function bandEnergy(x: Float32Array, rate: number, lo: number, hi: number): number {
  const { power, n } = powerSpectrum(x);
  let e = 0;
  for (let k = Math.ceil((lo * n) / rate); k <= Math.min(n / 2, Math.floor((hi * n) / rate)); k++) e += power[k];
  // Parseval: the one-sided sum over all bins is about n/2 * sum(x^2); per sample it is mean power.
  return (2 * e) / (n * x.length);
}
