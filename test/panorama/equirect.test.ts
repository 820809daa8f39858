import { describe, expect, it } from 'vitest';
import {
  directionToLonLat,
  directionToPixelIndex,
  directionToUV,
  lonLatToDirection,
  lonLatToUV,
  pixelDirections,
  pixelToDirection,
  pixelToUV,
  uvToDirection,
  uvToLonLat,
  uvToPixel,
  uvToPixelIndex,
  wrapU,
  type Vec3,
} from '../../src/panorama/equirect';

function expectVec(actual: Vec3, x: number, y: number, z: number, digits = 12): void {
  expect(actual.x).toBeCloseTo(x, digits);
  expect(actual.y).toBeCloseTo(y, digits);
  expect(actual.z).toBeCloseTo(z, digits);
}

describe('orientation (types.ts convention, no mirroring)', () => {
  it('the image centre is straight ahead (−Z)', () => {
    expectVec(uvToDirection(0.5, 0.5), 0, 0, -1);
  });

  it('u = 0.75 is to the right (+X), u = 0.25 to the left (−X)', () => {
    expectVec(uvToDirection(0.75, 0.5), 1, 0, 0);
    expectVec(uvToDirection(0.25, 0.5), -1, 0, 0);
  });

  it('u = 0 and u = 1 are both straight behind (+Z)', () => {
    expectVec(uvToDirection(0, 0.5), 0, 0, 1);
    expectVec(uvToDirection(1, 0.5), 0, 0, 1);
  });

  it('the top row looks up (+Y), the bottom row down', () => {
    expectVec(uvToDirection(0.3, 0), 0, 1, 0);
    expectVec(uvToDirection(0.3, 1), 0, -1, 0);
    const W = 64;
    const H = 32;
    for (let x = 0; x < W; x++) {
      expect(pixelToDirection(x, 0, W, H).y).toBeGreaterThan(0.99);
      expect(pixelToDirection(x, H - 1, W, H).y).toBeLessThan(-0.99);
    }
  });

  it('moving right in the image turns the view right (clockwise seen from above)', () => {
    const a = uvToDirection(0.5, 0.5);
    const b = uvToDirection(0.55, 0.5);
    // (a × b).y < 0 ⇔ rotation from a to b is clockwise about +Y seen from above, i.e. to the right.
    expect(a.z * b.x - a.x * b.z).toBeLessThan(0);
    // And the pixel just right of the centre column lies in the +X half.
    expect(pixelToDirection(32, 16, 64, 32).x).toBeGreaterThan(0);
    expect(pixelToDirection(31, 16, 64, 32).x).toBeLessThan(0);
  });

  it('longitude/latitude follow the same signs', () => {
    expect(uvToLonLat(0.75, 0.25)).toEqual({ lon: Math.PI / 2, lat: Math.PI / 4 });
    const d = lonLatToDirection(Math.PI / 2, 0);
    expectVec(d, 1, 0, 0);
  });
});

describe('round trips', () => {
  it('every pixel centre → direction → the same pixel', () => {
    const W = 128;
    const H = 64;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        expect(directionToPixelIndex(pixelToDirection(x, y, W, H), W, H)).toEqual({ x, y });
      }
    }
  });

  it('uv → direction → uv for uv strictly inside the image', () => {
    for (let i = 0; i < 500; i++) {
      const u = ((i * 0.618034) % 1) * 0.999;
      const v = 0.001 + ((i * 0.414214) % 1) * 0.998;
      const back = directionToUV(uvToDirection(u, v));
      expect(back.u).toBeCloseTo(u, 10);
      expect(back.v).toBeCloseTo(v, 10);
    }
  });

  it('lon/lat → uv → lon/lat', () => {
    const { u, v } = lonLatToUV(-2, 0.7);
    const back = uvToLonLat(u, v);
    expect(back.lon).toBeCloseTo(-2, 12);
    expect(back.lat).toBeCloseTo(0.7, 12);
  });

  it('direction → lon/lat accepts non-unit directions and stays in [−π, π)', () => {
    const r = directionToLonLat(3, 0, 0);
    expect(r.lon).toBeCloseTo(Math.PI / 2, 12);
    expect(directionToLonLat(0, 0, 5).lon).toBe(-Math.PI);
    expect(directionToLonLat(0, 2, 0)).toEqual({ lon: 0, lat: Math.PI / 2 });
  });

  it('pixel ↔ uv are inverse, integer pixel coordinates are centres', () => {
    expect(pixelToUV(0, 0, 8, 4)).toEqual({ u: 0.0625, v: 0.125 });
    expect(uvToPixel(0.0625, 0.125, 8, 4)).toEqual({ x: 0, y: 0 });
  });

  it('pixelDirections matches pixelToDirection', () => {
    const W = 32;
    const H = 16;
    const dirs = pixelDirections(W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const d = pixelToDirection(x, y, W, H);
        const o = (y * W + x) * 3;
        expect(dirs[o]).toBeCloseTo(d.x, 6);
        expect(dirs[o + 1]).toBeCloseTo(d.y, 6);
        expect(dirs[o + 2]).toBeCloseTo(d.z, 6);
      }
    }
  });
});

describe('the 360° seam', () => {
  it('wrapU maps into [0, 1) and u = 1 to 0', () => {
    expect(wrapU(1)).toBe(0);
    expect(wrapU(0)).toBe(0);
    expect(wrapU(-0.25)).toBe(0.75);
    expect(wrapU(2.5)).toBe(0.5);
    // −1e-17 − floor(−1e-17) rounds to exactly 1 in doubles; it must still land in [0, 1).
    expect(wrapU(-1e-17)).toBe(0);
  });

  it('straight behind is u = 0, and directions either side of it land at either edge', () => {
    expect(directionToUV({ x: 0, y: 0, z: 1 }).u).toBe(0);
    // Just right of straight behind is the image's right edge, just left of it the left edge.
    expect(directionToUV({ x: 1e-9, y: 0, z: 1 }).u).toBeGreaterThan(0.999);
    expect(directionToUV({ x: -1e-9, y: 0, z: 1 }).u).toBeLessThan(0.001);
  });

  it('pixel lookup wraps in x and clamps in y', () => {
    expect(uvToPixelIndex(1, 0.5, 64, 32)).toEqual({ x: 0, y: 16 });
    expect(uvToPixelIndex(-0.001, 0.5, 64, 32)).toEqual({ x: 63, y: 16 });
    expect(uvToPixelIndex(0.5, 1, 64, 32)).toEqual({ x: 32, y: 31 });
    expect(uvToPixelIndex(0.5, -0.1, 64, 32)).toEqual({ x: 32, y: 0 });
  });
});
