/**
 * The refined tiles under sharpened regions (src/panorama/patch-mesh.ts, docs/detail-mesh.md) as
 * one three.js Mesh: one geometry, one draw call, the panorama's shaders with `PATCH` defined and
 * the panorama material's uniforms (the same object, so textures and the depth mapping reach both
 * meshes with no extra work). Owned by PanoramaMesh, which decides which tiles exist and when their
 * depth changed; this class only keeps the GPU buffers.
 *
 * Buffers grow, they are never rebuilt per tile: each tile has a block of vertices (its grid, then
 * room for its edge triangles' own vertices) and a fixed block of indices (its triangle count never
 * changes), both appended in the order tiles arrive. Rewriting a tile touches only its blocks, and
 * only those ranges are uploaded. A tile whose edge triangles outgrow its block moves to the end
 * (the old block is left unused); the arrays double when full (a new BufferGeometry: three cannot
 * grow a GPU buffer in place). Nothing runs per frame.
 */
import { BufferAttribute, BufferGeometry, DynamicDrawUsage, FrontSide, Mesh, ShaderMaterial } from 'three';
import { inverseDepthCoefficients } from '../panorama/depth-mapping';
import type { DepthMapView, PoleDepths } from '../panorama/mesh';
import {
  buildTilePatch,
  detectTileEdges,
  displaceTilePatch,
  tileTriangleCount,
  type DetailDepthView,
  type PatchTiling,
  type TilePatch,
} from '../panorama/patch-mesh';
import type { DepthMapping } from '../panorama/types';
import vertexShader from '../../shaders/panorama.vert.glsl?raw';
import fragmentShader from '../../shaders/panorama.frag.glsl?raw';
import type { PanoramaUniforms } from './panorama-mesh';

/** What a tile's depth is computed from (the same inputs the shader reads). */
export interface PatchDepthSources {
  readonly base: DepthMapView;
  readonly layer: DetailDepthView | null;
  readonly mapping: DepthMapping;
  /** τ of the edge rule for the fine rows. */
  readonly tolerance: number;
  /** The base's pole depths (mesh.ts `poleDepths`, the shader's uPoleDepth); default computed from `base`. */
  readonly poles?: PoleDepths;
}

export interface DetailMeshStats {
  /** Refined tiles drawn. */
  readonly tiles: number;
  /** Triangles they add (edge triangles included: they are drawn flat, not dropped). */
  readonly triangles: number;
  /** Of those, edge triangles drawn flat at their farthest vertex. */
  readonly edgeTriangles: number;
  /** Vertices in use (grids plus edge triangles' own). */
  readonly vertices: number;
  /** Tiles the layer asked for that the triangle budget refused (the base grid shows them). */
  readonly skippedTiles: number;
  /** Vertex slots allocated on the GPU (≥ vertices). */
  readonly vertexCapacity: number;
}

interface PreparedTile {
  readonly block: Block;
  readonly tile: TilePatch;
  readonly distances: Float32Array;
  readonly flags: Uint8Array;
  readonly edges: number;
  /** Vertex block size when it needs a new one. */
  cap: number;
}

interface Block {
  readonly id: number;
  readonly ti: number;
  readonly tj: number;
  vStart: number;
  vCap: number;
  vUsed: number;
  readonly iStart: number;
  /** Indices (3 per triangle). */
  readonly iCount: number;
  edges: number;
}

/** Room for edge triangles' own vertices a block gets beyond what it needs now, as triangles. */
function edgeSlack(triangles: number, edges: number): number {
  return Math.max(Math.ceil(edges * 0.5), Math.ceil(triangles * 0.02));
}

export class DetailMesh {
  readonly mesh: Mesh<BufferGeometry, ShaderMaterial>;
  readonly material: ShaderMaterial;

  private geometry: BufferGeometry;
  private tilingInUse: PatchTiling | null = null;
  /** Insertion order = allocation order. */
  private blocks = new Map<number, Block>();
  private vEnd = 0;
  private iEnd = 0;
  private triangles = 0;
  /** Tiles refused by the budget (a set: a later sharpen over them asks again). */
  private readonly skipped = new Set<number>();
  private readonly budget: number;
  // Dirty ranges since the last flush, [start, end) in vertices / indices.
  private dirtyV: Array<[number, number]> = [];
  private dirtyI: Array<[number, number]> = [];
  /** The geometry was replaced: it uploads whole, ranges are not needed. */
  private fresh = true;

  constructor(uniforms: PanoramaUniforms, triangleBudget: number) {
    this.budget = triangleBudget;
    this.material = new ShaderMaterial({
      name: 'PanoramaDetailMaterial',
      // The same object as the base material's: one set of textures and depth uniforms.
      uniforms,
      defines: { PATCH: '' },
      vertexShader,
      fragmentShader,
      side: FrontSide,
      toneMapped: false,
    });
    this.geometry = makeGeometry(0, 0);
    this.mesh = new Mesh(this.geometry, this.material);
    this.mesh.name = 'panorama-detail';
    // Displaced in the vertex shader (see PanoramaMesh); the viewer is inside anyway.
    this.mesh.frustumCulled = false;
    this.mesh.visible = false;
  }

  get tiling(): PatchTiling | null {
    return this.tilingInUse;
  }

  get stats(): DetailMeshStats {
    let edges = 0;
    let vertices = 0;
    for (const b of this.blocks.values()) {
      edges += b.edges;
      vertices += b.vUsed;
    }
    return {
      tiles: this.blocks.size,
      triangles: this.triangles,
      edgeTriangles: edges,
      vertices,
      skippedTiles: this.skipped.size,
      vertexCapacity: (this.geometry.getAttribute('aDepth') as BufferAttribute).count,
    };
  }

  isRefined(id: number): boolean {
    return this.blocks.has(id);
  }

  /** Refined tiles as (ti, tj), in the order they were added. */
  refinedTiles(): IterableIterator<{ readonly ti: number; readonly tj: number }> {
    return this.blocks.values();
  }

  /** Drops every tile (and the buffers) and switches to `tiling` (null: none). */
  reset(tiling: PatchTiling | null): void {
    this.tilingInUse = tiling;
    this.blocks.clear();
    this.vEnd = 0;
    this.iEnd = 0;
    this.triangles = 0;
    this.skipped.clear();
    this.replaceGeometry(makeGeometry(0, 0));
    this.mesh.visible = false;
  }

  /**
   * Adds the tiles `add` (ids tj·tilesX + ti not yet refined; in order, while the triangle budget
   * lasts) and rewrites them, their neighbours (whose stitching changes) and `refresh` (tiles whose
   * depth changed; 'all': every tile). Returns the ids added.
   */
  update(add: readonly number[], refresh: readonly number[] | 'all', src: PatchDepthSources): number[] {
    const tiling = this.tilingInUse;
    if (tiling === null) throw new Error('DetailMesh.update: no tiling (call reset(tiling) first).');
    const added: number[] = [];
    let iNeed = 0;
    for (const id of add) {
      if (this.blocks.has(id)) continue;
      const tj = Math.floor(id / tiling.tilesX);
      const t = tileTriangleCount(tiling, tj);
      if (this.triangles + t > this.budget) {
        this.skipped.add(id);
        continue;
      }
      const ti = id - tj * tiling.tilesX;
      // Index blocks are fixed now; vertex blocks once the edge count is known (below).
      this.blocks.set(id, { id, ti, tj, vStart: 0, vCap: 0, vUsed: 0, iStart: this.iEnd + iNeed, iCount: 3 * t, edges: 0 });
      iNeed += 3 * t;
      this.triangles += t;
      added.push(id);
    }
    const todo = new Set<number>();
    if (refresh === 'all') for (const id of this.blocks.keys()) todo.add(id);
    else for (const id of refresh) if (this.blocks.has(id)) todo.add(id);
    for (const id of added) {
      todo.add(id);
      for (const n of neighbours(tiling, id)) if (this.blocks.has(n)) todo.add(n);
    }
    // Tiles that fit their block are written at once; new and outgrown ones get blocks at the end,
    // sized for their edge count, after one reserve for all of them (no garbage, one growth).
    const pending: PreparedTile[] = [];
    let vNeed = 0;
    for (const id of todo) {
      const prepared = this.prepareTile(this.blocks.get(id)!, src);
      const need = prepared.tile.vertexCount + 3 * prepared.edges;
      if (need <= prepared.block.vCap) {
        this.writeTile(prepared, src);
        continue;
      }
      prepared.cap = prepared.tile.vertexCount + 3 * (prepared.edges + edgeSlack(prepared.tile.triangleCount, prepared.edges));
      vNeed += prepared.cap;
      pending.push(prepared);
    }
    this.reserve(this.vEnd + vNeed, this.iEnd + iNeed);
    this.iEnd += iNeed;
    for (const p of pending) {
      p.block.vStart = this.vEnd;
      p.block.vCap = p.cap;
      this.vEnd += p.cap;
      this.writeTile(p, src);
    }
    this.flush();
    this.geometry.setDrawRange(0, this.iEnd);
    this.mesh.visible = this.blocks.size > 0;
    return added;
  }

  /**
   * Frees the GPU copies of the geometry and material. Not final (three re-uploads if drawn
   * again), like PanoramaMesh.dispose(); the uniforms' textures belong to PanoramaMesh.
   */
  dispose(): void {
    this.geometry.dispose();
    this.material.dispose();
  }

  /** The tile as built for its current neighbours (tests, measurements). */
  tilePatch(ti: number, tj: number): TilePatch {
    const tiling = this.tilingInUse;
    if (tiling === null) throw new Error('DetailMesh.tilePatch: no tiling.');
    return buildTilePatch(tiling, ti, tj, this.neighbourFlags(tiling, ti, tj));
  }

  private neighbourFlags(tiling: PatchTiling, ti: number, tj: number): { left: boolean; right: boolean; up: boolean; down: boolean } {
    const X = tiling.tilesX;
    return {
      left: this.blocks.has(tj * X + ((ti - 1 + X) % X)),
      right: this.blocks.has(tj * X + ((ti + 1) % X)),
      up: tj > 0 && this.blocks.has((tj - 1) * X + ti),
      down: tj < tiling.tilesY - 1 && this.blocks.has((tj + 1) * X + ti),
    };
  }

  /** Builds the tile for its current neighbours and runs the edge rule on its displaced vertices. */
  private prepareTile(block: Block, src: PatchDepthSources): PreparedTile {
    const tiling = this.tilingInUse!;
    const tile = buildTilePatch(tiling, block.ti, block.tj, this.neighbourFlags(tiling, block.ti, block.tj));
    const { distances } = displaceTilePatch(tile, src.base, src.layer, src.mapping, undefined, src.poles);
    const flags = detectTileEdges(tile, distances, src.tolerance);
    let edges = 0;
    for (let t = 0; t < tile.triangleCount; t++) edges += flags[t];
    return { block, tile, distances, flags, edges, cap: 0 };
  }

  /**
   * Writes a prepared tile into its block (which must hold it): the grid's vertices, then three
   * own vertices per edge triangle at its farthest vertex's inverse depth
   * (PanoramaMesh.rebuildDrawList does the same for the base).
   */
  private writeTile(prepared: PreparedTile, src: PatchDepthSources): void {
    const { block, tile, distances, flags, edges } = prepared;
    const geo = this.geometry;
    const pos = (geo.getAttribute('position') as BufferAttribute).array as Float32Array;
    const uv = (geo.getAttribute('uv') as BufferAttribute).array as Float32Array;
    const over = (geo.getAttribute('aDepth') as BufferAttribute).array as Float32Array;
    const stitch = (geo.getAttribute('aStitch') as BufferAttribute).array as Float32Array;
    const idx = (geo.getIndex() as BufferAttribute).array as Uint32Array;
    const v0 = block.vStart;
    pos.set(tile.positions, v0 * 3);
    uv.set(tile.uvs, v0 * 2);
    over.fill(-1, v0, v0 + tile.vertexCount);
    stitch.set(tile.stitch, v0 * 4);
    const { invFar, invRange } = inverseDepthCoefficients(src.mapping);
    let next = v0 + tile.vertexCount;
    const ind = tile.indices;
    for (let t = 0, i = block.iStart; t < tile.triangleCount; t++, i += 3) {
      const a = ind[t * 3];
      const b = ind[t * 3 + 1];
      const c = ind[t * 3 + 2];
      if (flags[t] === 0) {
        idx[i] = v0 + a;
        idx[i + 1] = v0 + b;
        idx[i + 2] = v0 + c;
        continue;
      }
      const far = distances[a] >= distances[b] ? (distances[a] >= distances[c] ? a : c) : distances[b] >= distances[c] ? b : c;
      // The inverse depth that puts a vertex at the farthest vertex's distance (exact for free
      // vertices; for a stitched one, its distance on the segment).
      const d = Math.min(1, Math.max(0, (1 / distances[far] - invFar) / invRange));
      for (let k = 0; k < 3; k++) {
        const v = ind[t * 3 + k];
        pos[next * 3] = tile.positions[v * 3];
        pos[next * 3 + 1] = tile.positions[v * 3 + 1];
        pos[next * 3 + 2] = tile.positions[v * 3 + 2];
        uv[next * 2] = tile.uvs[v * 2];
        uv[next * 2 + 1] = tile.uvs[v * 2 + 1];
        over[next] = d;
        stitch[next * 4] = -1;
        stitch[next * 4 + 1] = -1;
        stitch[next * 4 + 2] = -1;
        stitch[next * 4 + 3] = -1;
        idx[i + k] = next++;
      }
    }
    // Indices past the tile's triangles (none today: a tile's count is fixed) stay as written.
    block.vUsed = next - v0;
    block.edges = edges;
    this.dirtyV.push([v0, next]);
    this.dirtyI.push([block.iStart, block.iStart + block.iCount]);
  }

  /** Makes the arrays hold `vertices` and `indices`, doubling (a new geometry) when they do not. */
  private reserve(vertices: number, indices: number): void {
    const geo = this.geometry;
    const vCap = (geo.getAttribute('aDepth') as BufferAttribute).count;
    const iCap = (geo.getIndex() as BufferAttribute).count;
    if (vertices <= vCap && indices <= iCap) return;
    const next = makeGeometry(Math.max(vertices, vCap * 2), Math.max(indices, iCap * 2));
    // Everything up to the ends is copied as is: blocks keep their offsets, indices stay valid.
    for (const name of ['position', 'uv', 'aDepth', 'aStitch']) {
      const from = geo.getAttribute(name) as BufferAttribute;
      const to = next.getAttribute(name) as BufferAttribute;
      (to.array as Float32Array).set((from.array as Float32Array).subarray(0, this.vEnd * from.itemSize));
    }
    ((next.getIndex() as BufferAttribute).array as Uint32Array).set(((geo.getIndex() as BufferAttribute).array as Uint32Array).subarray(0, this.iEnd));
    this.replaceGeometry(next);
  }

  private replaceGeometry(next: BufferGeometry): void {
    this.geometry.dispose();
    this.geometry = next;
    this.mesh.geometry = next;
    this.fresh = true;
    this.dirtyV = [];
    this.dirtyI = [];
  }

  /** Hands the written ranges to three (merged, so adjacent tiles make one upload). */
  private flush(): void {
    const geo = this.geometry;
    const attrs: Array<[BufferAttribute, number]> = [
      [geo.getAttribute('position') as BufferAttribute, 3],
      [geo.getAttribute('uv') as BufferAttribute, 2],
      [geo.getAttribute('aDepth') as BufferAttribute, 1],
      [geo.getAttribute('aStitch') as BufferAttribute, 4],
    ];
    const index = geo.getIndex() as BufferAttribute;
    if (this.fresh) {
      // Never uploaded: three sends the whole arrays on first use.
      for (const [a] of attrs) a.clearUpdateRanges();
      index.clearUpdateRanges();
    } else {
      for (const [start, end] of mergeRanges(this.dirtyV)) for (const [a, size] of attrs) a.addUpdateRange(start * size, (end - start) * size);
      for (const [start, end] of mergeRanges(this.dirtyI)) index.addUpdateRange(start, end - start);
    }
    if (this.fresh || this.dirtyV.length > 0) {
      for (const [a] of attrs) a.needsUpdate = true;
      index.needsUpdate = true;
    }
    this.fresh = false;
    this.dirtyV = [];
    this.dirtyI = [];
  }
}

function makeGeometry(vertices: number, indices: number): BufferGeometry {
  const geometry = new BufferGeometry();
  const attrs: Array<[string, BufferAttribute]> = [
    ['position', new BufferAttribute(new Float32Array(vertices * 3), 3)],
    ['uv', new BufferAttribute(new Float32Array(vertices * 2), 2)],
    ['aDepth', new BufferAttribute(new Float32Array(vertices).fill(-1), 1)],
    ['aStitch', new BufferAttribute(new Float32Array(vertices * 4).fill(-1), 4)],
  ];
  for (const [name, a] of attrs) {
    a.setUsage(DynamicDrawUsage);
    geometry.setAttribute(name, a);
  }
  const index = new BufferAttribute(new Uint32Array(indices), 1);
  index.setUsage(DynamicDrawUsage);
  geometry.setIndex(index);
  geometry.setDrawRange(0, 0);
  return geometry;
}

function neighbours(tiling: PatchTiling, id: number): number[] {
  const X = tiling.tilesX;
  const tj = Math.floor(id / X);
  const ti = id - tj * X;
  const out = [tj * X + ((ti - 1 + X) % X), tj * X + ((ti + 1) % X)];
  if (tj > 0) out.push(id - X);
  if (tj < tiling.tilesY - 1) out.push(id + X);
  return out;
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
