// The refined mesh under sharpened regions as the GPU draws it: PanoramaMesh's geometries pushed
// through a TypeScript copy of shaders/panorama.vert.glsl (with and without PATCH), on scenes
// whose depth is known, so positions can be checked against the radius they must have.
import { readFileSync } from 'node:fs';
import type { BufferAttribute } from 'three';
import { describe, expect, it } from 'vitest';
import { clampUnit, inverseDepthCoefficients } from '../../src/panorama/depth-mapping';
import { createDetailLayer, type DetailLayer } from '../../src/panorama/gnomonic';
import type { LayerRect } from '../../src/panorama/detail-layer';
import { tileTriangleCount } from '../../src/panorama/patch-mesh';
import type { DepthMapping, RGBDPanorama } from '../../src/panorama/types';
import { PanoramaMesh } from '../../src/scene/panorama-mesh';

const f = Math.fround;
const mapping: DepthMapping = { near: 1, far: 20 };
const { invFar, invRange } = inverseDepthCoefficients(mapping);
const radius = (d: number): number => 1 / (invFar + invRange * d);

/** GLSL depthTexel(), float32 like the GPU. */
function texel(u: number, v: number, width: number, height: number): number {
  const vf = f(v);
  let uf = vf <= 0 || vf >= 1 ? 0.5 : f(u);
  uf = f(uf - Math.floor(uf));
  const x = Math.min(width - 1, Math.max(0, Math.floor(f(uf * width))));
  const y = Math.min(height - 1, Math.max(0, Math.floor(f(vf * height))));
  return y * width + x;
}

/** GLSL blendedDepth(). */
function blended(u: number, v: number, pano: RGBDPanorama, layer: DetailLayer | null): number {
  const d = pano.depth[texel(u, v, pano.width, pano.height)];
  if (layer === null) return d;
  const t = texel(u, v, layer.width, layer.height);
  const a = layer.rgba[t * 4 + 3] / 255;
  return d * (1 - a) + layer.depth[t] * a;
}

const distanceOf = (d: number): number => f(1 / f(f(invFar) + f(f(invRange) * clampUnit(d))));

function directionOf(u: number, v: number): [number, number, number] {
  const lon = f((u - 0.5) * 6.283185307179586);
  const lat = f((0.5 - v) * 3.141592653589793);
  return [Math.sin(lon) * Math.cos(lat), Math.sin(lat), -Math.cos(lon) * Math.cos(lat)];
}

interface Drawn {
  /** Displaced position per vertex of the geometry. */
  readonly positions: Float32Array;
  readonly uvs: Float32Array;
  readonly stitch: Float32Array | null;
  /** The indices drawn (draw range applied, degenerate triangles dropped). */
  readonly triangles: Uint32Array;
}

/** TypeScript copy of panorama.vert.glsl over a geometry (PATCH when it has aStitch). */
function drawn(geo: PanoramaMesh['mesh']['geometry'], pano: RGBDPanorama, layer: DetailLayer | null): Drawn {
  const unit = geo.getAttribute('position').array as Float32Array;
  const uvs = geo.getAttribute('uv').array as Float32Array;
  const aDepth = geo.getAttribute('aDepth').array as Float32Array;
  const stitchAttr = geo.getAttribute('aStitch') as BufferAttribute | undefined;
  const stitch = stitchAttr ? (stitchAttr.array as Float32Array) : null;
  const positions = new Float32Array(unit.length);
  for (let n = 0; n < aDepth.length; n++) {
    const u = uvs[n * 2];
    const v = uvs[n * 2 + 1];
    if (stitch !== null && aDepth[n] < 0 && stitch[n * 4] >= 0) {
      const [uA, vA, uB, vB] = stitch.subarray(n * 4, n * 4 + 4);
      const eu = uB - uA;
      const ev = vB - vA;
      const t = ((u - uA) * eu + (v - vA) * ev) / (eu * eu + ev * ev);
      const dA = directionOf(uA, vA);
      const dB = directionOf(uB, vB);
      const rA = distanceOf(blended(uA, vA, pano, layer));
      const rB = distanceOf(blended(uB, vB, pano, layer));
      for (let k = 0; k < 3; k++) positions[n * 3 + k] = dA[k] * rA * (1 - t) + dB[k] * rB * t;
      continue;
    }
    const r = distanceOf(aDepth[n] < 0 ? blended(u, v, pano, layer) : aDepth[n]);
    for (let k = 0; k < 3; k++) positions[n * 3 + k] = f(unit[n * 3 + k] * r);
  }
  const index = geo.getIndex()!.array as Uint32Array;
  const end = Math.min(index.length, geo.drawRange.count === Infinity ? index.length : geo.drawRange.count);
  const kept: number[] = [];
  for (let i = 0; i < end; i += 3) {
    const [a, b, c] = [index[i], index[i + 1], index[i + 2]];
    if (a === b && b === c) continue;
    kept.push(a, b, c);
  }
  return { positions, uvs, stitch, triangles: Uint32Array.from(kept) };
}

const len = (p: Float32Array, n: number): number => Math.hypot(p[n * 3], p[n * 3 + 1], p[n * 3 + 2]);

/** A 1024 × 512 panorama at one depth (a sphere around the viewer). */
function flatPanorama(d: number): RGBDPanorama {
  const width = 1024;
  const height = 512;
  return { width, height, rgba: new Uint8ClampedArray(width * height * 4), depth: new Float32Array(width * height).fill(d) };
}

/** Writes an opaque rectangle of one depth into the layer (as a sharpen would, without feathering). */
function paint(layer: DetailLayer, r: LayerRect, depth: (x: number, y: number) => number): void {
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x; x < r.x + r.width; x++) {
      const t = y * layer.width + x;
      layer.rgba[t * 4 + 3] = 255;
      layer.depth[t] = depth(x, y);
    }
  }
}

const WALL = 0.3;
const BAR = 0.8;
// A sharpened region straight ahead with a bar 3 layer texels wide (0.26°, a third of a base cell):
// base vertices read columns 2048 and 2056, the refined ones every second column.
const REGION: LayerRect = { x: 1900, y: 900, width: 300, height: 250 };
const barDepth = (x: number): number => (x >= 2050 && x <= 2052 ? BAR : WALL);

/** Every triangle of the drawn base mesh that lies inside a refined tile must be degenerate. */
function baseIndexOutsideTiles(pm: PanoramaMesh): Uint32Array {
  return (pm.mesh.geometry.getIndex()!.array as Uint32Array).slice(0, pm.stats.triangles * 3);
}

describe('refined mesh under a sharpened region', () => {
  it('shows a depth step finer than the base grid (which cannot), tearing at its edges', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    paint(layer, REGION, barDepth);
    const rWall = radius(WALL);
    const rBar = radius(BAR);

    // Without refinement: no base vertex reads the bar, so the geometry has no trace of it.
    const plain = new PanoramaMesh(mapping, { detailRefine: 1 });
    plain.setPanorama(pano);
    plain.setDetailLayer(layer);
    const base = drawn(plain.mesh.geometry, pano, layer);
    let baseOnBar = 0;
    for (let n = 0; n < base.positions.length / 3; n++) if (Math.abs(len(base.positions, n) / rBar - 1) < 1e-3) baseOnBar++;
    expect(baseOnBar).toBe(0);
    expect(plain.stats.detail.tiles).toBe(0);
    plain.dispose();

    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    pm.setDetailLayer(createDetailLayer(4096, 2048));
    expect(pm.stats.detail.tiles).toBe(0); // an empty layer refines nothing
    // The sharpen's write, then its rectangle (what the Viewer passes on).
    pm.setDetailLayer(layer);
    const stats = pm.stats.detail;
    const patch = drawn(pm.detailMesh.mesh.geometry, pano, layer);
    let onBar = 0;
    let onWall = 0;
    const used = new Set(patch.triangles);
    for (const n of used) {
      const u = patch.uvs[n * 2];
      const v = patch.uvs[n * 2 + 1];
      const x = u * 4096;
      const y = v * 2048;
      // Inside the region (one texel in from its border), away from the tiles' stitched edges.
      if (y < REGION.y + 1 || y > REGION.y + REGION.height - 1 || x < REGION.x + 1 || x > REGION.x + REGION.width - 1) continue;
      if (patch.stitch![n * 4] >= 0) continue;
      const r = len(patch.positions, n);
      const flat = (pm.detailMesh.mesh.geometry.getAttribute('aDepth').array as Float32Array)[n] >= 0;
      if (!flat && x >= 2050 && x < 2053) {
        expect(Math.abs(r / rBar - 1)).toBeLessThan(1e-5);
        onBar++;
      } else {
        // Walls, and the flat copies of edge triangles (laid at their farthest vertex: the wall).
        expect(Math.abs(r / rWall - 1)).toBeLessThan(1e-5);
        onWall++;
      }
    }
    console.log(
      `[detail-mesh] region 300 × 250 texels: ${stats.tiles} tiles, +${stats.triangles} triangles ` +
        `(${stats.edgeTriangles} edge), ${stats.vertices} vertices; ${onBar} vertices on the 3-texel bar`,
    );
    // Two refined columns (u = 1025/2048, 1026/2048) over the region's rows, one per fine row.
    expect(onBar).toBeGreaterThanOrEqual(2 * Math.floor((REGION.height - 2) / 2));
    expect(onWall).toBeGreaterThan(onBar);
    // The bar's sides are depth edges: no drawn triangle joins the bar to the wall (a rubber sheet).
    const aDepth = pm.detailMesh.mesh.geometry.getAttribute('aDepth').array as Float32Array;
    for (let t = 0; t < patch.triangles.length; t += 3) {
      const r = [0, 1, 2].map((k) => len(patch.positions, patch.triangles[t + k]));
      const spans = Math.max(...r) > (1 + pm.edgeTolerance / 4) * Math.min(...r);
      expect(spans).toBe(false);
      if ([0, 1, 2].some((k) => aDepth[patch.triangles[t + k]] >= 0)) expect(Math.abs(Math.max(...r) / rWall - 1)).toBeLessThan(1e-5);
    }
    expect(stats.edgeTriangles).toBeGreaterThan(0);
    pm.dispose();
  });

  it('changes nothing outside the refined tiles, and hides the base exactly under them', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    const before = baseIndexOutsideTiles(pm);
    pm.setDetailLayer(layer);
    paint(layer, REGION, barDepth);
    pm.updateDetail([REGION]);
    const after = baseIndexOutsideTiles(pm);
    const tiling = pm.detailMesh.tiling!;
    const hidden = new Uint8Array(pm.stats.triangles);
    for (const { ti, tj } of pm.detailMesh.refinedTiles()) {
      // Only tiles whose vertices read the region.
      const u0 = (ti * 64) / 4096;
      const v0 = (tj * 64) / 2048;
      expect(u0 + 64 / 4096).toBeGreaterThanOrEqual(REGION.x / 4096);
      expect(u0).toBeLessThanOrEqual((REGION.x + REGION.width) / 4096);
      expect(v0 + 64 / 2048).toBeGreaterThanOrEqual(REGION.y / 2048);
      expect(v0).toBeLessThanOrEqual((REGION.y + REGION.height) / 2048);
      const i0 = ti * tiling.tileCells;
      const j0 = tj * tiling.tileCells;
      for (let j = j0; j < j0 + tiling.tileCells; j++) {
        for (let i = i0; i < i0 + tiling.tileCells; i++) {
          const t = 512 + 2 * ((j - 1) * 512 + i); // quad rows of the 512 × 256 grid
          hidden[t] = hidden[t + 1] = 1;
        }
      }
    }
    expect(pm.stats.detail.tiles).toBe(6 * 4); // columns 1900..2199 → tiles 29..34; rows 900..1149 → 14..17
    let same = 0;
    let wrong = 0;
    for (let i = 0; i < after.length; i++) {
      if (hidden[Math.floor(i / 3)]) wrong += after[i] === 0 ? 0 : 1;
      else if (after[i] === before[i]) same++;
      else wrong++;
    }
    expect(wrong).toBe(0);
    expect(same / 3).toBe(pm.stats.triangles - 24 * 128);
    pm.dispose();
  });

  it('meets the base grid without cracks: stitched vertices lie on the base triangles’ edges', () => {
    const pano = flatPanorama(WALL);
    // Structure in the base depth too, so the base's edges are not on one sphere.
    for (let y = 0; y < pano.height; y++) {
      for (let x = 0; x < pano.width; x++) pano.depth[y * pano.width + x] = WALL + 0.05 * Math.sin(x * 0.05) * Math.cos(y * 0.07);
    }
    const layer = createDetailLayer(4096, 2048);
    paint(layer, REGION, barDepth);
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    pm.setDetailLayer(layer);
    const grid = pm.sphere!;
    const base = drawn(pm.mesh.geometry, pano, layer);
    const patch = drawn(pm.detailMesh.mesh.geometry, pano, layer);
    const baseVertex = (u: number, v: number): number => {
      const i = Math.round(u * grid.segmentsX);
      const j = Math.round(v * grid.segmentsY);
      return grid.segmentsX + (j - 1) * (grid.segmentsX + 1) + i;
    };
    let checked = 0;
    let worst = 0;
    for (const n of new Set(patch.triangles)) {
      if (patch.stitch![n * 4] < 0) continue;
      const [uA, vA, uB, vB] = patch.stitch!.subarray(n * 4, n * 4 + 4);
      const a = baseVertex(uA, vA);
      const b = baseVertex(uB, vB);
      const A = [0, 1, 2].map((k) => base.positions[a * 3 + k]);
      const B = [0, 1, 2].map((k) => base.positions[b * 3 + k]);
      const P = [0, 1, 2].map((k) => patch.positions[n * 3 + k]);
      const AB = A.map((x, k) => B[k] - x);
      const AP = A.map((x, k) => P[k] - x);
      const c = [AB[1] * AP[2] - AB[2] * AP[1], AB[2] * AP[0] - AB[0] * AP[2], AB[0] * AP[1] - AB[1] * AP[0]];
      worst = Math.max(worst, Math.hypot(...c) / Math.hypot(...AB));
      checked++;
    }
    console.log(`[detail-mesh] ${checked} stitched vertices, farthest from the base edge: ${worst.toExponential(2)} m`);
    // 6 tiles along the top and bottom, 4 along the sides; 24 of each side's 32 fine steps.
    expect(checked).toBe(2 * 6 * 24 + 2 * 4 * 24);
    expect(worst).toBeLessThan(1e-5);
    pm.dispose();
  });

  it('covers the 360° seam: tiles on both sides share their vertices exactly', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    const rects: LayerRect[] = [
      { x: 4000, y: 900, width: 96, height: 200 },
      { x: 0, y: 900, width: 100, height: 200 },
    ];
    for (const r of rects) paint(layer, r, (x, y) => 0.5 + 0.1 * Math.sin(x * 0.02 + y * 0.03));
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    pm.setDetailLayer(createDetailLayer(4096, 2048));
    pm.setDetailLayer(layer);
    const ids = [...pm.detailMesh.refinedTiles()].map((t) => t.ti);
    expect(ids).toContain(63);
    expect(ids).toContain(0);
    const patch = drawn(pm.detailMesh.mesh.geometry, pano, layer);
    const atOne = new Map<number, number>();
    const atZero = new Map<number, number>();
    const aDepth = pm.detailMesh.mesh.geometry.getAttribute('aDepth').array as Float32Array;
    for (const n of new Set(patch.triangles)) {
      if (aDepth[n] >= 0) continue; // flat copies of edge triangles
      const u = patch.uvs[n * 2];
      if (u === 1) atOne.set(patch.uvs[n * 2 + 1], n);
      if (u === 0) atZero.set(patch.uvs[n * 2 + 1], n);
    }
    let pairs = 0;
    for (const [v, n] of atOne) {
      const m = atZero.get(v);
      if (m === undefined) continue;
      expect(Array.from(patch.positions.subarray(n * 3, n * 3 + 3))).toEqual(Array.from(patch.positions.subarray(m * 3, m * 3 + 3)));
      pairs++;
    }
    // Fine rows 900..1099 → tile rows 14..17 (4 × 32 rows + 1), minus rows that are only flat copies.
    expect(pairs).toBeGreaterThan(100);
    pm.dispose();
  });

  it('covers a pole: fans closing on one point, fewer columns there, stitched to the base below', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    // A sharpen looking straight up covers every longitude down to some latitude.
    paint(layer, { x: 0, y: 0, width: 4096, height: 150 }, (x, y) => 0.4 + 0.05 * Math.sin(x * 0.05) * (y / 150));
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    pm.setDetailLayer(layer);
    const tiling = pm.detailMesh.tiling!;
    const stats = pm.stats.detail;
    expect(stats.tiles).toBe(64 * 3);
    expect(stats.triangles).toBe(64 * (tileTriangleCount(tiling, 0) + tileTriangleCount(tiling, 1) + tileTriangleCount(tiling, 2)));
    console.log(
      `[detail-mesh] north cap (rows 0..149 of 2048): ${stats.tiles} tiles, +${stats.triangles} triangles ` +
        `(columns per base column by row: ${Array.from(tiling.columnRefine.subarray(0, 3)).join(', ')})`,
    );
    const patch = drawn(pm.detailMesh.mesh.geometry, pano, layer);
    const aDepth = pm.detailMesh.mesh.geometry.getAttribute('aDepth').array as Float32Array;
    const poles = [...new Set(patch.triangles)].filter((n) => patch.uvs[n * 2 + 1] === 0 && aDepth[n] < 0);
    expect(poles.length).toBe(64 * 8 * tiling.columnRefine[0]);
    const p0 = Array.from(patch.positions.subarray(poles[0] * 3, poles[0] * 3 + 3));
    expect(p0[0]).toBe(0);
    expect(p0[2]).toBe(0);
    expect(Math.abs(p0[1] - radius(clampUnit(0.4))) / p0[1]).toBeLessThan(1e-5);
    for (const n of poles) expect(Array.from(patch.positions.subarray(n * 3, n * 3 + 3))).toEqual(p0);
    // The base's north fans are all hidden; the row below the tiles is drawn.
    const index = pm.mesh.geometry.getIndex()!.array as Uint32Array;
    for (let t = 0; t < 512; t++) expect(Array.from(index.subarray(t * 3, t * 3 + 3))).toEqual([0, 0, 0]);
    const row = 512 + 2 * (24 - 1) * 512; // first triangle of base row 24 (below tile row 2)
    expect(index[row * 3]).not.toBe(index[row * 3 + 1]);
    // Tile row 2 (16 columns per tile) is stitched at its bottom to the unrefined base row (8
    // columns per tile) and at its top to the refined but coarser row 1 (8 too): 8 + 8 per tile.
    let stitched = 0;
    for (const n of new Set(patch.triangles)) if (patch.stitch![n * 4] >= 0) stitched++;
    expect(8 * tiling.columnRefine[2]).toBe(16);
    expect(8 * tiling.columnRefine[1]).toBe(8);
    expect(stitched).toBe(64 * (8 + 8));
    pm.dispose();
  });

  it('grows region by region: earlier tiles are not rewritten, only new ranges are uploaded', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    pm.setDetailLayer(layer);
    const r1: LayerRect = { x: 1000, y: 800, width: 300, height: 300 };
    paint(layer, r1, () => 0.5);
    pm.updateDetail([r1]);
    const first = pm.stats.detail;
    const geo1 = pm.detailMesh.mesh.geometry;
    const snapshot = (geo1.getIndex()!.array as Uint32Array).slice(0, first.triangles * 3);
    const r2: LayerRect = { x: 3000, y: 900, width: 130, height: 130 };
    paint(layer, r2, () => 0.6);
    pm.updateDetail([r2]);
    const second = pm.stats.detail;
    expect(second.tiles).toBeGreaterThan(first.tiles);
    // The first region's blocks keep their contents (copied as is if the arrays grew).
    const geo2 = pm.detailMesh.mesh.geometry;
    expect(Array.from((geo2.getIndex()!.array as Uint32Array).subarray(0, snapshot.length))).toEqual(Array.from(snapshot));
    // Room to spare now (the arrays double): a third, small region keeps the geometry and uploads
    // only its own blocks.
    const r3: LayerRect = { x: 200, y: 1000, width: 20, height: 20 };
    paint(layer, r3, () => 0.4);
    pm.updateDetail([r3]);
    expect(pm.detailMesh.mesh.geometry).toBe(geo2);
    const index = geo2.getIndex() as BufferAttribute;
    const added = pm.stats.detail.triangles - second.triangles;
    expect(added).toBeGreaterThan(0);
    const uploaded = index.updateRanges.reduce((s, r) => s + r.count, 0);
    expect(uploaded).toBe(3 * added);
    expect(Math.min(...index.updateRanges.map((r) => r.start))).toBe(3 * second.triangles);
    const aDepth = geo2.getAttribute('aDepth') as BufferAttribute;
    expect(aDepth.updateRanges.reduce((s, r) => s + r.count, 0)).toBeLessThan(aDepth.count / 4);
    pm.dispose();
  });

  it('keeps within its triangle budget, showing the base where it runs out', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    paint(layer, REGION, barDepth);
    const pm = new PanoramaMesh(mapping, { detailTriangleBudget: 10_000 });
    pm.setPanorama(pano);
    pm.setDetailLayer(layer);
    const s = pm.stats.detail;
    expect(s.tiles).toBe(4); // 2048 triangles each
    expect(s.triangles).toBeLessThanOrEqual(10_000);
    expect(s.skippedTiles).toBe(24 - 4);
    pm.dispose();
  });

  it('follows the layer: same tiles on a new base image, none without a layer, rescans a restored layer', () => {
    const pano = flatPanorama(WALL);
    const layer = createDetailLayer(4096, 2048);
    paint(layer, REGION, barDepth);
    // Layer first (a restored scene), panorama later.
    const pm = new PanoramaMesh(mapping);
    pm.setDetailLayer(layer);
    expect(pm.stats.detail.tiles).toBe(0);
    pm.setPanorama(pano);
    expect(pm.stats.detail.tiles).toBe(24);
    const geometry = pm.detailMesh.mesh.geometry;
    // A new image of the same size: same tiles, same buffers, rewritten in place.
    const written = (geometry.getIndex() as BufferAttribute).version;
    pm.setPanorama(flatPanorama(WALL));
    expect(pm.stats.detail.tiles).toBe(24);
    expect(pm.detailMesh.mesh.geometry).toBe(geometry);
    expect((geometry.getIndex() as BufferAttribute).version).toBeGreaterThan(written);
    // far/near changes: the edge test reruns; same shape scaled: nothing to redo.
    const version = (geometry.getIndex() as BufferAttribute).version;
    pm.setDepthMapping({ near: 2, far: 40 });
    expect((geometry.getIndex() as BufferAttribute).version).toBe(version);
    pm.setDepthMapping({ near: 1, far: 100 });
    expect((geometry.getIndex() as BufferAttribute).version).toBeGreaterThan(version);
    // No layer: no tiles, the base grid whole again.
    let disposed = false;
    geometry.addEventListener('dispose', () => (disposed = true));
    pm.setDetailLayer(null);
    expect(pm.stats.detail.tiles).toBe(0);
    expect(pm.detailMesh.mesh.visible).toBe(false);
    expect(disposed).toBe(true);
    const index = pm.mesh.geometry.getIndex()!.array as Uint32Array;
    let degenerate = 0;
    for (let t = 0; t < pm.stats.triangles; t++) if (index[t * 3] === index[t * 3 + 1] && index[t * 3 + 1] === index[t * 3 + 2]) degenerate++;
    expect(degenerate).toBe(0);
    pm.dispose();
  });

  it('is real geometry next to the base: a child of the panorama mesh, same uniforms, PATCH shader; freed on dispose', () => {
    const pm = new PanoramaMesh(mapping);
    const layer = createDetailLayer(4096, 2048);
    paint(layer, REGION, barDepth);
    pm.setPanorama(flatPanorama(WALL));
    pm.setDetailLayer(layer);
    const detail = pm.detailMesh;
    expect(detail.mesh.parent).toBe(pm.mesh);
    expect(detail.mesh.visible).toBe(true);
    expect(detail.material.uniforms).toBe(pm.uniforms);
    expect(detail.material.defines).toEqual({ PATCH: '' });
    expect(detail.material.side).toBe(pm.material.side);
    const src = readFileSync(new URL('../../shaders/panorama.vert.glsl', import.meta.url), 'utf8');
    // The lines the TypeScript copy above reproduces.
    expect(src).toContain('float t = dot(uv - aStitch.xy, e) / dot(e, e);');
    expect(src).toContain('vec3 a = directionOf(aStitch.xy) * distanceOf(blendedDepth(aStitch.xy));');
    expect(src).toContain('p = mix(a, b, t);');
    expect(src).toContain('return vec3(sin(lon) * cos(lat), sin(lat), -cos(lon) * cos(lat));');
    const disposed: string[] = [];
    detail.mesh.geometry.addEventListener('dispose', () => disposed.push('detail-geometry'));
    detail.material.addEventListener('dispose', () => disposed.push('detail-material'));
    pm.dispose();
    expect(disposed.sort()).toEqual(['detail-geometry', 'detail-material']);
  });
});
