// The refined tiles' geometry and rules on their own (no three): tiling, exact agreement with the
// base grid at tile corners and the seam, stitching onto coarser neighbours, which tiles a layer
// asks for, and which base triangles a tile replaces.
import { describe, expect, it } from 'vitest';
import { buildSphereMesh, depthTexelIndex, edgeToleranceForGrid } from '../../src/panorama/mesh';
import {
  baseTrianglesOfTile,
  buildTilePatch,
  displaceTilePatch,
  makePatchTiling,
  patchEdgeTolerance,
  stitchFraction,
  tileTriangleCount,
  tilesReadingLayer,
  type TileNeighbours,
} from '../../src/panorama/patch-mesh';
import { createDetailLayer } from '../../src/panorama/gnomonic';

const NONE: TileNeighbours = { left: false, right: false, up: false, down: false };
const ALL: TileNeighbours = { left: true, right: true, up: true, down: true };

describe('patch tiling', () => {
  it('cuts the default grid into 8 × 8-cell tiles, 4 rows per base row, fewer columns toward the poles', () => {
    const t = makePatchTiling(512, 256);
    expect([t.tilesX, t.tilesY, t.tileCells, t.refine]).toEqual([64, 32, 8, 4]);
    const cr = Array.from(t.columnRefine);
    console.log(`[patch] columns per base column by tile row: ${cr.join(' ')}`);
    // Symmetric about the equator, 4 there, 1 at the poles, never increasing toward a pole.
    expect(cr).toEqual([...cr].reverse());
    expect(cr[15]).toBe(4);
    expect(cr[0]).toBe(1);
    for (let j = 1; j < 16; j++) expect(cr[j]).toBeGreaterThanOrEqual(cr[j - 1]);
    // Fine cells stay at most as wide as tall (in angle) at the tile row's widest edge.
    for (let j = 0; j < 32; j++) {
      const v = j < 16 ? (j + 1) / 32 : j / 32;
      expect(Math.cos((0.5 - v) * Math.PI) / cr[j]).toBeLessThanOrEqual(1 / 4 + 1e-9);
    }
    // Triangles: 2048 per equatorial tile, fans at the poles.
    expect(tileTriangleCount(t, 15)).toBe(2048);
    expect(tileTriangleCount(t, 0)).toBe(2 * 8 * 32 - 8);
    expect(patchEdgeTolerance(t)).toBeCloseTo(edgeToleranceForGrid(1024), 15);
    expect(patchEdgeTolerance(t, 0.2)).toBeCloseTo(0.05, 15);
  });

  it('rejects a refinement that is not a power of two and shrinks tiles to divide the grid', () => {
    expect(() => makePatchTiling(512, 256, 3)).toThrow(RangeError);
    const t = makePatchTiling(12, 6);
    expect(t.tileCells).toBe(2);
    expect([t.tilesX, t.tilesY]).toEqual([6, 3]);
  });

  it('puts tile corners exactly on the base vertices (same float32 uv and direction)', () => {
    const sx = 64;
    const sy = 32;
    const t = makePatchTiling(sx, sy, 4, 8);
    const grid = buildSphereMesh(sx, sy);
    for (const [ti, tj] of [
      [3, 1],
      [7, 2],
      [0, 1],
    ] as const) {
      const tile = buildTilePatch(t, ti, tj, NONE);
      const row = tile.nu + 1;
      for (const [a, b] of [
        [0, 0],
        [tile.nu, 0],
        [0, tile.nv],
        [tile.nu, tile.nv],
      ]) {
        const n = b * row + a;
        const i = ti * 8 + a / t.columnRefine[tj];
        const j = tj * 8 + b / t.refine;
        const base = sx + (j - 1) * (sx + 1) + i;
        expect([tile.uvs[n * 2], tile.uvs[n * 2 + 1]]).toEqual([grid.uvs[base * 2], grid.uvs[base * 2 + 1]]);
        expect(Array.from(tile.positions.subarray(n * 3, n * 3 + 3))).toEqual(Array.from(grid.positions.subarray(base * 3, base * 3 + 3)));
      }
    }
  });

  it('closes the 360° seam: the last tile column at u = 1 has the u = 0 directions bit for bit', () => {
    const t = makePatchTiling(64, 32, 4, 8);
    const last = buildTilePatch(t, t.tilesX - 1, 1, ALL);
    const first = buildTilePatch(t, 0, 1, ALL);
    const row = last.nu + 1;
    for (let b = 0; b <= last.nv; b++) {
      const n = b * row + last.nu;
      const m = b * row;
      expect(last.uvs[n * 2]).toBe(1);
      expect(first.uvs[m * 2]).toBe(0);
      expect(last.uvs[n * 2 + 1]).toBe(first.uvs[m * 2 + 1]);
      expect(Array.from(last.positions.subarray(n * 3, n * 3 + 3))).toEqual(Array.from(first.positions.subarray(m * 3, m * 3 + 3)));
      // Same texel on both sides (u wraps).
      expect(depthTexelIndex(last.uvs[n * 2], last.uvs[n * 2 + 1], 4096, 2048)).toBe(depthTexelIndex(0, first.uvs[m * 2 + 1], 4096, 2048));
    }
  });

  it('builds pole tiles as fans on one point, wound like the base grid (counter-clockwise from the centre)', () => {
    const t = makePatchTiling(64, 32, 4, 8);
    for (const tj of [0, t.tilesY - 1]) {
      const tile = buildTilePatch(t, 2, tj, NONE);
      expect(tile.triangleCount).toBe(tileTriangleCount(t, tj));
      const y = tj === 0 ? 1 : -1;
      const poleRow = tj === 0 ? 0 : tile.nv;
      for (let a = 0; a < tile.nu; a++) {
        const n = poleRow * (tile.nu + 1) + a;
        expect(Array.from(tile.positions.subarray(n * 3, n * 3 + 3))).toEqual([0, y, 0]);
      }
      // Every triangle's normal points at the centre (FrontSide faces the viewer).
      const p = tile.positions;
      for (let k = 0; k < tile.triangleCount; k++) {
        const [a, b, c] = [0, 1, 2].map((i) => tile.indices[k * 3 + i]);
        const ab = [0, 1, 2].map((i) => p[b * 3 + i] - p[a * 3 + i]);
        const ac = [0, 1, 2].map((i) => p[c * 3 + i] - p[a * 3 + i]);
        const nrm = [ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2], ab[0] * ac[1] - ab[1] * ac[0]];
        const centroid = [0, 1, 2].map((i) => p[a * 3 + i] + p[b * 3 + i] + p[c * 3 + i]);
        expect(nrm[0] * centroid[0] + nrm[1] * centroid[1] + nrm[2] * centroid[2]).toBeLessThan(0);
      }
    }
  });

  it('stitches boundary vertices onto the coarser neighbour segment, and only those', () => {
    const t = makePatchTiling(64, 32, 4, 8);
    const tj = 2;
    const alone = buildTilePatch(t, 5, tj, NONE);
    const joined = buildTilePatch(t, 5, tj, ALL);
    const row = alone.nu + 1;
    let stitched = 0;
    for (let n = 0; n < alone.vertexCount; n++) {
      const a = n % row;
      const b = Math.floor(n / row);
      const onBoundary = a === 0 || a === alone.nu || b === 0 || b === alone.nv;
      const s = Array.from(alone.stitch.subarray(n * 4, n * 4 + 4));
      if (s[0] < 0) {
        expect(s).toEqual([-1, -1, -1, -1]);
        continue;
      }
      stitched++;
      expect(onBoundary).toBe(true);
      // The vertex's uv is on the segment A→B, strictly between its ends, which are base vertices.
      const f = stitchFraction(alone.uvs[n * 2], alone.uvs[n * 2 + 1], s[0], s[1], s[2], s[3]);
      expect(f).toBeGreaterThan(0);
      expect(f).toBeLessThan(1);
      for (const [u, v] of [
        [s[0], s[1]],
        [s[2], s[3]],
      ]) {
        expect(Math.abs(u * 64 - Math.round(u * 64))).toBeLessThan(1e-9);
        expect(Math.abs(v * 32 - Math.round(v * 32))).toBeLessThan(1e-9);
      }
    }
    // Per side: all fine vertices between base vertices (3 of every 4 rows/columns).
    const perSide = (n: number, step: number): number => n - n / step;
    expect(stitched).toBe(2 * perSide(alone.nv, 4) + 2 * perSide(alone.nu, t.columnRefine[tj]));
    expect(Array.from(joined.stitch).every((x) => x === -1)).toBe(true);
  });

  it('stitches a finer tile row onto a refined but coarser row above (fewer columns near the pole)', () => {
    const t = makePatchTiling(512, 256);
    // Find a tile row whose row above has fewer columns.
    let tj = 1;
    while (t.columnRefine[tj - 1] >= t.columnRefine[tj]) tj++;
    const tile = buildTilePatch(t, 0, tj, ALL);
    const step = t.columnRefine[tj] / t.columnRefine[tj - 1];
    let top = 0;
    for (let a = 0; a <= tile.nu; a++) if (tile.stitch[a * 4] >= 0) top++;
    expect(top).toBe(tile.nu - tile.nu / step);
    // The row above, refined too, is the coarser one: it stitches nothing toward us.
    const above = buildTilePatch(t, 0, tj - 1, ALL);
    expect(Array.from(above.stitch).every((x) => x === -1)).toBe(true);
  });

  it('places stitched vertices on the straight segment between the displaced ends (no crack)', () => {
    const t = makePatchTiling(64, 32, 4, 8);
    const tile = buildTilePatch(t, 5, 2, NONE);
    const w = 128;
    const h = 64;
    const depth = new Float32Array(w * h);
    for (let i = 0; i < depth.length; i++) depth[i] = ((i * 7919) % 101) / 100;
    const base = { width: w, height: h, depth };
    const mapping = { near: 1, far: 20 };
    const { positions } = displaceTilePatch(tile, base, null, mapping);
    const far = displaceTilePatch({ ...tile, stitch: new Float32Array(tile.stitch.length).fill(-1) }, base, null, mapping);
    let checked = 0;
    for (let n = 0; n < tile.vertexCount; n++) {
      const s = tile.stitch.subarray(n * 4, n * 4 + 4);
      if (s[0] < 0) continue;
      // The ends as free vertices: find them among the tile's own vertices.
      const ends = [0, 2].map((o) => {
        for (let m = 0; m < tile.vertexCount; m++) {
          if (Math.abs(tile.uvs[m * 2] - s[o]) < 1e-7 && Math.abs(tile.uvs[m * 2 + 1] - s[o + 1]) < 1e-7) return m;
        }
        return -1;
      });
      expect(ends.every((m) => m >= 0)).toBe(true);
      const A = [0, 1, 2].map((k) => far.positions[ends[0] * 3 + k]);
      const B = [0, 1, 2].map((k) => far.positions[ends[1] * 3 + k]);
      const P = [0, 1, 2].map((k) => positions[n * 3 + k]);
      const AB = A.map((x, k) => B[k] - x);
      const AP = A.map((x, k) => P[k] - x);
      const cross = [AB[1] * AP[2] - AB[2] * AP[1], AB[2] * AP[0] - AB[0] * AP[2], AB[0] * AP[1] - AB[1] * AP[0]];
      const distToLine = Math.hypot(...cross) / Math.hypot(...AB);
      expect(distToLine).toBeLessThan(1e-5);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('which tiles a layer needs', () => {
  it('finds the tiles reading weighted texels, including across the seam and at the tile borders', () => {
    const t = makePatchTiling(512, 256);
    const layer = createDetailLayer(4096, 2048);
    // One texel of weight at x = 64 (a tile border: tiles 0 and 1 read it), y = 1000.
    layer.rgba[(1000 * 4096 + 64) * 4 + 3] = 10;
    // And one at x = 0, y = 1100: read by tile 0 and, through the seam, by tile 63's u = 1 column.
    layer.rgba[(1100 * 4096 + 0) * 4 + 3] = 10;
    const ids = tilesReadingLayer(t, layer, null, true);
    const tj1 = Math.floor(1000 / 64);
    const tj2 = Math.floor(1100 / 64);
    expect(ids).toEqual([tj1 * 64 + 0, tj1 * 64 + 1, tj2 * 64 + 0, tj2 * 64 + 63].sort((a, b) => a - b));
    // Restricted to rectangles, and without the weight test: every tile reading them.
    expect(tilesReadingLayer(t, layer, [{ x: 10, y: 10, width: 5, height: 5 }], true)).toEqual([]);
    expect(tilesReadingLayer(t, layer, [{ x: 10, y: 10, width: 5, height: 5 }], false)).toEqual([0]);
    expect(tilesReadingLayer(t, layer, [{ x: 100, y: 60, width: 40, height: 10 }], false)).toEqual([1, 2, 65, 66]);
  });

  it('names the base triangles a tile replaces (fans at the poles, two per quad elsewhere)', () => {
    const t = makePatchTiling(64, 32, 4, 8);
    const grid = buildSphereMesh(64, 32);
    const seen = new Uint8Array(grid.triangleCount);
    let outside = 0;
    for (let tj = 0; tj < t.tilesY; tj++) {
      for (let ti = 0; ti < t.tilesX; ti++) {
        for (const [first, count] of baseTrianglesOfTile(t, ti, tj)) {
          for (let k = first; k < first + count; k++) {
            seen[k]++;
            // Each named triangle's vertices lie within the tile's uv box.
            for (let c = 0; c < 3; c++) {
              const n = grid.indices[k * 3 + c];
              const u = grid.uvs[n * 2];
              const v = grid.uvs[n * 2 + 1];
              const inV = v >= tj / t.tilesY - 1e-9 && v <= (tj + 1) / t.tilesY + 1e-9;
              const inU = u >= ti / t.tilesX - 1e-9 && u <= (ti + 1) / t.tilesX + 1e-9;
              if (!inU || !inV) outside++;
            }
          }
        }
      }
    }
    expect(outside).toBe(0);
    // Every base triangle belongs to exactly one tile.
    expect(seen.every((x) => x === 1)).toBe(true);
  });
});
