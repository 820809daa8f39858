import { describe, expect, it } from 'vitest';
import { postprocess, toPanorama } from '../../src/pipeline/postprocess';
import { DEPTH_GUESS_FACTORS, previewFromLatents, previewFromPacked, SD15_RGB_FACTORS } from '../../src/pipeline/preview';

/** A 1×W VAE output [1, 4, 1, W] from per-pixel values of the 4 channels. */
function vae(pixels: Array<[number, number, number, number]>): Float32Array {
  const w = pixels.length;
  const out = new Float32Array(4 * w);
  pixels.forEach((p, i) => p.forEach((v, c) => (out[c * w + i] = v)));
  return out;
}

describe('postprocess (diffusers VaeImageProcessorLDM3D, 4 channels)', () => {
  it('denormalises with x·0.5+0.5, clamps, splits RGB and depth', () => {
    const img = postprocess(vae([[-1, 0, 1, 0.5], [-3, 3, Number.NaN, -0.2]]), 1, 2);
    expect(Array.from(img.rgbFloat)).toEqual([0, 0.5, 1, 0, 1, 0]);
    expect(Array.from(img.depth)).toEqual([0.75, Math.fround(0.4)]);
  });

  it('rounds 8-bit RGB half to even on float32 x·255, like numpy', () => {
    // x·0.5+0.5 = 0.5/255·k exactly representable cases: 127.5 → 128 (even), 0.5 → 0 (even), 2.5 → 2.
    const rgbOf = (u: number) => 2 * u - 1;
    const img = postprocess(vae([[rgbOf(127.5 / 255), rgbOf(0.5 / 255), rgbOf(2.5 / 255), 0]]), 1, 1);
    const x = Array.from(img.rgbFloat, (v) => Math.fround(v * 255));
    const want = x.map((v) => {
      const r = Math.round(v);
      return v - Math.floor(v) === 0.5 && r % 2 ? r - 1 : r;
    });
    expect(Array.from(img.rgb)).toEqual(want);
  });

  it('truncates 16-bit depth: trunc(d·65535), never rounds', () => {
    const d = 0.99999; // 65534.34 → 65534
    const img = postprocess(vae([[0, 0, 0, 2 * d - 1], [0, 0, 0, 1], [0, 0, 0, -1]]), 1, 3);
    expect(Array.from(img.depth16)).toEqual([Math.trunc(Math.fround(img.depth[0] * 65535)), 65535, 0]);
    expect(img.depth16[0]).toBe(65534);
  });

  it('converts to the app RGBDPanorama (opaque RGBA8, same depth)', () => {
    const img = postprocess(vae([[1, -1, 0, 0]]), 1, 1);
    const p = toPanorama(img);
    expect(Array.from(p.rgba)).toEqual([255, 0, 128, 255]);
    expect(p.depth).toBe(img.depth);
  });
});

describe('preview', () => {
  it('maps each latent pixel through the SD1.5 RGB factors and the depth guess', () => {
    const z = [0.3, -0.2, 0.5, 0.1];
    const latent = new Float32Array(z); // [1, 4, 1, 1]
    const p = previewFromLatents(latent, 1, 1);
    const byte = (v: number) => Math.floor(0.5 + 255 * ((Math.min(1, Math.max(-1, v)) + 1) / 2));
    for (let k = 0; k < 3; k++) expect(p.rgba[k]).toBe(byte(z.reduce((s, zc, c) => s + zc * SD15_RGB_FACTORS[c][k], 0)));
    expect(p.rgba[3]).toBe(255);
    expect(p.depth[0]).toBe(Math.fround(byte(z.reduce((s, zc, c) => s + zc * DEPTH_GUESS_FACTORS[c], 0)) / 255));
    const packed = previewFromPacked(new Uint8Array([p.rgba[0], p.rgba[1], p.rgba[2], Math.round(p.depth[0] * 255)]), 1, 1);
    expect(packed).toEqual(p);
  });
});
