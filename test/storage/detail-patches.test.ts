import { describe, expect, it } from 'vitest';
import { encode } from 'fast-png';
import { compositeRegion, mergeRects, regionRects, type LayerRect } from '../../src/panorama/detail-layer';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import {
  DETAIL_PATCH_FORMAT,
  DetailPatchError,
  decodeDetailPatch,
  depthErrorBound,
  encodeDetailPatch,
  restoreDetailLayer,
  type DetailPatchRecord,
} from '../../src/storage/detail-patches';
import { sharpenedPatch } from './detail-fixtures';

const AHEAD = { x: 0, y: 0, z: -1 };
const SEAM = { x: 0, y: 0.2, z: 1 };

function maxDepthError(a: Float32Array, b: Float32Array, alpha: Uint8ClampedArray): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (alpha[i * 4 + 3] > 0) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('detail patch records', () => {
  it('round-trips a patch across the seam: RGBA byte for byte, depth within half a 16-bit step of its range', () => {
    const patch = sharpenedPatch(256, SEAM, 7);
    // The fixture really wraps: its region runs past the last column.
    expect(patch.region.x0 + patch.region.count).toBeGreaterThan(256);
    const record = encodeDetailPatch(patch);
    expect(record).toMatchObject({ kind: 'ldm3d-sr', format: DETAIL_PATCH_FORMAT, layerWidth: 256, layerHeight: 128, region: patch.region });
    expect(record.depthMin).toBeGreaterThanOrEqual(0.3);
    expect(record.depthMax).toBeLessThanOrEqual(0.7);

    const back = decodeDetailPatch(record);
    expect(back.region).toEqual(patch.region);
    expect(back.rgba).toEqual(patch.rgba);
    const bound = depthErrorBound(record);
    // The stated bound: (max − min)/131070 (+ float32 rounding); for depth fitted into [0, 1] ≤ 7.7e-6.
    expect(bound).toBeLessThanOrEqual(1 / 131070 + 1e-7);
    const err = maxDepthError(patch.depth, back.depth, patch.rgba);
    expect(err).toBeLessThanOrEqual(bound);
    expect(err).toBeGreaterThan(0); // quantised for real: the bound is what is being tested
    expect(err).toBeGreaterThan(bound / 4); // and it is not loose by orders of magnitude
  });

  it('rebuilds the accumulated layer from overlapping patches exactly as compositing them did', () => {
    const patches = [sharpenedPatch(256, AHEAD, 1), sharpenedPatch(256, { x: 0.2, y: 0.1, z: -1 }, 2), sharpenedPatch(256, SEAM, 3)];
    const live = createDetailLayer(256, 128);
    const rects: LayerRect[] = [];
    for (const p of patches) rects.push(...compositeRegion(live, p));

    const records = patches.map(encodeDetailPatch);
    const { detail, problems } = restoreDetailLayer(records);
    expect(problems).toEqual([]);
    expect(detail!.regions).toBe(3);
    expect(detail!.rects).toEqual(mergeRects(rects));
    expect(detail!.layer.rgba).toEqual(live.rgba);
    const bound = Math.max(...records.map(depthErrorBound));
    expect(maxDepthError(live.depth, detail!.layer.depth, live.rgba)).toBeLessThanOrEqual(bound);
  });

  it('encodes a fully transparent patch and rejects depth that is not a number or buffers that do not fit', () => {
    const patch = sharpenedPatch(256, AHEAD, 4);
    const blank = { ...patch, rgba: new Uint8ClampedArray(patch.rgba.length) };
    const record = encodeDetailPatch(blank);
    expect([record.depthMin, record.depthMax]).toEqual([0, 0]);
    expect(decodeDetailPatch(record).rgba.every((v) => v === 0)).toBe(true);

    const nan = patch.depth.slice();
    const opaque = patch.rgba.findIndex((v, i) => i % 4 === 3 && v > 0) >> 2;
    nan[opaque] = NaN;
    expect(() => encodeDetailPatch({ ...patch, depth: nan })).toThrow(/not a number/);
    expect(() => encodeDetailPatch({ ...patch, depth: patch.depth.subarray(1) })).toThrow(/do not match/);
    expect(() => encodeDetailPatch({ ...patch, layerWidth: 300 })).toThrow(/2:1/);
  });

  it('says what is wrong with a damaged or foreign record, and restores the others', () => {
    const good = encodeDetailPatch(sharpenedPatch(256, AHEAD, 5));
    const other = encodeDetailPatch(sharpenedPatch(256, SEAM, 6));
    const flipped = other.rgbaPng.slice();
    flipped[flipped.length - 20] ^= 0xff; // inside the compressed data / CRC
    const cases: [DetailPatchRecord, RegExp][] = [
      [{ ...other, rgbaPng: flipped }, /colour image is damaged/],
      [{ ...other, rgbaPng: new Uint8Array(0) }, /colour image is missing from storage/],
      [{ ...other, depthPng: new Uint8Array(0) }, /depth image is missing from storage/],
      [{ ...other, depthPng: good.depthPng }, /depth image is \d+ × \d+ at 16 bits; expected/],
      [{ ...other, rgbaPng: encode({ width: other.region.count, height: 2, data: new Uint8Array(other.region.count * 8), depth: 8, channels: 4 }) }, /colour image is \d+ × 2/],
      [{ ...other, format: 9 } as unknown as DetailPatchRecord, /format 9, which this version cannot read/],
      [{ ...other, region: { y0: 0, y1: 400, x0: 0, count: 4 } }, /does not fit a 256 × 128 layer/],
      [{ ...other, depthMin: 1, depthMax: 0 }, /depth range/],
    ];
    for (const [bad, message] of cases) {
      expect(() => decodeDetailPatch(bad)).toThrow(DetailPatchError);
      expect(() => decodeDetailPatch(bad)).toThrow(message);
      const { detail, problems } = restoreDetailLayer([good, bad]);
      expect(detail!.regions).toBe(1);
      expect(detail!.rects).toEqual(mergeRects(regionRects(good.region, 256)));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^patch 2: /);
      expect(problems[0]).toMatch(message);
    }
    expect(restoreDetailLayer([{ ...good, rgbaPng: flipped }]).detail).toBeNull();
  });

  it('leaves out patches made for another layer size than the newest', () => {
    const old = encodeDetailPatch(sharpenedPatch(128, AHEAD, 8));
    const cur = encodeDetailPatch(sharpenedPatch(256, AHEAD, 9));
    const { detail, problems } = restoreDetailLayer([old, cur]);
    expect(detail!.layer.width).toBe(256);
    expect(detail!.regions).toBe(1);
    expect(problems).toEqual(['patch 1: made for a 128 × 64 layer, not 256 × 128']);
  });
});
