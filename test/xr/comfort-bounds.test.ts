import { describe, expect, it } from 'vitest';
import { distanceToInverseDepth, inverseDepthToDistance } from '../../src/panorama/depth-mapping';
import { clampCentreToHead, MAX_SAFE_RADIUS, MIN_SAFE_RADIUS, safeRadius } from '../../src/xr/comfort-bounds';

const mapping = { near: 1, far: 20 };

function depthOf(distances: number[]): { depth: Float32Array } {
  return { depth: Float32Array.from(distances, (d) => distanceToInverseDepth(d, mapping)) };
}

describe('safeRadius', () => {
  it('is a fraction of the nearest surface, in metres under the mapping', () => {
    const pano = depthOf(Array.from({ length: 1000 }, (_, i) => (i < 100 ? 2 : 8)));
    const r = safeRadius(pano, mapping, { fraction: 0.5, quantile: 0 });
    // Within one histogram bin of half of 2 m, and never larger (the bin's near edge is used).
    expect(r).toBeLessThanOrEqual(1 + 1e-9);
    expect(r).toBeGreaterThan(0.99);
  });

  it('ignores a few outlier pixels below the quantile', () => {
    const distances = Array.from({ length: 10_000 }, () => 4);
    for (let i = 0; i < 20; i++) distances[i] = 1.05; // 0.2 % of pixels: a thin pole or noise
    const robust = safeRadius(depthOf(distances), mapping, { fraction: 0.5, quantile: 0.01 });
    expect(robust).toBeGreaterThan(1.95);
    expect(robust).toBeLessThanOrEqual(2);
    const strict = safeRadius(depthOf(distances), mapping, { fraction: 0.5, quantile: 0 });
    expect(strict).toBeLessThan(0.55);
  });

  it('scales with the depth mapping (the Depth +/- buttons)', () => {
    const pano = depthOf(Array.from({ length: 100 }, () => 3));
    const d = pano.depth[0];
    const base = safeRadius(pano, mapping, { quantile: 0 });
    const doubled = safeRadius(pano, { near: 2, far: 40 }, { quantile: 0 });
    expect(doubled / base).toBeCloseTo(2, 2);
    expect(base).toBeLessThanOrEqual(inverseDepthToDistance(d, mapping) * 0.5 + 1e-9);
  });

  it('clamps to [min, max] and survives NaN or empty depth', () => {
    expect(safeRadius({ depth: new Float32Array(0) }, mapping)).toBe(MIN_SAFE_RADIUS);
    expect(safeRadius({ depth: Float32Array.from([NaN, NaN]) }, mapping)).toBe(MIN_SAFE_RADIUS);
    expect(safeRadius({ depth: new Float32Array(10) /* all far: 20 m */ }, mapping)).toBe(MAX_SAFE_RADIUS);
    expect(safeRadius({ depth: new Float32Array(10).fill(1) }, { near: 0.01, far: 20 })).toBe(MIN_SAFE_RADIUS);
  });
});

describe('clampCentreToHead', () => {
  it('leaves the centre alone while the head is inside the radius', () => {
    const c = { x: 0, y: 1.6, z: 0 };
    expect(clampCentreToHead(c, { x: 0.3, y: 1.6, z: 0 }, 0.5)).toBe(false);
    expect(c).toEqual({ x: 0, y: 1.6, z: 0 });
  });

  it('drags the centre so that the head stays exactly on the radius', () => {
    const c = { x: 0, y: 1.6, z: 0 };
    const head = { x: 0, y: 1.6, z: -2 };
    expect(clampCentreToHead(c, head, 0.5)).toBe(true);
    expect(c.z).toBeCloseTo(-1.5);
    expect(Math.hypot(head.x - c.x, head.y - c.y, head.z - c.z)).toBeCloseTo(0.5);
  });

  it('counts vertical distance (crouching into the floor)', () => {
    const c = { x: 0, y: 1.6, z: 0 };
    expect(clampCentreToHead(c, { x: 0, y: 0.6, z: 0 }, 0.4)).toBe(true);
    expect(c.y).toBeCloseTo(1.0);
  });
});
