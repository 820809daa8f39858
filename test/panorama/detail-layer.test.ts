import { describe, expect, it } from 'vitest';
import {
  clearRegion,
  compositeRegion,
  extractRegion,
  mergeRects,
  rectsContainUV,
  regionRects,
  type LayerRect,
} from '../../src/panorama/detail-layer';
import { createDetailLayer, makeCropBasis, reprojectPatch, type Patch } from '../../src/panorama/gnomonic';

function patchOf(size: number, seed: number): Patch {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return {
    size,
    rgb: Float32Array.from({ length: size * size * 3 }, rnd),
    depth: Float32Array.from({ length: size * size }, () => 0.3 + 0.4 * rnd()),
  };
}

describe('detail layer regions', () => {
  it('splits a region across the seam into two rectangles, and packs/clears it', () => {
    const layer = createDetailLayer(64, 32);
    const region = { y0: 3, y1: 5, x0: 60, count: 8 };
    expect(regionRects(region, 64)).toEqual([
      { x: 60, y: 3, width: 4, height: 3 },
      { x: 0, y: 3, width: 4, height: 3 },
    ]);
    // mark texels by their column so the packing order is visible
    for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) layer.depth[y * 64 + x] = x;
    const p = extractRegion(layer, region);
    expect(Array.from(p.depth.subarray(0, 8))).toEqual([60, 61, 62, 63, 0, 1, 2, 3]);
    clearRegion(layer, region);
    expect(layer.depth[4 * 64 + 61]).toBe(0);
    expect(layer.depth[4 * 64 + 2]).toBe(0);
    expect(layer.depth[4 * 64 + 4]).toBe(4); // outside the region: untouched
    expect(layer.depth[2 * 64 + 61]).toBe(61);
  });

  it('rejects a region outside the layer', () => {
    const layer = createDetailLayer(64, 32);
    expect(() => extractRegion(layer, { y0: 30, y1: 32, x0: 0, count: 4 })).toThrow(/does not fit/);
    expect(() => compositeRegion(layer, { region: { y0: 0, y1: 0, x0: 0, count: 4 }, rgba: new Uint8ClampedArray(4), depth: new Float32Array(4) })).toThrow(
      /do not match/,
    );
  });

  it('blank-layer region + composite = reprojectPatch on the accumulated layer (two overlapping patches)', () => {
    const direct = createDetailLayer(512, 256);
    const viaRegions = createDetailLayer(512, 256);
    const scratch = createDetailLayer(512, 256);
    const gazes = [
      { x: 0, y: 0, z: -1 },
      { x: 0.15, y: 0.05, z: -1 },
    ];
    gazes.forEach((g, i) => {
      const basis = makeCropBasis(g, 0.6, 32);
      const patch = patchOf(32, i + 1);
      reprojectPatch(direct, basis, patch);
      const region = reprojectPatch(scratch, basis, patch);
      compositeRegion(viaRegions, extractRegion(scratch, region));
      clearRegion(scratch, region);
    });
    expect(scratch.rgba.every((v) => v === 0)).toBe(true);
    let worstColour = 0;
    let worstDepth = 0;
    let covered = 0;
    for (let t = 0; t < 512 * 256; t++) {
      for (let c = 0; c < 4; c++) worstColour = Math.max(worstColour, Math.abs(direct.rgba[t * 4 + c] - viaRegions.rgba[t * 4 + c]));
      if (direct.rgba[t * 4 + 3] > 8) worstDepth = Math.max(worstDepth, Math.abs(direct.depth[t] - viaRegions.depth[t]));
      if (direct.rgba[t * 4 + 3] > 0) covered++;
    }
    expect(covered).toBeGreaterThan(1000);
    // 8-bit rounding of the intermediate premultiplied colour and alpha
    expect(worstColour).toBeLessThanOrEqual(2);
    expect(worstDepth).toBeLessThan(0.02);
  });

  it('merges overlapping and touching rectangles, keeps separate ones apart', () => {
    const rects: LayerRect[] = [
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 5, y: 5, width: 10, height: 10 },
      { x: 15, y: 0, width: 2, height: 2 }, // touches the merged one's right edge
      { x: 100, y: 100, width: 4, height: 4 },
      { x: 50, y: 50, width: 0, height: 4 }, // empty: dropped
    ];
    const merged = mergeRects(rects);
    expect(merged).toHaveLength(2);
    expect(merged).toContainEqual({ x: 0, y: 0, width: 17, height: 15 });
    expect(merged).toContainEqual({ x: 100, y: 100, width: 4, height: 4 });
    expect(rectsContainUV(merged, 8 / 128, 8 / 128, 128, 128)).toBe(true);
    expect(rectsContainUV(merged, 60 / 128, 60 / 128, 128, 128)).toBe(false);
  });
});
