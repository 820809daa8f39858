import { describe, expect, it } from 'vitest';
import { decode, encode } from 'fast-png';
import {
  decodeDepthPng,
  decodeRgbPng,
  depthToUint16,
  encodeDepth16Png,
  encodeRgbPng,
  encodeThumbnailPng,
  escapeToAscii,
  ImageFormatError,
  uint16ToDepth,
} from '../../src/export/png';

function pattern(n: number, mul: number, add: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * mul + add + (i >> 5)) & 255;
  return out;
}

describe('RGB PNG', () => {
  it('round-trips 8-bit RGB exactly and is really 8-bit RGB', () => {
    const w = 37;
    const h = 11;
    const rgb = pattern(w * h * 3, 31, 7);
    const png = encodeRgbPng(w, h, rgb);
    const raw = decode(png);
    expect([raw.width, raw.height, raw.channels, raw.depth]).toEqual([w, h, 3, 8]);
    const back = decodeRgbPng(png);
    for (let i = 0; i < w * h; i++) {
      expect([back.rgba[i * 4], back.rgba[i * 4 + 1], back.rgba[i * 4 + 2], back.rgba[i * 4 + 3]]).toEqual([
        rgb[i * 3],
        rgb[i * 3 + 1],
        rgb[i * 3 + 2],
        255,
      ]);
    }
  });

  it('accepts RGBA input (alpha dropped) and gives the same file as RGB', () => {
    const w = 8;
    const h = 4;
    const rgb = pattern(w * h * 3, 13, 1);
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 99], i * 4);
    expect(Array.from(encodeRgbPng(w, h, rgba))).toEqual(Array.from(encodeRgbPng(w, h, rgb)));
    expect(() => encodeRgbPng(w, h, new Uint8Array(5))).toThrow(/neither/);
  });

  it('decodes greyscale, grey+alpha, RGBA, 16-bit and palette PNGs to RGBA8', () => {
    const grey = encode({ width: 2, height: 1, data: new Uint8Array([10, 200]), channels: 1, depth: 8 });
    expect(Array.from(decodeRgbPng(grey).rgba)).toEqual([10, 10, 10, 255, 200, 200, 200, 255]);
    const ga = encode({ width: 1, height: 1, data: new Uint8Array([50, 128]), channels: 2, depth: 8 });
    expect(Array.from(decodeRgbPng(ga).rgba)).toEqual([50, 50, 50, 128]);
    const rgba = encode({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]), channels: 4, depth: 8 });
    expect(Array.from(decodeRgbPng(rgba).rgba)).toEqual([1, 2, 3, 4]);
    const rgb16 = encode({ width: 1, height: 1, data: new Uint16Array([0x1234, 0xabcd, 0xff00]), channels: 3, depth: 16 });
    expect(Array.from(decodeRgbPng(rgb16).rgba)).toEqual([0x12, 0xab, 0xff, 255]);
    const palette = encode({
      width: 2,
      height: 1,
      data: new Uint8Array([1, 0]),
      channels: 1,
      depth: 8,
      palette: [
        [9, 8, 7],
        [1, 2, 3],
      ],
    });
    expect(Array.from(decodeRgbPng(palette).rgba)).toEqual([1, 2, 3, 255, 9, 8, 7, 255]);
  });

  it('carries text chunks, with non-Latin-1 text escaped', () => {
    const json = JSON.stringify({ prompt: 'café 图书馆 🌅' });
    const png = encodeRgbPng(1, 1, new Uint8Array([1, 2, 3]), { meta: escapeToAscii(json) });
    expect(JSON.parse(decodeRgbPng(png).text.meta)).toEqual({ prompt: 'café 图书馆 🌅' });
  });

  it('rejects files that are not PNG, or damaged, with the file name', () => {
    expect(() => decodeRgbPng(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0]), 'photo.jpg')).toThrow(
      /photo\.jpg is not a PNG/,
    );
    const png = encodeRgbPng(4, 4, pattern(48, 3, 3));
    const broken = png.slice();
    broken[40] ^= 0xff; // inside IDAT: the CRC no longer matches
    expect(() => decodeRgbPng(broken, 'rgb.png')).toThrow(ImageFormatError);
    expect(() => decodeRgbPng(broken, 'rgb.png')).toThrow(/rgb\.png is a damaged PNG/);
  });
});

describe('16-bit depth PNG', () => {
  it('writes floor(d · 65535) like diffusers, 16-bit greyscale, and reads every value back exactly', () => {
    const w = 256;
    const h = 256;
    const codes = new Uint16Array(w * h);
    for (let i = 0; i < codes.length; i++) codes[i] = i; // all 65536 values
    const png = encodeDepth16Png(w, h, codes);
    const raw = decode(png);
    expect([raw.channels, raw.depth]).toEqual([1, 16]);
    const back = decodeDepthPng(png);
    expect(back.bitDepth).toBe(16);
    expect(back.depth16).toEqual(codes);
  });

  it('quantises like diffusers: truncation, clamping, 1 → 65535, NaN → 0', () => {
    const d = new Float32Array([0, 1, 0.5, 1 / 65535, 0.99999, -0.2, 1.3, Number.NaN]);
    expect(Array.from(depthToUint16(d))).toEqual([0, 65535, 32767, 1, 65534, 0, 65535, 0]);
    // Decoding returns the value each code stands for, so re-encoding is the identity on codes.
    const codes = new Uint16Array([0, 1, 2, 32767, 32768, 65534, 65535]);
    expect(Array.from(depthToUint16(uint16ToDepth(codes)))).toEqual(Array.from(codes));
  });

  it('widens 8-bit grey with ·257 and accepts grey saved as RGB(A)', () => {
    const g8 = encode({ width: 3, height: 1, data: new Uint8Array([0, 128, 255]), channels: 1, depth: 8 });
    const d8 = decodeDepthPng(g8);
    expect(d8.bitDepth).toBe(8);
    expect(Array.from(d8.depth16)).toEqual([0, 128 * 257, 65535]);
    const asRgba = encode({ width: 1, height: 1, data: new Uint8Array([77, 77, 77, 255]), channels: 4, depth: 8 });
    expect(Array.from(decodeDepthPng(asRgba).depth16)).toEqual([77 * 257]);
  });

  it('refuses a colour image as depth, naming the pixel', () => {
    const rgb = encodeRgbPng(2, 1, new Uint8Array([5, 5, 5, 1, 2, 3]));
    expect(() => decodeDepthPng(rgb, 'photo.png')).toThrow(/photo\.png is a colour image \(pixel 1,0/);
  });
});

describe('thumbnail', () => {
  it('box-filters to at most maxWidth, keeping the aspect ratio', () => {
    const w = 8;
    const h = 4;
    const rgb = new Uint8Array(w * h * 3);
    // Left half black, right half white.
    for (let y = 0; y < h; y++) for (let x = 4; x < 8; x++) rgb.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const t = encodeThumbnailPng(w, h, rgb, 2);
    expect([t.width, t.height]).toEqual([2, 1]);
    expect(Array.from(decodeRgbPng(t.bytes).rgba)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const big = encodeThumbnailPng(w, h, rgb, 256);
    expect([big.width, big.height]).toEqual([8, 4]);
  });
});
