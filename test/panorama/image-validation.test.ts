import { describe, expect, it } from 'vitest';
import {
  isOverUnderLayout,
  normalizeDepth,
  preparePanorama,
  resampleNearest,
  resampleRgba,
  splitOverUnder,
  toRgba8,
  validatePanoramaPair,
  type DecodedImage,
  type ImportMessage,
} from '../../src/panorama/image-validation';

const codes = (messages: readonly ImportMessage[]): string[] => messages.map((m) => `${m.severity}:${m.code}`);

describe('validatePanoramaPair', () => {
  it('accepts a matching 2:1 pair as is', () => {
    const plan = validatePanoramaPair({ rgb: { width: 1024, height: 512 }, depth: { width: 1024, height: 512 } }, 8192);
    expect(plan.ok).toBe(true);
    expect(plan.messages).toEqual([]);
    expect(plan.layout).toBe('pair');
    expect(plan.target).toEqual({ width: 1024, height: 512 });
  });

  it('refuses an image that is not 2:1, saying its size and what is needed', () => {
    const plan = validatePanoramaPair({ rgb: { width: 1000, height: 800 }, depth: { width: 1000, height: 800 } }, 8192);
    expect(plan.ok).toBe(false);
    expect(codes(plan.messages)).toEqual(['error:not-2-to-1', 'error:not-2-to-1']);
    expect(plan.messages[0].message).toContain('1000 × 800');
    expect(plan.messages[0].message).toContain('1.25 : 1');
    expect(plan.messages[0].message).toContain('2 : 1');
    expect(plan.target).toEqual({ width: 0, height: 0 });
  });

  it('refuses a depth image that is not 2:1 even when the colour is', () => {
    const plan = validatePanoramaPair({ rgb: { width: 1024, height: 512 }, depth: { width: 512, height: 512 } }, 8192);
    expect(plan.ok).toBe(false);
    expect(codes(plan.messages)).toEqual(['error:not-2-to-1']);
    expect(plan.messages[0].message).toMatch(/^The depth panorama is 512 × 512/);
  });

  it('resizes a depth image of another size to the colour image, with a notice', () => {
    const plan = validatePanoramaPair({ rgb: { width: 2048, height: 1024 }, depth: { width: 1024, height: 512 } }, 8192);
    expect(plan.ok).toBe(true);
    expect(codes(plan.messages)).toEqual(['notice:size-mismatch']);
    expect(plan.messages[0].message).toContain('1024 × 512');
    expect(plan.messages[0].message).toContain('2048 × 1024');
    expect(plan.target).toEqual({ width: 2048, height: 1024 });
  });

  it('downscales what the GPU cannot hold, with a notice', () => {
    const plan = validatePanoramaPair({ rgb: { width: 8192, height: 4096 }, depth: { width: 8192, height: 4096 } }, 4096);
    expect(plan.ok).toBe(true);
    expect(codes(plan.messages)).toEqual(['notice:too-large']);
    expect(plan.messages[0].message).toContain('4096 × 2048');
    expect(plan.target).toEqual({ width: 4096, height: 2048 });
  });

  it('fixes an almost-2:1 image (rounding) with a notice', () => {
    const plan = validatePanoramaPair({ rgb: { width: 2000, height: 1001 }, depth: { width: 2000, height: 1001 } }, 8192);
    expect(plan.ok).toBe(true);
    expect(codes(plan.messages)).toEqual(['notice:almost-2-to-1']);
    expect(plan.target).toEqual({ width: 2000, height: 1000 });
  });

  it('reads a single square image as over-under: colour on top, depth below', () => {
    expect(isOverUnderLayout({ width: 1024, height: 1024 })).toBe(true);
    expect(isOverUnderLayout({ width: 1024, height: 512 })).toBe(false);
    const plan = validatePanoramaPair({ rgb: { width: 1024, height: 1024 } }, 8192);
    expect(plan.ok).toBe(true);
    expect(plan.layout).toBe('over-under');
    expect(codes(plan.messages)).toEqual(['notice:over-under']);
    expect(plan.rgb).toEqual({ width: 1024, height: 512 });
    expect(plan.depth).toEqual({ width: 1024, height: 512 });
    expect(plan.target).toEqual({ width: 1024, height: 512 });
  });

  it('asks for the depth when a 2:1 colour image comes alone', () => {
    const plan = validatePanoramaPair({ rgb: { width: 1024, height: 512 }, depth: null }, 8192);
    expect(plan.ok).toBe(false);
    expect(codes(plan.messages)).toEqual(['error:missing-depth']);
    expect(plan.messages[0].message).toMatch(/depth image/);
  });

  it('refuses empty images, and a nonsense texture limit is a programming error', () => {
    expect(codes(validatePanoramaPair({ rgb: { width: 0, height: 0 } }, 4096).messages)).toEqual(['error:empty']);
    expect(
      codes(validatePanoramaPair({ rgb: { width: 64, height: 32 }, depth: { width: 64, height: 0 } }, 4096).messages),
    ).toEqual(['error:empty']);
    expect(() => validatePanoramaPair({ rgb: { width: 64, height: 32 } }, 0)).toThrow(/maxTextureSize/);
  });
});

describe('depth normalisation', () => {
  const img = (data: DecodedImage['data'], channels = 1): DecodedImage => ({
    width: data.length / channels,
    height: 1,
    data,
    channels,
  });

  it('8-bit /255 from channel 0, 16-bit /65535, float as is', () => {
    expect(Array.from(normalizeDepth(img(new Uint8Array([255, 0, 0, 255, 51, 0, 0, 255]), 4)).depth)).toEqual([
      1,
      Math.fround(0.2),
    ]);
    const d16 = normalizeDepth(img(new Uint16Array([0, 65535, 32768])));
    expect(Array.from(d16.depth)).toEqual([0, 1, Math.fround(32768 / 65535)]);
    expect(d16.messages).toEqual([]);
    expect(Array.from(normalizeDepth(img(new Float32Array([0, 0.25, 1]))).depth)).toEqual([0, 0.25, 1]);
  });

  it('repairs odd input with notices', () => {
    const wide = normalizeDepth(img(new Float32Array([2, 4, 6])));
    expect(Array.from(wide.depth)).toEqual([0, 0.5, 1]);
    expect(codes(wide.messages)).toEqual(['notice:depth-rescaled']);
    const nan = normalizeDepth(img(new Float32Array([Number.NaN, 0.5, 1])));
    expect(Array.from(nan.depth)).toEqual([0, 0.5, 1]);
    expect(codes(nan.messages)).toEqual(['notice:depth-not-finite']);
    const eightIn16 = normalizeDepth(img(new Uint16Array([0, 51, 255])));
    expect(Array.from(eightIn16.depth)).toEqual([0, Math.fround(0.2), 1]);
    expect(codes(eightIn16.messages)).toEqual(['notice:depth-8-bit-in-16']);
    expect(codes(normalizeDepth(img(new Uint8Array([7, 7, 7]))).messages)).toEqual(['notice:depth-flat']);
  });
});

describe('resampling', () => {
  it('nearest never invents a depth between two sides of an edge', () => {
    const w = 16;
    const h = 8;
    const step = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) step[y * w + x] = x < 7 ? 0.2 : 0.9;
    for (const [dw, dh] of [
      [10, 5],
      [40, 20],
      [6, 3],
    ]) {
      const out = resampleNearest(step, w, h, dw, dh);
      expect(new Set(out)).toEqual(new Set([Math.fround(0.2), Math.fround(0.9)]));
    }
    expect(Array.from(resampleNearest(step, w, h, w, h))).toEqual(Array.from(step));
  });

  it('colour: constant stays constant, and averaging happens in linear light', () => {
    const flat = new Uint8ClampedArray(8 * 4 * 4).fill(77);
    for (let i = 3; i < flat.length; i += 4) flat[i] = 255;
    expect(new Set(resampleRgba(flat, 8, 4, 4, 2).filter((_, i) => i % 4 !== 3))).toEqual(new Set([77]));
    expect(new Set(resampleRgba(flat, 8, 4, 20, 10).filter((_, i) => i % 4 !== 3))).toEqual(new Set([77]));
    // 1-pixel black/white stripes shrunk 2×: 50 % light is sRGB 188, not the byte average 128.
    const stripes = new Uint8ClampedArray(8 * 4 * 4);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 8; x++) {
        const o = (y * 8 + x) * 4;
        stripes.fill(x % 2 === 0 ? 255 : 0, o, o + 3);
        stripes[o + 3] = 255;
      }
    }
    const half = resampleRgba(stripes, 8, 4, 4, 2);
    for (let i = 0; i < half.length; i += 4) expect(Math.abs(half[i] - 188)).toBeLessThanOrEqual(1);
  });

  it('colour wraps horizontally across the seam but not vertically across the poles', () => {
    const w = 8;
    const h = 4;
    const src = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 4;
        src[o] = x === 0 ? 255 : 0; // a red meridian at the left edge
        src[o + 1] = y === 0 ? 255 : 0; // a green top row
        src[o + 3] = 255;
      }
    }
    const out = resampleRgba(src, w, h, 16, 8);
    const at = (x: number, y: number, c: number): number => out[(y * 16 + x) * 4 + c];
    expect(at(15, 4, 0)).toBeGreaterThan(0); // right edge picks up the left edge's red
    expect(at(0, 7, 1)).toBe(0); // bottom row gets nothing of the top row's green
    expect(at(0, 0, 1)).toBe(255);
  });
});

describe('preparePanorama', () => {
  it('splits an over-under image into colour and depth', () => {
    const w = 64;
    const data = new Uint8Array(w * w * 4);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 4;
        if (y < w / 2) data.set([200, 10, 20, 255], o);
        else data.set([x * 4, x * 4, x * 4, 255], o);
      }
    }
    const { top, bottom } = splitOverUnder({ width: w, height: w, data, channels: 4 });
    expect([top.height, bottom.height]).toEqual([32, 32]);
    const { panorama, messages } = preparePanorama({ width: w, height: w, data, channels: 4 }, null, 4096);
    expect(codes(messages)).toEqual(['notice:over-under']);
    expect(panorama).not.toBeNull();
    if (panorama === null) return;
    expect([panorama.width, panorama.height]).toEqual([64, 32]);
    expect(Array.from(panorama.rgba.subarray(0, 4))).toEqual([200, 10, 20, 255]);
    expect(panorama.depth[5]).toBeCloseTo(20 / 255, 6);
    expect(panorama.depth[31 * 64 + 63]).toBeCloseTo(252 / 255, 6);
  });

  it('converts 16-bit grey + a smaller 16-bit depth into a panorama of the colour size', () => {
    const rgb: DecodedImage = { width: 32, height: 16, data: new Uint16Array(32 * 16).fill(65535), channels: 1 };
    const depthData = new Uint16Array(16 * 8);
    for (let i = 0; i < depthData.length; i++) depthData[i] = i % 16 < 8 ? 1000 : 60000;
    const { panorama, messages } = preparePanorama(rgb, { width: 16, height: 8, data: depthData, channels: 1 }, 4096);
    expect(codes(messages)).toEqual(['notice:size-mismatch']);
    expect(panorama?.width).toBe(32);
    expect(Array.from(panorama?.rgba.subarray(0, 4) ?? [])).toEqual([255, 255, 255, 255]);
    expect(new Set(panorama?.depth)).toEqual(new Set([Math.fround(1000 / 65535), Math.fround(60000 / 65535)]));
  });

  it('reports damaged or unreadable pixel data instead of throwing', () => {
    const bad = preparePanorama(
      { width: 32, height: 16, data: new Uint8Array(10), channels: 4 },
      { width: 32, height: 16, data: new Uint8Array(32 * 16), channels: 5 },
      4096,
    );
    expect(bad.panorama).toBeNull();
    expect(codes(bad.messages)).toEqual(['error:bad-samples', 'error:bad-samples']);
    expect(bad.messages[0].message).toContain('10 samples for 32 × 16 pixels × 4 channels');
    expect(bad.messages[1].message).toContain('5 channels');
    const notPano = preparePanorama({ width: 30, height: 20, data: new Uint8Array(600), channels: 1 }, null, 4096);
    expect(notPano.panorama).toBeNull();
    expect(codes(notPano.messages)).toEqual(['error:missing-depth']);
  });

  it('toRgba8 handles grey, grey + alpha and RGB', () => {
    expect(Array.from(toRgba8({ width: 1, height: 1, data: new Uint8Array([9]), channels: 1 }))).toEqual([9, 9, 9, 255]);
    expect(Array.from(toRgba8({ width: 1, height: 1, data: new Uint8Array([9, 100]), channels: 2 }))).toEqual([
      9, 9, 9, 100,
    ]);
    expect(Array.from(toRgba8({ width: 1, height: 1, data: new Uint16Array([257, 514, 65535]), channels: 3 }))).toEqual(
      [1, 2, 255, 255],
    );
  });
});
