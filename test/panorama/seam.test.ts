// Issue 12's seam metric on synthetic images whose seam is known: a periodic image (the seam is
// one more neighbour pair, so exactly 1), a ramp (the seam is the one big step) and the ray-cast
// test room (continuous across straight-behind, so not above 1).
import { describe, expect, it } from 'vitest';
import { imageSeamMetrics, panoramaSeamMetrics, seamRatio } from '../../src/panorama/seam';
import { renderSyntheticPanorama } from '../../src/panorama/synthetic';
import type { RGBDPanorama } from '../../src/panorama/types';

/** A smooth periodic row (irrational-ish mix of harmonics, so no column pair repeats). */
function periodicRow(width: number, phase = 0): Float32Array {
  const row = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const a = (2 * Math.PI * (x + 0.5)) / width + phase;
    row[x] = 0.5 + 0.3 * Math.sin(a) + 0.15 * Math.cos(3 * a + 1) + 0.05 * Math.sin(7 * a + 2);
  }
  return row;
}

/**
 * A W × W image whose row y is the periodic row rolled by y columns: over the rows, every circular
 * neighbour pair sits once at the seam and once at each interior position, so seam and interior
 * means are the same sum and the ratio is exactly 1 (up to rounding).
 */
function rolledPeriodic(width: number, channels: number): Float32Array {
  const base = periodicRow(width);
  const out = new Float32Array(width * width * channels);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = base[(x + y + 5 * c) % width] * (c + 1);
    }
  }
  return out;
}

describe('seam metric', () => {
  it('is 1 for a periodic image (the seam is no different from any column step)', () => {
    expect(seamRatio(rolledPeriodic(64, 1), 64, 64)).toBeCloseTo(1, 10);
    expect(seamRatio(rolledPeriodic(64, 3), 64, 64, 3)).toBeCloseTo(1, 10);
    // A realistic 2:1 periodic image with row-dependent phase: close to 1, not exactly.
    const w = 256;
    const h = 128;
    const img = new Float32Array(w * h);
    for (let y = 0; y < h; y++) img.set(periodicRow(w, (y * 0.37) % (2 * Math.PI)), y * w);
    const r = seamRatio(img, w, h);
    expect(r).toBeGreaterThan(0.8);
    expect(r).toBeLessThan(1.2);
  });

  it('is ≫ 1 for an image with a step at the seam (a ramp: the wrap is its one big step)', () => {
    const w = 128;
    const h = 16;
    const img = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * w + x] = x / (w - 1);
    // Interior steps 1/(w−1), the seam step 1: exactly w − 1.
    expect(seamRatio(img, w, h)).toBeCloseTo(w - 1, 8);
    // Periodic image plus a step at the seam only (one half raised): still clearly above 1.
    const stepped = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      const row = periodicRow(w, y);
      for (let x = 0; x < w; x++) stepped[y * w + x] = row[x] + (x >= w / 2 ? 0.2 : 0);
    }
    // The half-way step counts once among the interior steps, the seam step is the other one.
    expect(seamRatio(stepped, w, h)).toBeGreaterThan(5);
  });

  it('a flat image counts as seamless (1), and a row stepping only next to the seam is measured', () => {
    expect(seamRatio(new Float32Array(30).fill(0.4), 10, 3)).toBe(1);
    const img = new Float32Array(30).fill(0.4);
    for (let y = 0; y < 3; y++) img[y * 10 + 9] = 0.6;
    // Column 8 → 9 steps by 0.2 and so does the seam 9 → 0: seam mean 0.2, interior mean 0.2/9.
    expect(seamRatio(img, 10, 3)).toBeCloseTo(9, 10);
  });

  it('pools RGB without alpha, measures depth on its own, and works for both image types', () => {
    const w = 64;
    const h = 64;
    const rgb = rolledPeriodic(w, 3);
    // Depth: a ramp, so its ratio is w − 1 while RGB stays 1.
    const depth = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) depth[y * w + x] = x / (w - 1);
    const m = imageSeamMetrics({ width: w, height: h, rgb, depth });
    expect(m.rgb).toBeCloseTo(1, 10);
    expect(m.depth).toBeCloseTo(w - 1, 6);

    // RGBA8 panorama: an alpha that steps at the seam must not count.
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(rgb[i * 3 + c] * 60);
      rgba[i * 4 + 3] = i % w === w - 1 ? 0 : 255;
    }
    const pano: RGBDPanorama = { width: w, height: h, rgba, depth };
    const p = panoramaSeamMetrics(pano);
    expect(p.rgb).toBeGreaterThan(0.9);
    expect(p.rgb).toBeLessThan(1.1);
    expect(p.depth).toBeCloseTo(w - 1, 6);
  });

  it('the ray-cast test room has no seam: both ratios at most 1', () => {
    const room = renderSyntheticPanorama(256).panorama;
    const m = panoramaSeamMetrics(room);
    expect(m.rgb).toBeLessThanOrEqual(1);
    expect(m.depth).toBeLessThanOrEqual(1);
    // The room with its last quarter turn cut off (columns stretched over the rest) is no longer
    // continuous at u = 0 / 1: the metric must see that seam.
    const { width, height, depth } = room;
    const cut = new Float32Array(depth.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) cut[y * width + x] = depth[y * width + Math.min(width - 1, Math.floor(x * 0.75))];
    }
    expect(seamRatio(cut, width, height)).toBeGreaterThan(3);
  });

  it('rejects sizes and channel sets it cannot measure', () => {
    expect(() => seamRatio(new Float32Array(2), 2, 1)).toThrow(/at least 3 × 1/);
    expect(() => seamRatio(new Float32Array(12), 4, 1, 3, 4)).toThrow(/4 of 3 channels/);
    expect(() => seamRatio(new Float32Array(11), 4, 1, 3)).toThrow(/11 values do not fill 4 × 1 × 3/);
  });
});
