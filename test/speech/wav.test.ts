import { describe, expect, it } from 'vitest';
import { encodeWav16, parseWav, WavFormatError } from '../../src/speech/wav';
import { FIXTURES, loadFixture } from './helpers';

function header(tag: number, channels: number, rate: number, bits: number, dataBytes: number, extensible = false): DataView {
  const fmtSize = extensible ? 40 : 16;
  const view = new DataView(new ArrayBuffer(12 + 8 + fmtSize + 8 + dataBytes));
  const text = (o: number, s: string) => [...s].forEach((c, i) => view.setUint8(o + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, view.byteLength - 8, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, extensible ? 0xfffe : tag, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, (rate * channels * bits) / 8, true);
  view.setUint16(32, (channels * bits) / 8, true);
  view.setUint16(34, bits, true);
  if (extensible) view.setUint16(20 + 24, tag, true);
  text(20 + fmtSize, 'data');
  view.setUint32(24 + fmtSize, dataBytes, true);
  return view;
}

describe('parseWav', () => {
  it.each([
    ['cabin-22k.wav', 22050, 1],
    ['cabin-16k.wav', 16000, 1],
    ['peak-48k-stereo.wav', 48000, 2],
    ['cabin-noisy-44k.wav', 44100, 1],
    ['silence-48k.wav', 48000, 1],
  ])('reads the fixture %s (%i Hz, %i ch)', (name, rate, channels) => {
    const w = loadFixture(name);
    expect(w.sampleRate).toBe(rate);
    expect(w.channels).toHaveLength(channels);
    const end = FIXTURES[name].speechEnd;
    if (end) expect(w.channels[0].length / rate).toBeGreaterThan(end);
  });

  it('round-trips 16-bit PCM', () => {
    const x = loadFixture('cabin-16k.wav').channels[0];
    const back = parseWav(encodeWav16(x, 16000));
    expect(back.sampleRate).toBe(16000);
    expect(back.channels[0]).toEqual(x);
  });

  it('reads 24-bit PCM, float32 and WAVE_FORMAT_EXTENSIBLE, de-interleaving channels', () => {
    const v24 = header(1, 2, 8000, 24, 6);
    // left = -0.5 (0xC00000), right = +0.25 (0x200000)
    [0x00, 0x00, 0xc0, 0x00, 0x00, 0x20].forEach((b, i) => v24.setUint8(44 + i, b));
    expect(parseWav(v24.buffer).channels.map((c) => c[0])).toEqual([-0.5, 0.25]);
    const f32 = header(3, 1, 8000, 32, 8, true);
    f32.setFloat32(68, 0.125, true);
    f32.setFloat32(72, -1, true);
    expect([...parseWav(f32.buffer).channels[0]]).toEqual([0.125, -1]);
  });

  it('says clearly what is wrong with a bad file', () => {
    expect(() => parseWav(new Uint8Array(10))).toThrow(WavFormatError);
    expect(() => parseWav(new TextEncoder().encode('RIFF\0\0\0\0WAVEjunk\0\0\0\0'))).toThrow(/no "fmt " chunk/);
    expect(() => parseWav(header(2, 1, 8000, 4, 0).buffer)).toThrow(/Unsupported WAV encoding \(format tag 2/);
  });
});
