/**
 * The depth-displaced panorama: one Mesh, one draw call, plus (under sharpened regions) a child
 * Mesh of refined tiles, one more draw call (detail-mesh.ts, docs/detail-mesh.md). This class owns
 * every GPU resource it creates (geometries, colour and depth textures, materials) and frees them
 * in `dispose()`.
 *
 * Work is split so the render loop does nothing:
 * - `setPanorama` (a new image): reuses the geometry when the grid size is unchanged and the
 *   textures when the image size is unchanged (re-upload only); otherwise replaces them.
 * - `setDepthMapping` (a slider): updates two uniforms. The edge test depends on far/near only,
 *   so the triangle list is rebuilt only when that ratio changes.
 * - Edge triangles ("rubber sheets") are found on the CPU with the panorama module's own rule
 *   (`detectEdgeTriangles`), so GPU and CPU agree by construction, and are redrawn flat at their
 *   farthest vertex's depth (see `rebuildDrawList`); the fragment shader never has to `discard`.
 * - The detail layer (Sharpen): `setDetailLayer` / `updateDetail` upload it and add refined tiles
 *   where it has weight (only the tiles the written rectangles touch are rebuilt); the base grid's
 *   cells under a tile become degenerate triangles, and the tiles' borders are stitched onto the
 *   remaining cells, so the two meshes neither overlap nor leave a crack.
 */
import {
  BufferAttribute,
  BufferGeometry,
  DataTexture,
  DynamicDrawUsage,
  FloatType,
  FrontSide,
  LinearFilter,
  LinearMipmapLinearFilter,
  Mesh,
  NearestFilter,
  RedFormat,
  RepeatWrapping,
  ClampToEdgeWrapping,
  RGBAFormat,
  ShaderMaterial,
  SRGBColorSpace,
  UnsignedByteType,
  Vector2,
  type IUniform,
} from 'three';
import { clampUnit, inverseDepthCoefficients } from '../panorama/depth-mapping';
import {
  buildSphereMesh,
  depthTexelIndex,
  detectEdgeTriangles,
  edgeToleranceForGrid,
  POLE_BAND_V,
  poleBlendedDepth,
  poleDepths,
  sampleVertexDistances,
  segmentsForImage,
  type PoleDepths,
  type SphereMesh,
} from '../panorama/mesh';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';
import type { DetailLayer } from '../panorama/gnomonic';
import type { LayerRect } from '../panorama/detail-layer';
import {
  baseTrianglesOfTile,
  DEFAULT_PATCH_REFINE,
  DEFAULT_PATCH_TRIANGLE_BUDGET,
  makePatchTiling,
  patchEdgeTolerance,
  tilesReadingLayer,
} from '../panorama/patch-mesh';
import { DetailMesh, type DetailMeshStats } from './detail-mesh';
import vertexShader from '../../shaders/panorama.vert.glsl?raw';
import fragmentShader from '../../shaders/panorama.frag.glsl?raw';

/** Edge triangles the vertex buffers have room for at first, as a fraction of all triangles. */
const INITIAL_EDGE_FRACTION = 0.05;

export interface PanoramaUniforms {
  [name: string]: IUniform;
  uColor: IUniform<DataTexture | null>;
  uDepth: IUniform<DataTexture | null>;
  uInvFar: IUniform<number>;
  uInvRange: IUniform<number>;
  /** Detail layer (LDM3D-SR): premultiplied RGBA8, alpha = blend weight; 1×1 transparent when none. */
  uDetail: IUniform<DataTexture>;
  /** Detail layer depth (R32F, same size as uDetail), fetched like uDepth. */
  uDetailDepth: IUniform<DataTexture>;
  /** (north, south): the pole rows' median inverse depth (mesh.ts `poleDepths`). */
  uPoleDepth: IUniform<Vector2>;
  /** The pole blend band as a fraction of v (mesh.ts POLE_BAND_V). */
  uPoleBand: IUniform<number>;
}

export interface PanoramaMeshStats {
  /** Triangles in the grid. */
  readonly triangles: number;
  /** Triangles hidden as depth edges for the current panorama and far/near ratio. */
  readonly edgeTriangles: number;
  readonly segmentsX: number;
  readonly segmentsY: number;
  /** The refined tiles under sharpened regions (detail-mesh.ts); zeros when there are none. */
  readonly detail: DetailMeshStats;
}

export interface PanoramaMeshOptions {
  /**
   * Edge rule τ (mesh.ts): a triangle whose distances differ by more than this is an edge.
   * Default: the panorama module's τ for the grid in use (`edgeToleranceForGrid`).
   */
  readonly edgeTolerance?: number;
  /** Anisotropic filtering for the colour texture (renderer.capabilities.getMaxAnisotropy()). */
  readonly anisotropy?: number;
  /** Overrides the grid size chosen from the image size (tests, benchmarks). */
  readonly segments?: (width: number, height: number) => { segmentsX: number; segmentsY: number };
  /**
   * Fine rows per base row under sharpened regions (patch-mesh.ts; a power of two, 1 = no
   * refined mesh). Default DEFAULT_PATCH_REFINE (4).
   */
  readonly detailRefine?: number;
  /** Most triangles the refined tiles may add. Default DEFAULT_PATCH_TRIANGLE_BUDGET (1 M). */
  readonly detailTriangleBudget?: number;
}

/** Uint8ClampedArray → Uint8Array view over the same memory (three uploads Uint8Array bytes). */
function bytesOf(a: Uint8ClampedArray | Uint8Array): Uint8Array {
  return a instanceof Uint8Array ? a : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class PanoramaMesh {
  readonly mesh: Mesh<BufferGeometry, ShaderMaterial>;
  readonly material: ShaderMaterial;
  readonly uniforms: PanoramaUniforms;

  private grid: SphereMesh | null = null;
  private geometry: BufferGeometry;
  private colour: DataTexture | null = null;
  private depth: DataTexture | null = null;
  private panorama: RGBDPanorama | null = null;
  /** The panorama's pole depths (uPoleDepth), kept for the CPU mirror of the shader. */
  private poles: PoleDepths = { north: 0, south: 0 };
  private detail: DetailLayer | null = null;
  private detailColour: DataTexture;
  private detailDepth: DataTexture;
  private mapping: DepthMapping;
  /** far/near for which the draw list was last built (the edge rule depends on nothing else). */
  private edgeRatio = NaN;
  private edgeCount = 0;
  // Scratch buffers sized to the grid, reused across updates.
  private distances = new Float32Array(0);
  private edgeFlags = new Uint8Array(0);
  private edgeCapacity = 0;
  private readonly tolerance: number | undefined;
  private readonly anisotropy: number;
  private readonly chooseSegments: (w: number, h: number) => { segmentsX: number; segmentsY: number };
  /** Refined tiles under the detail layer's weight; a child of `mesh`, drawn with it. */
  private readonly patches: DetailMesh;
  private readonly detailRefine: number;
  /** The detail layer changed while there was no grid or panorama: scan it whole at setPanorama. */
  private patchesStale = true;

  constructor(mapping: DepthMapping, options: PanoramaMeshOptions = {}) {
    this.tolerance = options.edgeTolerance;
    this.anisotropy = options.anisotropy ?? 1;
    this.chooseSegments = options.segments ?? segmentsForImage;
    this.mapping = mapping;
    const { invFar, invRange } = inverseDepthCoefficients(mapping);
    this.detailColour = makeDetailTexture(new Uint8Array(4), 1, 1, 'colour');
    this.detailDepth = makeDetailTexture(new Float32Array(1), 1, 1, 'depth');
    this.uniforms = {
      uColor: { value: null },
      uDepth: { value: null },
      uInvFar: { value: invFar },
      uInvRange: { value: invRange },
      uDetail: { value: this.detailColour },
      uDetailDepth: { value: this.detailDepth },
      uPoleDepth: { value: new Vector2(0, 0) },
      uPoleBand: { value: POLE_BAND_V },
    };
    this.material = new ShaderMaterial({
      name: 'PanoramaMaterial',
      uniforms: this.uniforms,
      vertexShader,
      fragmentShader,
      // mesh.ts winds triangles counter-clockwise seen from the centre: the front faces the
      // viewer, and the image is not mirrored (a BackSide sphere with flipped u would be).
      side: FrontSide,
      // The shader does not include tonemapping_fragment; say so, so nobody expects it.
      toneMapped: false,
    });
    this.geometry = new BufferGeometry();
    this.mesh = new Mesh(this.geometry, this.material);
    this.mesh.name = 'panorama';
    // Vertices are moved in the vertex shader, so the unit-sphere bounds three would compute are
    // wrong; the viewer is always inside the sphere anyway.
    this.mesh.frustumCulled = false;
    // Nothing to show until a panorama arrives.
    this.mesh.visible = false;
    this.detailRefine = options.detailRefine ?? DEFAULT_PATCH_REFINE;
    // Checked now rather than at the first sharpen (makePatchTiling's rule).
    if (this.detailRefine > 1) makePatchTiling(4, 2, this.detailRefine, 1);
    this.patches = new DetailMesh(this.uniforms, options.detailTriangleBudget ?? DEFAULT_PATCH_TRIANGLE_BUDGET);
    // A child: shown, hidden and moved with the panorama, in both eyes like any geometry.
    this.mesh.add(this.patches.mesh);
  }

  /** Shows `panorama`. Its arrays are referenced, not copied: do not mutate them afterwards. */
  setPanorama(panorama: RGBDPanorama): void {
    const { width, height } = panorama;
    if (panorama.rgba.length !== width * height * 4 || panorama.depth.length !== width * height) {
      throw new RangeError(`Panorama arrays do not match its size ${width} × ${height}.`);
    }
    this.ensureGrid(width, height);
    this.colour = this.updateTexture(this.colour, width, height, bytesOf(panorama.rgba), 'colour');
    this.depth = this.updateTexture(this.depth, width, height, panorama.depth, 'depth');
    this.uniforms.uColor.value = this.colour;
    this.uniforms.uDepth.value = this.depth;
    this.panorama = panorama;
    // Once per image: the shader and every CPU mirror (edge test, refined tiles) blend toward these.
    this.poles = poleDepths(panorama);
    this.uniforms.uPoleDepth.value.set(this.poles.north, this.poles.south);
    this.edgeRatio = NaN;
    // Same tiles (they depend on the layer only), new base depth under them.
    this.syncPatches(this.patchesStale ? null : 'depth');
    this.rebuildDrawList();
    this.mesh.visible = true;
  }

  /** Live near/far change: two uniforms; the triangle list only if far/near changed. */
  setDepthMapping(mapping: DepthMapping): void {
    const { invFar, invRange } = inverseDepthCoefficients(mapping);
    this.mapping = mapping;
    this.uniforms.uInvFar.value = invFar;
    this.uniforms.uInvRange.value = invRange;
    if (this.panorama !== null && mapping.far / mapping.near !== this.edgeRatio) {
      this.syncPatches('depth');
      this.rebuildDrawList();
    }
  }

  /**
   * Shows a detail layer over the panorama (null: none). Its arrays are referenced, not copied:
   * change them only through `updateDetail` afterwards. The textures are uploaded whole here.
   */
  setDetailLayer(layer: DetailLayer | null): void {
    if (layer !== null && (layer.rgba.length !== layer.width * layer.height * 4 || layer.depth.length !== layer.width * layer.height)) {
      throw new RangeError(`Detail layer arrays do not match its size ${layer.width} × ${layer.height}.`);
    }
    this.detailColour.dispose();
    this.detailDepth.dispose();
    this.detail = layer;
    this.detailColour = layer ? makeDetailTexture(bytesOf(layer.rgba), layer.width, layer.height, 'colour') : makeDetailTexture(new Uint8Array(4), 1, 1, 'colour');
    this.detailDepth = layer ? makeDetailTexture(layer.depth, layer.width, layer.height, 'depth') : makeDetailTexture(new Float32Array(1), 1, 1, 'depth');
    this.uniforms.uDetail.value = this.detailColour;
    this.uniforms.uDetailDepth.value = this.detailDepth;
    this.edgeRatio = NaN;
    this.syncPatches(null);
    this.rebuildDrawList();
  }

  /**
   * The detail layer's arrays changed inside `rects`: uploads those rows of texels only (one
   * texSubImage2D per row and texture), then redoes the edge test with the blended depth.
   */
  updateDetail(rects: readonly LayerRect[]): void {
    const layer = this.detail;
    if (layer === null || rects.length === 0) return;
    for (const tex of [this.detailColour, this.detailDepth]) {
      for (const r of rects) {
        // three's ranges count 4 components per texel whatever the format (WebGLTextures.updateTexture).
        for (let y = r.y; y < r.y + r.height; y++) tex.addUpdateRange((y * layer.width + r.x) * 4, r.width * 4);
      }
      tex.needsUpdate = true;
    }
    this.syncPatches(rects);
    this.rebuildDrawList();
  }

  get detailLayer(): DetailLayer | null {
    return this.detail;
  }

  get stats(): PanoramaMeshStats {
    return {
      triangles: this.grid?.triangleCount ?? 0,
      edgeTriangles: this.edgeCount,
      segmentsX: this.grid?.segmentsX ?? 0,
      segmentsY: this.grid?.segmentsY ?? 0,
      detail: this.patches.stats,
    };
  }

  /** τ of the edge rule in use (the option, or the panorama module's value for this grid). */
  get edgeTolerance(): number {
    return this.tolerance ?? (this.grid ? edgeToleranceForGrid(this.grid.segmentsY) : NaN);
  }

  /** The grid currently drawn (for tests and measurements). */
  get sphere(): SphereMesh | null {
    return this.grid;
  }

  /** Per-triangle edge flags of the current draw list (1 = hidden); a view, do not keep it. */
  get edges(): Uint8Array {
    return this.edgeFlags.subarray(0, this.grid?.triangleCount ?? 0);
  }

  /** The refined tiles' mesh (a child of `mesh`), for tests and measurements. */
  get detailMesh(): DetailMesh {
    return this.patches;
  }

  /**
   * Frees the GPU copies of the geometry, textures and material. Like three's own dispose() it is
   * not final: if the mesh is drawn again, three uploads everything anew (React StrictMode runs
   * effect cleanups once before the real mount, so the owner must survive that).
   */
  dispose(): void {
    this.geometry.dispose();
    this.material.dispose();
    this.colour?.dispose();
    this.depth?.dispose();
    this.detailColour.dispose();
    this.detailDepth.dispose();
    this.patches.dispose();
  }

  /**
   * Brings the refined tiles up to date (patch-mesh.ts). `null`: the layer (or grid) is new, scan it
   * whole and start over; 'depth': the same tiles, new depth under all of them (panorama or far/near
   * changed); rects: the layer changed there, so add the tiles it now gives weight to and rewrite
   * those reading it. The base grid's cells under refined tiles are hidden in rebuildDrawList.
   */
  private syncPatches(change: readonly LayerRect[] | null | 'depth'): void {
    const grid = this.grid;
    const pano = this.panorama;
    const layer = this.detail;
    if (grid === null || pano === null) {
      this.patchesStale = true;
      return;
    }
    this.patchesStale = false;
    if (layer === null || this.detailRefine <= 1) {
      if (this.patches.tiling !== null) this.patches.reset(null);
      return;
    }
    let tiling = this.patches.tiling;
    if (tiling === null || tiling.segmentsX !== grid.segmentsX || tiling.segmentsY !== grid.segmentsY || change === null) {
      tiling = makePatchTiling(grid.segmentsX, grid.segmentsY, this.detailRefine);
      this.patches.reset(tiling);
      change = null;
    }
    const src = { base: pano, layer, mapping: this.mapping, tolerance: patchEdgeTolerance(tiling, this.tolerance), poles: this.poles };
    if (change === 'depth') {
      this.patches.update([], 'all', src);
      return;
    }
    const wanted = tilesReadingLayer(tiling, layer, change, true);
    const changed = change === null ? [] : tilesReadingLayer(tiling, layer, change, false);
    this.patches.update(wanted, changed, src);
  }

  /** Builds the grid for this image size, or keeps the current one when the size maps to it. */
  private ensureGrid(width: number, height: number): void {
    const { segmentsX, segmentsY } = this.chooseSegments(width, height);
    if (this.grid !== null && this.grid.segmentsX === segmentsX && this.grid.segmentsY === segmentsY) return;
    const grid = buildSphereMesh(segmentsX, segmentsY);
    this.grid = grid;
    this.distances = new Float32Array(grid.vertexCount);
    this.edgeFlags = new Uint8Array(grid.triangleCount);
    this.allocateGeometry(grid, Math.ceil(grid.triangleCount * INITIAL_EDGE_FRACTION));
  }

  /**
   * Vertex buffers hold the grid's vertices, then room for `edgeCapacity` edge triangles with
   * their own three vertices each. A new BufferGeometry (not resized attributes): three cannot
   * grow a GPU buffer in place.
   */
  private allocateGeometry(grid: SphereMesh, edgeCapacity: number): void {
    const cap = Math.min(grid.triangleCount, Math.max(1, edgeCapacity));
    const n = grid.vertexCount + 3 * cap;
    const positions = new Float32Array(n * 3);
    const uvs = new Float32Array(n * 2);
    const depthOverride = new Float32Array(n).fill(-1);
    positions.set(grid.positions);
    uvs.set(grid.uvs);
    const geometry = new BufferGeometry();
    const position = new BufferAttribute(positions, 3);
    const uv = new BufferAttribute(uvs, 2);
    const aDepth = new BufferAttribute(depthOverride, 1);
    const index = new BufferAttribute(new Uint32Array(grid.indices.length), 1);
    for (const a of [position, uv, aDepth, index]) a.setUsage(DynamicDrawUsage);
    geometry.setAttribute('position', position);
    geometry.setAttribute('uv', uv);
    geometry.setAttribute('aDepth', aDepth);
    geometry.setIndex(index);
    this.geometry.dispose();
    this.geometry = geometry;
    this.mesh.geometry = geometry;
    this.edgeCapacity = cap;
  }

  /**
   * Same-size images re-upload into the existing texture; a new size needs a new texture because
   * WebGL2 texture storage is immutable in size.
   */
  private updateTexture(
    current: DataTexture | null,
    width: number,
    height: number,
    data: Uint8Array | Float32Array,
    kind: 'colour' | 'depth',
  ): DataTexture {
    if (current !== null && current.image.width === width && current.image.height === height) {
      current.image.data = data;
      current.needsUpdate = true;
      return current;
    }
    current?.dispose();
    let tex: DataTexture;
    if (kind === 'colour') {
      tex = new DataTexture(data, width, height, RGBAFormat, UnsignedByteType);
      tex.colorSpace = SRGBColorSpace;
      // Filtering colour is right (depth is the one that must not blend). Mipmaps keep the
      // stretched rows near the poles from aliasing; u repeats so the seam filters across.
      tex.minFilter = LinearMipmapLinearFilter;
      tex.magFilter = LinearFilter;
      tex.generateMipmaps = true;
      tex.wrapS = RepeatWrapping;
      tex.wrapT = ClampToEdgeWrapping;
      tex.anisotropy = this.anisotropy;
    } else {
      tex = new DataTexture(data, width, height, RedFormat, FloatType);
      tex.minFilter = NearestFilter;
      tex.magFilter = NearestFilter;
      tex.generateMipmaps = false;
      tex.wrapS = ClampToEdgeWrapping;
      tex.wrapT = ClampToEdgeWrapping;
    }
    // Row 0 of the arrays is the top of the image and uv.v = 0 is the top: no flip.
    tex.flipY = false;
    tex.unpackAlignment = 1;
    tex.name = kind === 'colour' ? 'panorama-colour' : 'panorama-depth';
    tex.needsUpdate = true;
    return tex;
  }

  /**
   * Edge test with the panorama module's rule (`detectEdgeTriangles`), then the draw list: kept
   * triangles use the shared grid vertices; each edge triangle gets three vertices of its own,
   * all at its farthest vertex's depth. Drawn there it is a flat piece of background: from the
   * centre the image stays complete (no black cracks around objects), and from a moved eye
   * nothing is stretched between foreground and background. Same triangle count, one draw call.
   */
  private rebuildDrawList(): void {
    const grid = this.grid;
    const pano = this.panorama;
    if (grid === null || pano === null) return;
    const d = this.distances;
    sampleVertexDistances(grid, pano, this.mapping, d, this.poles);
    const detail = this.detail;
    const blended = detail ? this.blendVertexDepths(grid, pano, detail, d) : null;
    detectEdgeTriangles(grid, d, this.tolerance, this.edgeFlags);
    let edges = 0;
    for (let t = 0; t < grid.triangleCount; t++) edges += this.edgeFlags[t];
    if (edges > this.edgeCapacity) this.allocateGeometry(grid, Math.max(edges, 2 * this.edgeCapacity));

    const geometry = this.geometry;
    const position = geometry.getAttribute('position') as BufferAttribute;
    const uv = geometry.getAttribute('uv') as BufferAttribute;
    const aDepth = geometry.getAttribute('aDepth') as BufferAttribute;
    const index = geometry.getIndex() as BufferAttribute;
    const pos = position.array as Float32Array;
    const uvs = uv.array as Float32Array;
    const over = aDepth.array as Float32Array;
    const dst = index.array as Uint32Array;
    const src = grid.indices;
    const gridUv = grid.uvs;
    const base = grid.vertexCount;
    let next = base;
    for (let t = 0; t < grid.triangleCount; t++) {
      const i = t * 3;
      if (this.edgeFlags[t] === 0) {
        dst[i] = src[i];
        dst[i + 1] = src[i + 1];
        dst[i + 2] = src[i + 2];
        continue;
      }
      const a = src[i];
      const b = src[i + 1];
      const c = src[i + 2];
      const far = d[a] >= d[b] ? (d[a] >= d[c] ? a : c) : d[b] >= d[c] ? b : c;
      // The depth the farthest vertex gets, by the same rule as the shader (texel, pole blend).
      const farV = gridUv[far * 2 + 1];
      const farDepth =
        blended !== null && blended.has(far)
          ? blended.get(far)!
          : poleBlendedDepth(clampUnit(pano.depth[depthTexelIndex(gridUv[far * 2], farV, pano.width, pano.height)]), farV, this.poles);
      for (let k = 0; k < 3; k++) {
        const v = src[i + k];
        pos[next * 3] = grid.positions[v * 3];
        pos[next * 3 + 1] = grid.positions[v * 3 + 1];
        pos[next * 3 + 2] = grid.positions[v * 3 + 2];
        uvs[next * 2] = gridUv[v * 2];
        uvs[next * 2 + 1] = gridUv[v * 2 + 1];
        over[next] = farDepth;
        dst[i + k] = next++;
      }
    }
    this.edgeCount = edges;
    const used = next - base;
    for (const [attr, size] of [[position, 3], [uv, 2], [aDepth, 1]] as const) {
      attr.clearUpdateRanges();
      if (used > 0) {
        attr.addUpdateRange(base * size, used * size);
        attr.needsUpdate = true;
      }
    }
    // Cells a refined tile replaces: degenerate triangles (culled before rasterisation), so the
    // two meshes never overlap; the tiles' stitched borders meet the remaining cells exactly.
    const tiling = this.patches.tiling;
    if (tiling !== null && tiling.segmentsX === grid.segmentsX && tiling.segmentsY === grid.segmentsY) {
      for (const { ti, tj } of this.patches.refinedTiles()) {
        for (const [first, count] of baseTrianglesOfTile(tiling, ti, tj)) dst.fill(0, first * 3, (first + count) * 3);
      }
    }
    index.clearUpdateRanges();
    index.needsUpdate = true;
    this.edgeRatio = this.mapping.far / this.mapping.near;
  }

  /**
   * Where the detail layer has weight, the vertex shader displaces by mix(base, detail, alpha),
   * each fetched at its own resolution by the same texel rule; this mirrors it on the CPU so the
   * edge test sees what is drawn. Overwrites those vertices' distances in `out` and returns their
   * blended inverse depths (pole blend included, as the shader applies it after the detail mix).
   */
  private blendVertexDepths(grid: SphereMesh, pano: RGBDPanorama, layer: DetailLayer, out: Float32Array): Map<number, number> {
    const { invFar, invRange } = inverseDepthCoefficients(this.mapping);
    const blended = new Map<number, number>();
    const uvs = grid.uvs;
    for (let n = 0; n < grid.vertexCount; n++) {
      const u = uvs[n * 2];
      const v = uvs[n * 2 + 1];
      const t = depthTexelIndex(u, v, layer.width, layer.height);
      const a = layer.rgba[t * 4 + 3] / 255;
      if (a === 0) continue;
      const base = pano.depth[depthTexelIndex(u, v, pano.width, pano.height)];
      const dd = poleBlendedDepth(clampUnit(base * (1 - a) + layer.depth[t] * a), v, this.poles);
      blended.set(n, dd);
      out[n] = 1 / (invFar + invRange * dd);
    }
    return blended;
  }

}

function makeDetailTexture(data: Uint8Array | Float32Array, width: number, height: number, kind: 'colour' | 'depth'): DataTexture {
  const tex =
    kind === 'colour' ? new DataTexture(data, width, height, RGBAFormat, UnsignedByteType) : new DataTexture(data, width, height, RedFormat, FloatType);
  // Colour is premultiplied sRGB bytes: the shader un-premultiplies before decoding, so no
  // hardware sRGB decode (it would decode the premultiplied value). Linear, no mipmaps: a 4096
  // mip chain regenerated after every sharpen would cost more than the aliasing it saves.
  tex.minFilter = kind === 'colour' ? LinearFilter : NearestFilter;
  tex.magFilter = kind === 'colour' ? LinearFilter : NearestFilter;
  tex.generateMipmaps = false;
  tex.wrapS = kind === 'colour' ? RepeatWrapping : ClampToEdgeWrapping;
  tex.wrapT = ClampToEdgeWrapping;
  tex.flipY = false;
  tex.unpackAlignment = 1;
  tex.name = kind === 'colour' ? 'panorama-detail-colour' : 'panorama-detail-depth';
  tex.needsUpdate = true;
  return tex;
}
