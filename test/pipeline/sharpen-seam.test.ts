// Issue 12: sharpening a region that crosses the 360° seam (looking straight behind the start,
// yaw 180°, longitude ±180°). The panorama's colour encodes longitude as (cos λ, sin λ), which is
// continuous across the seam, so every crop pixel and every written layer texel can be checked
// against the longitude it should show. The upscaler is a stand-in that returns its input: this
// tests the crop and the placement, not the model.
import { describe, expect, it } from 'vitest';
import { sharpenRegion } from '../../src/pipeline/sr/sharpen';
import { createDetailLayer, cropPanorama, cropPixelToDirection, makeCropBasis } from '../../src/panorama/gnomonic';
import { regionRects } from '../../src/panorama/detail-layer';
import type { RGBDPanorama } from '../../src/panorama/types';
import type { Ldm3dSrPipeline, SrResult } from '../../src/pipeline/sr/pipeline';

const W = 512;
const H = 256;
const SIZE = 96;

function longitudePanorama(): RGBDPanorama {
  const rgba = new Uint8ClampedArray(W * H * 4);
  const depth = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const lon = ((x + 0.5) / W - 0.5) * 2 * Math.PI;
      const i = y * W + x;
      rgba[i * 4] = Math.round(127.5 + 127 * Math.cos(lon));
      rgba[i * 4 + 1] = Math.round(127.5 + 127 * Math.sin(lon));
      rgba[i * 4 + 2] = 0;
      rgba[i * 4 + 3] = 255;
      // |λ|/π: continuous across the seam (1 on both sides), 0 straight ahead.
      depth[i] = Math.abs(lon) / Math.PI;
    }
  }
  return { width: W, height: H, rgba, depth };
}

/** Longitude decoded from (cos, sin)-encoded colour values in [0, 255]. */
function decode(r: number, g: number): number {
  return Math.atan2((g - 127.5) / 127, (r - 127.5) / 127);
}

function angleError(a: number, b: number): number {
  const d = Math.abs(a - b) % (2 * Math.PI);
  return Math.min(d, 2 * Math.PI - d);
}

/** Returns its input at the crop size: only the fields sharpenRegion reads are filled. */
const identityUpscaler = {
  manifest: { image: { height: SIZE, width: SIZE } },
  upscale: async (o: { rgb: Float32Array; depth: Float32Array; width: number; height: number }) =>
    ({ width: o.width, height: o.height, rgbFloat: o.rgb, depth: o.depth }) as unknown as SrResult,
} as unknown as Pick<Ldm3dSrPipeline, 'upscale' | 'manifest'>;

describe('sharpen across the 360° seam (straight behind)', () => {
  const pano = longitudePanorama();
  const pixel = (2 * Math.PI) / W;

  it('the crop wraps: every crop pixel shows the longitude it looks at', () => {
    const gaze = { x: 0, y: 0, z: 1 };
    const fov = (40 * Math.PI) / 180;
    const basis = makeCropBasis(gaze, fov, SIZE);
    const crop = cropPanorama(pano, basis);
    const dir = { x: 0, y: 0, z: 0 };
    let worst = 0;
    let west = 0;
    let east = 0;
    for (let j = 0; j < SIZE; j++) {
      for (let i = 0; i < SIZE; i++) {
        cropPixelToDirection(basis, i + 0.5, j + 0.5, dir);
        const lon = Math.atan2(dir.x, -dir.z);
        if (lon > 0) east++;
        else west++;
        const k = (j * SIZE + i) * 3;
        worst = Math.max(worst, angleError(decode(crop.rgb[k] * 255, crop.rgb[k + 1] * 255), lon));
        // Depth |λ|/π near 1 on both sides; bilinear across the seam mixes 1 with 1, not 1 with 0.
        expect(crop.depth[j * SIZE + i]).toBeGreaterThan(0.85);
      }
    }
    expect(west).toBeGreaterThan(SIZE * SIZE * 0.4);
    expect(east).toBeGreaterThan(SIZE * SIZE * 0.4);
    // Within one base pixel (+ 8-bit encoding of cos/sin).
    expect(worst).toBeLessThan(1.2 * pixel);
  });

  it('the sharpened patch lands on both sides of the seam, each texel at its own longitude', async () => {
    const layer = createDetailLayer(2 * W, W);
    const result = await sharpenRegion(pano, layer, identityUpscaler, { gaze: { x: 0, y: 0, z: 1 } });
    // The region starts left of the seam and runs on past it: two rectangles.
    expect(result.region.x0 + result.region.count).toBeGreaterThan(layer.width);
    const rects = regionRects(result.region, layer.width);
    expect(rects).toHaveLength(2);
    expect(rects[1].x).toBe(0);
    let checked = 0;
    let worst = 0;
    let left = 0;
    let right = 0;
    for (let y = 0; y < layer.height; y++) {
      for (let x = 0; x < layer.width; x++) {
        const o = (y * layer.width + x) * 4;
        const a = layer.rgba[o + 3];
        // Fully weighted texels only: colour is premultiplied by the feathered alpha.
        if (a !== 255) continue;
        const lon = ((x + 0.5) / layer.width - 0.5) * 2 * Math.PI;
        worst = Math.max(worst, angleError(decode(layer.rgba[o], layer.rgba[o + 1]), lon));
        expect(Math.abs(layer.depth[y * layer.width + x] - Math.abs(lon) / Math.PI)).toBeLessThan(0.02);
        if (x < layer.width / 2) left++;
        else right++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(left).toBeGreaterThan(checked * 0.3);
    expect(right).toBeGreaterThan(checked * 0.3);
    // Two resamplings (crop, reprojection): within two base pixels.
    expect(worst).toBeLessThan(2 * pixel);
    // Nothing was written straight ahead (the opposite side of the sphere).
    const ahead = ((layer.height / 2) * layer.width + layer.width / 2) * 4;
    expect(layer.rgba[ahead + 3]).toBe(0);
  });
});
