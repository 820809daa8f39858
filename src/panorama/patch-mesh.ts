/**
 * Refined mesh under sharpened regions (issue #5): the detail layer (LDM3D-SR, ~4096 × 2048
 * texels) carries depth detail 8× finer than the base grid's cells (mesh.ts, 512 × 256), so the
 * base geometry cannot show it. Where the layer has weight, the base grid's cells are replaced by
 * denser "tiles" of the same latitude/longitude grid. Design: docs/detail-mesh.md.
 *
 * Design notes: docs/detail-mesh.md ("Tiling and stitching in code").
 */
import { clampUnit, inverseDepthCoefficients } from './depth-mapping';
import { uvToDirection, type Vec3 } from './equirect';
import {
  depthTexelIndex,
  detectEdgeTriangles,
  edgeToleranceForGrid,
  poleBlendedDepth,
  poleDepths,
  type DepthMapView,
  type PoleDepths,
} from './mesh';
import type { DepthMapping } from './types';

/** Fine rows per base row (and the most columns per base column). */
export const DEFAULT_PATCH_REFINE = 4;
/** Base cells per tile side. */
export const DEFAULT_TILE_CELLS = 8;
/**
 * Extra triangles the refined tiles may add, in all. Why 1 M: the base grid is 261 k (588 k for
 * SR-sized images) and a Quest 3 draws ~1.5–2 M triangles per eye-pair at 72 Hz with a shader
 * this simple (no lighting, 3–6 texel fetches per vertex); ~1.3 M total leaves room for the UI.
 * At the default density an equatorial tile is 2,048 triangles, so this is ~490 tiles, about six
 * sharpened 43° regions at the equator (more toward the poles).
 */
export const DEFAULT_PATCH_TRIANGLE_BUDGET = 1_000_000;

export interface PatchTiling {
  /** Base grid cells (mesh.ts). */
  readonly segmentsX: number;
  readonly segmentsY: number;
  /** Base cells per tile side. */
  readonly tileCells: number;
  readonly tilesX: number;
  readonly tilesY: number;
  /** Fine rows per base row. */
  readonly refine: number;
  /** Fine columns per base column, per tile row (a power of two ≤ refine). */
  readonly columnRefine: Uint8Array;
}

/**
 * Tiling of a base grid. `tileCells` is lowered to the largest power of two dividing both grid
 * sizes (8 for every grid `segmentsForImage` makes). `refine` must be a power of two ≥ 1.
 */
export function makePatchTiling(
  segmentsX: number,
  segmentsY: number,
  refine: number = DEFAULT_PATCH_REFINE,
  tileCells: number = DEFAULT_TILE_CELLS,
): PatchTiling {
  if (!Number.isInteger(refine) || refine < 1 || (refine & (refine - 1)) !== 0 || refine > 16) {
    throw new RangeError(`Patch tiling: refine must be a power of two in 1..16 (got ${refine}).`);
  }
  let tc = Math.max(1, Math.floor(tileCells));
  while (tc > 1 && (segmentsX % tc !== 0 || segmentsY % tc !== 0)) tc >>= 1;
  const tilesX = segmentsX / tc;
  const tilesY = segmentsY / tc;
  const columnRefine = new Uint8Array(tilesY);
  for (let tj = 0; tj < tilesY; tj++) {
    // The tile row's widest cells are on its edge nearest the equator.
    const v0 = (tj * tc) / segmentsY;
    const v1 = ((tj + 1) * tc) / segmentsY;
    const vNear = v0 <= 0.5 && v1 >= 0.5 ? 0.5 : v1 < 0.5 ? v1 : v0;
    const wide = refine * Math.cos((0.5 - vNear) * Math.PI);
    let cr = 1;
    // Smallest power of two ≥ wide (cells at most as wide as tall in angle), capped by refine.
    while (cr < refine && cr < wide - 1e-9) cr <<= 1;
    columnRefine[tj] = cr;
  }
  return { segmentsX, segmentsY, tileCells: tc, tilesX, tilesY, refine, columnRefine };
}

/** τ of the edge rule for the refined rows (the base rule's slope over the finer cells). */
export function patchEdgeTolerance(tiling: PatchTiling, baseTolerance?: number): number {
  return baseTolerance === undefined
    ? edgeToleranceForGrid(tiling.segmentsY * tiling.refine)
    : baseTolerance / tiling.refine;
}

/** Triangles of a refined tile (pole rows are fans: one triangle per fine column). */
export function tileTriangleCount(tiling: PatchTiling, tj: number): number {
  const nu = tiling.tileCells * tiling.columnRefine[tj];
  const nv = tiling.tileCells * tiling.refine;
  let t = 2 * nu * nv;
  if (tj === 0) t -= nu;
  if (tj === tiling.tilesY - 1) t -= nu;
  return t;
}

/** Which neighbours of a tile are refined (they decide which boundary vertices are stitched). */
export interface TileNeighbours {
  readonly left: boolean;
  readonly right: boolean;
  readonly up: boolean;
  readonly down: boolean;
}

export interface TilePatch {
  readonly ti: number;
  readonly tj: number;
  /** Fine cells across and down. */
  readonly nu: number;
  readonly nv: number;
  readonly vertexCount: number;
  readonly triangleCount: number;
  /** Unit directions, xyz per vertex (as mesh.ts: the undisplaced sphere of radius 1). */
  readonly positions: Float32Array;
  /** uv per vertex (v = 0 at the top). */
  readonly uvs: Float32Array;
  /**
   * Per vertex (uA, vA, uB, vB): the coarser neighbour's segment this vertex lies on, or
   * (−1, −1, −1, −1) for a free vertex (displaced along its own direction).
   */
  readonly stitch: Float32Array;
  /** Triangle list into this tile's vertices, counter-clockwise seen from the centre. */
  readonly indices: Uint32Array;
}

/**
 * Builds tile (ti, tj): vertices (nu + 1) × (nv + 1), row-major from the top-left; in a pole row
 * the first nu vertices of the row are the pole (one per fine column, as in mesh.ts) and the last
 * one is unused. Triangles follow mesh.ts: fans at the poles, quads (a, b, d), (a, d, c).
 */
export function buildTilePatch(tiling: PatchTiling, ti: number, tj: number, nb: TileNeighbours): TilePatch {
  const { segmentsX: sx, segmentsY: sy, tileCells: tc, refine: rv, tilesY } = tiling;
  if (!(ti >= 0 && ti < tiling.tilesX && tj >= 0 && tj < tilesY && Number.isInteger(ti) && Number.isInteger(tj))) {
    throw new RangeError(`Patch tile (${ti}, ${tj}) is outside the ${tiling.tilesX} × ${tilesY} tiling.`);
  }
  const ru = tiling.columnRefine[tj];
  const nu = tc * ru;
  const nv = tc * rv;
  const sxF = sx * ru;
  const syF = sy * rv;
  const c0 = ti * nu;
  const r0 = tj * nv;
  const row = nu + 1;
  const vertexCount = row * (nv + 1);
  const positions = new Float32Array(vertexCount * 3);
  const uvs = new Float32Array(vertexCount * 2);
  const stitch = new Float32Array(vertexCount * 4).fill(-1);
  const dir: Vec3 = { x: 0, y: 0, z: 0 };
  // Lattice step (in this tile's fine columns/rows) of each neighbour along the shared edge;
  // 1 = same lattice, nothing to stitch.
  const stepV = rv; // an unrefined neighbour left/right: base rows every rv fine rows
  const colStep = (ntj: number, refined: boolean): number => (refined ? Math.max(1, ru / tiling.columnRefine[ntj]) : ru);
  const leftStep = nb.left ? 1 : stepV;
  const rightStep = nb.right ? 1 : stepV;
  const upStep = tj > 0 ? colStep(tj - 1, nb.up) : 1;
  const downStep = tj < tilesY - 1 ? colStep(tj + 1, nb.down) : 1;

  for (let b = 0; b <= nv; b++) {
    const r = r0 + b;
    const v = r / syF;
    const pole = r === 0 ? 1 : r === syF ? -1 : 0;
    for (let a = 0; a <= nu; a++) {
      const n = b * row + a;
      const c = c0 + a;
      if (pole !== 0) {
        // One pole vertex per fine column (u at the column's centre); the row's last is unused.
        const u = a < nu ? (c + 0.5) / sxF : (c - 0.5) / sxF;
        positions[n * 3 + 1] = pole;
        uvs[n * 2] = u;
        uvs[n * 2 + 1] = pole > 0 ? 0 : 1;
        continue;
      }
      const u = c / sxF;
      // u = 1 is the seam: copy u = 0's direction bit for bit, as mesh.ts does.
      uvToDirection(c === sxF ? 0 : u, v, dir);
      positions[n * 3] = dir.x;
      positions[n * 3 + 1] = dir.y;
      positions[n * 3 + 2] = dir.z;
      uvs[n * 2] = u;
      uvs[n * 2 + 1] = v;
      // Stitch to a coarser neighbour's segment (corners are base vertices: never stitched).
      const s = n * 4;
      if ((a === 0 && leftStep > 1) || (a === nu && rightStep > 1)) {
        const k = b % stepV;
        if (k !== 0) {
          stitch[s] = u;
          stitch[s + 1] = (r - k) / syF;
          stitch[s + 2] = u;
          stitch[s + 3] = (r - k + stepV) / syF;
        }
      } else if ((b === 0 && upStep > 1) || (b === nv && downStep > 1)) {
        const step = b === 0 ? upStep : downStep;
        const k = a % step;
        if (k !== 0) {
          stitch[s] = (c - k) / sxF;
          stitch[s + 1] = v;
          stitch[s + 2] = (c - k + step) / sxF;
          stitch[s + 3] = v;
        }
      }
    }
  }

  const triangleCount = tileTriangleCount(tiling, tj);
  const indices = new Uint32Array(triangleCount * 3);
  let t = 0;
  for (let b = 0; b < nv; b++) {
    const r = r0 + b;
    for (let a = 0; a < nu; a++) {
      const A = b * row + a; // top-left
      const C = A + 1; // top-right
      const B = A + row; // bottom-left
      const D = B + 1; // bottom-right
      if (r === 0) {
        // North fan: (pole, ring[k], ring[k+1]).
        indices[t++] = A;
        indices[t++] = B;
        indices[t++] = D;
      } else if (r + 1 === syF) {
        // South fan: (ring[k], pole, ring[k+1]).
        indices[t++] = A;
        indices[t++] = B;
        indices[t++] = C;
      } else {
        indices[t++] = A;
        indices[t++] = B;
        indices[t++] = D;
        indices[t++] = A;
        indices[t++] = D;
        indices[t++] = C;
      }
    }
  }
  return { ti, tj, nu, nv, vertexCount, triangleCount, positions, uvs, stitch, indices };
}

// ---------------------------------------------------------------------------------------------
// Depth: the vertex shader's rule on the CPU (edge test, flat edge triangles, tests).

/** A detail layer's part the mesh reads: alpha (RGBA8, byte 3) and depth. */
export interface DetailDepthView {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray | Uint8Array;
  readonly depth: Float32Array;
}

/**
 * Relative inverse depth the shader displaces by at (u, v): the base depth texel, mixed toward
 * the detail layer's texel by its alpha (each texture by `depthTexelIndex` at its own size),
 * clamped to [0, 1], then blended toward the pole's depth near the poles (mesh.ts
 * `poleBlendedDepth`; `poles` = `poleDepths(base)`, computed once by the caller).
 */
export function blendedInverseDepth(
  u: number,
  v: number,
  base: DepthMapView,
  layer: DetailDepthView | null,
  poles: PoleDepths,
): number {
  const d = base.depth[depthTexelIndex(u, v, base.width, base.height)];
  if (layer === null) return poleBlendedDepth(clampUnit(d), v, poles);
  const t = depthTexelIndex(u, v, layer.width, layer.height);
  const a = layer.rgba[t * 4 + 3] / 255;
  return poleBlendedDepth(a === 0 ? clampUnit(d) : clampUnit(d * (1 - a) + layer.depth[t] * a), v, poles);
}

/** Displaced positions and distances of a tile's vertices, as the vertex shader places them. */
export interface TileDisplacement {
  /** xyz per vertex, metres. */
  readonly positions: Float32Array;
  /** |position| per vertex, metres (what the edge rule compares). */
  readonly distances: Float32Array;
}

/**
 * Where the shader puts each vertex: free vertices at direction × distance(blended depth),
 * stitched ones on their segment A→B (A and B placed like free vertices of their own uv).
 */
export function displaceTilePatch(
  tile: TilePatch,
  base: DepthMapView,
  layer: DetailDepthView | null,
  mapping: DepthMapping,
  out?: TileDisplacement,
  poles: PoleDepths = poleDepths(base),
): TileDisplacement {
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  const n = tile.vertexCount;
  const positions = out?.positions ?? new Float32Array(n * 3);
  const distances = out?.distances ?? new Float32Array(n);
  const dist = (u: number, v: number): number => 1 / (invFar + invRange * blendedInverseDepth(u, v, base, layer, poles));
  const dA: Vec3 = { x: 0, y: 0, z: 0 };
  const dB: Vec3 = { x: 0, y: 0, z: 0 };
  const { uvs, stitch } = tile;
  for (let k = 0; k < n; k++) {
    const s = k * 4;
    if (stitch[s] < 0) {
      const r = dist(uvs[k * 2], uvs[k * 2 + 1]);
      positions[k * 3] = tile.positions[k * 3] * r;
      positions[k * 3 + 1] = tile.positions[k * 3 + 1] * r;
      positions[k * 3 + 2] = tile.positions[k * 3 + 2] * r;
      distances[k] = r;
      continue;
    }
    const uA = stitch[s];
    const vA = stitch[s + 1];
    const uB = stitch[s + 2];
    const vB = stitch[s + 3];
    const t = stitchFraction(uvs[k * 2], uvs[k * 2 + 1], uA, vA, uB, vB);
    const rA = dist(uA, vA);
    const rB = dist(uB, vB);
    uvToDirection(uA, vA, dA);
    uvToDirection(uB, vB, dB);
    const x = (1 - t) * dA.x * rA + t * dB.x * rB;
    const y = (1 - t) * dA.y * rA + t * dB.y * rB;
    const z = (1 - t) * dA.z * rA + t * dB.z * rB;
    positions[k * 3] = x;
    positions[k * 3 + 1] = y;
    positions[k * 3 + 2] = z;
    distances[k] = Math.hypot(x, y, z);
  }
  return { positions, distances };
}

/** Fraction of (u, v) along A→B, as the shader computes it: dot(uv − A, B − A) / |B − A|². */
export function stitchFraction(u: number, v: number, uA: number, vA: number, uB: number, vB: number): number {
  const eu = uB - uA;
  const ev = vB - vA;
  return ((u - uA) * eu + (v - vA) * ev) / (eu * eu + ev * ev);
}

/** Edge flags of a tile's triangles (1 = depth edge) under the base rule with the fine τ. */
export function detectTileEdges(tile: TilePatch, distances: Float32Array, tolerance: number, out?: Uint8Array): Uint8Array {
  return detectEdgeTriangles(tile.indices, distances, tolerance, out);
}

// ---------------------------------------------------------------------------------------------
// Which tiles a detail layer needs.

/**
 * For each layer column (row), the tile column (row) whose vertices read it, and a second one when
 * a tile boundary's vertices read it too (−1 if none). Vertices at u = i/tilesX read texel
 * floor(u·width) by `depthTexelIndex`, which belongs to the tile on the right; the tile on the
 * left reads it with its last column.
 */
function texelToTiles(tiles: number, texels: number, wrap: boolean): { first: Int32Array; second: Int32Array } {
  const first = new Int32Array(texels);
  const second = new Int32Array(texels).fill(-1);
  for (let x = 0; x < texels; x++) first[x] = Math.min(tiles - 1, Math.floor(((x + 0.5) * tiles) / texels));
  for (let i = 0; i <= tiles; i++) {
    if (!wrap && (i === 0 || i === tiles)) continue;
    const x = depthTexelIndex(i === tiles ? 0 : i / tiles, 0.5, texels, 1);
    const left = (i - 1 + tiles) % tiles;
    if (first[x] !== left) second[x] = left;
    else if (i < tiles && first[x] !== i) second[x] = i;
  }
  return { first, second };
}

/** A texel rectangle of the layer (as detail-layer.ts's LayerRect). */
export interface TexelRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Tile ids (tj·tilesX + ti) whose vertices read a layer texel inside `rects` (all of the layer if
 * omitted): `withWeight` keeps only tiles that read a texel with alpha > 0 (the ones worth
 * refining); without it, every tile reading the rectangles (whose depth changed). Sorted.
 */
export function tilesReadingLayer(
  tiling: PatchTiling,
  layer: DetailDepthView,
  rects: readonly TexelRect[] | null,
  withWeight: boolean,
): number[] {
  const { width, height, rgba } = layer;
  const cols = texelToTiles(tiling.tilesX, width, true);
  const rows = texelToTiles(tiling.tilesY, height, false);
  const hit = new Uint8Array(tiling.tilesX * tiling.tilesY);
  const all = rects ?? [{ x: 0, y: 0, width, height }];
  const mark = (x: number, y: number): void => {
    const tx = [cols.first[x], cols.second[x]];
    const ty = [rows.first[y], rows.second[y]];
    for (const j of ty) if (j >= 0) for (const i of tx) if (i >= 0) hit[j * tiling.tilesX + i] = 1;
  };
  for (const r of all) {
    const x0 = Math.max(0, r.x);
    const x1 = Math.min(width, r.x + r.width);
    const y0 = Math.max(0, r.y);
    const y1 = Math.min(height, r.y + r.height);
    for (let y = y0; y < y1; y++) {
      if (!withWeight) {
        // Rectangles are contiguous: the tile columns of the run's texels are enough.
        for (let x = x0; x < x1; x++) if (x === x0 || cols.first[x] !== cols.first[x - 1] || cols.second[x] >= 0) mark(x, y);
        continue;
      }
      let o = (y * width + x0) * 4 + 3;
      for (let x = x0; x < x1; x++, o += 4) if (rgba[o] !== 0) mark(x, y);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < hit.length; i++) if (hit[i]) out.push(i);
  return out;
}

/**
 * The base grid's triangles inside tile (ti, tj) (those a refined tile replaces), as
 * [first, count] runs of triangle indices in mesh.ts's order.
 */
export function baseTrianglesOfTile(tiling: PatchTiling, ti: number, tj: number): Array<[number, number]> {
  const { segmentsX: sx, segmentsY: sy, tileCells: tc } = tiling;
  const runs: Array<[number, number]> = [];
  const i0 = ti * tc;
  for (let j = tj * tc; j < (tj + 1) * tc; j++) {
    if (j === 0) runs.push([i0, tc]);
    else if (j === sy - 1) runs.push([sx + 2 * sx * (sy - 2) + i0, tc]);
    else runs.push([sx + 2 * ((j - 1) * sx + i0), 2 * tc]);
  }
  return runs;
}
