/**
 * The depth-displaced sphere as plain typed arrays, plus the rules the GPU must mirror:
 * which depth texel a vertex reads (`depthTexelIndex`), how it becomes metres
 * (depth-mapping.ts), and which triangles are depth edges that must not be drawn (`isEdgeTriangle`).
 *
 * Design notes: docs/conventions.md ("The sphere mesh").
 */
import { clampUnit, inverseDepthCoefficients } from './depth-mapping';
import { uvToDirection, type Vec3 } from './equirect';
import type { DepthMapping } from './types';

/**
 * Default density: 512 × 256 cells = 261,120 triangles, 131,839 vertices.
 * Why: LDM3D-pano outputs 1024 × 512, so this is one vertex per 2 × 2 pixels (0.70° per cell;
 * 2.5 cm at 2 m): finer than the depth detail the diffusion model actually resolves, and edges
 * land within one pixel of where they are. It leaves headroom under the 600 k budget for
 * standalone headsets rendering both eyes at 72–90 Hz; `segmentsForImage` gives up to 768 × 384
 * (588,288 triangles) for 4× more pixels (LDM3D-SR output). Indices are Uint32, so no 65,535
 * vertex limit stands in the way of denser grids.
 */
export const DEFAULT_SEGMENTS_X = 512;
export const DEFAULT_SEGMENTS_Y = 256;
/** Triangle budget for `segmentsForImage`. */
export const MAX_TRIANGLES = 600_000;

export interface SphereMesh {
  readonly segmentsX: number;
  readonly segmentsY: number;
  readonly vertexCount: number;
  readonly triangleCount: number;
  /** Unit directions, xyz per vertex: the undisplaced positions of a sphere of radius 1 m. */
  readonly positions: Float32Array;
  /** Texture coordinates, uv per vertex (v = 0 at the top row, i.e. NOT flipped for WebGL). */
  readonly uvs: Float32Array;
  /** Triangle list, 3 per triangle, counter-clockwise seen from the centre. */
  readonly indices: Uint32Array;
  /**
   * A 3-colouring of the vertices (0, 1 or 2; the three vertices of every triangle differ). Lets a
   * shader give each fragment all three vertex distances of its triangle (see `isEdgeTriangle`).
   */
  readonly corners: Uint8Array;
}

export function sphereTriangleCount(segmentsX: number, segmentsY: number): number {
  return 2 * segmentsX * (segmentsY - 1);
}

export function sphereVertexCount(segmentsX: number, segmentsY: number): number {
  return 2 * segmentsX + (segmentsY - 1) * (segmentsX + 1);
}

/** Index of ring vertex (column i ∈ [0, sx], ring j ∈ [1, sy−1]). */
function ringIndex(sx: number, i: number, j: number): number {
  return sx + (j - 1) * (sx + 1) + i;
}

/**
 * Builds the latitude/longitude grid (see the file comment for the layout). Throws a RangeError
 * for fewer than 3 × 2 cells or more than `MAX_TRIANGLES`·4 triangles (a typo guard).
 */
export function buildSphereMesh(
  segmentsX: number = DEFAULT_SEGMENTS_X,
  segmentsY: number = DEFAULT_SEGMENTS_Y,
): SphereMesh {
  if (!Number.isInteger(segmentsX) || !Number.isInteger(segmentsY) || segmentsX < 3 || segmentsY < 2) {
    throw new RangeError(`Sphere mesh: need integer segments, at least 3 × 2 (got ${segmentsX} × ${segmentsY}).`);
  }
  const sx = segmentsX;
  const sy = segmentsY;
  const triangleCount = sphereTriangleCount(sx, sy);
  if (triangleCount > 4 * MAX_TRIANGLES) {
    throw new RangeError(`Sphere mesh: ${sx} × ${sy} cells is ${triangleCount} triangles, far above the ${MAX_TRIANGLES} budget.`);
  }
  const vertexCount = sphereVertexCount(sx, sy);
  const positions = new Float32Array(vertexCount * 3);
  const uvs = new Float32Array(vertexCount * 2);
  const corners = new Uint8Array(vertexCount);
  const southStart = ringIndex(sx, 0, sy);

  for (let k = 0; k < sx; k++) {
    const u = (k + 0.5) / sx;
    // North pole.
    positions[k * 3 + 1] = 1;
    uvs[k * 2] = u;
    uvs[k * 2 + 1] = 0;
    corners[k] = k % 3;
    // South pole.
    const s = southStart + k;
    positions[s * 3 + 1] = -1;
    uvs[s * 2] = u;
    uvs[s * 2 + 1] = 1;
    corners[s] = (k + sy + 1) % 3;
  }

  const dir: Vec3 = { x: 0, y: 0, z: 0 };
  for (let j = 1; j < sy; j++) {
    const v = j / sy;
    const first = ringIndex(sx, 0, j);
    for (let i = 0; i <= sx; i++) {
      const n = first + i;
      if (i < sx) {
        uvToDirection(i / sx, v, dir);
        positions[n * 3] = dir.x;
        positions[n * 3 + 1] = dir.y;
        positions[n * 3 + 2] = dir.z;
      } else {
        // Copy, don't recompute: sin(π) ≠ −sin(−π) in floating point, and the seam must be exact.
        positions[n * 3] = positions[first * 3];
        positions[n * 3 + 1] = positions[first * 3 + 1];
        positions[n * 3 + 2] = positions[first * 3 + 2];
      }
      uvs[n * 2] = i / sx;
      uvs[n * 2 + 1] = v;
      // (i + j) mod 3 differs across every edge direction used: (1,0), (0,1), (1,1).
      corners[n] = (i + j) % 3;
    }
  }

  const indices = new Uint32Array(triangleCount * 3);
  let t = 0;
  // North fan: (pole, ring1[k], ring1[k+1]).
  for (let k = 0; k < sx; k++) {
    indices[t++] = k;
    indices[t++] = ringIndex(sx, k, 1);
    indices[t++] = ringIndex(sx, k + 1, 1);
  }
  // Quads a (top-left), b (bottom-left), c (top-right), d (bottom-right) → (a, b, d), (a, d, c).
  for (let j = 1; j < sy - 1; j++) {
    for (let i = 0; i < sx; i++) {
      const a = ringIndex(sx, i, j);
      const c = a + 1;
      const b = ringIndex(sx, i, j + 1);
      const d = b + 1;
      indices[t++] = a;
      indices[t++] = b;
      indices[t++] = d;
      indices[t++] = a;
      indices[t++] = d;
      indices[t++] = c;
    }
  }
  // South fan: (ring[k], pole, ring[k+1]).
  for (let k = 0; k < sx; k++) {
    indices[t++] = ringIndex(sx, k, sy - 1);
    indices[t++] = southStart + k;
    indices[t++] = ringIndex(sx, k + 1, sy - 1);
  }

  return { segmentsX: sx, segmentsY: sy, vertexCount, triangleCount, positions, uvs, indices, corners };
}

/**
 * Grid density for a depth map of width × height: one vertex per 2 × 2 pixels, 2:1 cells, rows a
 * multiple of 4 (so u = ¼, ½, ¾ and v = ½ are vertex lines), capped by the triangle budget.
 * 1024 × 512 → 512 × 256 (261,120 triangles); 2048 × 1024 and up → 768 × 384 (588,288).
 */
export function segmentsForImage(
  width: number,
  height: number,
  maxTriangles: number = MAX_TRIANGLES,
): { segmentsX: number; segmentsY: number } {
  // 2·(2·sy)·(sy − 1) ≤ max  ⇔  sy ≤ (1 + √(1 + max)) / 2.
  const budgetRows = Math.floor((1 + Math.sqrt(1 + maxTriangles)) / 2);
  const wanted = Math.floor(Math.min(height, width / 2) / 2);
  let sy = Math.min(wanted, budgetRows);
  // Multiples of 16 for big grids (768 × 384 rather than 774 × 387), of 4 for small ones.
  sy = sy >= 64 ? sy - (sy % 16) : sy - (sy % 4);
  sy = Math.max(sy, 4);
  return { segmentsX: 2 * sy, segmentsY: sy };
}

// ---------------------------------------------------------------------------------------------
// Depth sampling: the rule the shader mirrors.

/** A depth map; an RGBDPanorama is one. */
export interface DepthMapView {
  readonly width: number;
  readonly height: number;
  /** Relative inverse depth in [0, 1], row-major from the top-left, length width·height. */
  readonly depth: Float32Array;
}

/**
 * Index (y·width + x) of the depth texel a vertex with texture coordinates (u, v) reads: NEAREST,
 * never blended, so a vertex on a depth edge takes one side's depth instead of a made-up middle.
 *
 * The rule, in the float32 arithmetic a GPU uses (u and v are the float32 attribute values):
 *   poles (v ≤ 0 or v ≥ 1): u := 0.5, so every pole vertex reads the same texel;
 *   x = floor(fract(u) · width)   (fract(1) = 0: the seam's two columns read the same texel)
 *   y = floor(v · height), both clamped into the image.
 * A vertex at u = i/sx lies on a texel boundary when sx divides the width; the float32 products
 * decide which side, identically on CPU and GPU. GLSL (WebGL2, R32F texture, NEAREST):
 *
 *   ivec2 depthTexel(vec2 uv, ivec2 size) {
 *     float u = (uv.y <= 0.0 || uv.y >= 1.0) ? 0.5 : fract(uv.x);
 *     return clamp(ivec2(floor(vec2(u, uv.y) * vec2(size))), ivec2(0), size - 1);
 *   }
 *   float d = texelFetch(uDepth, depthTexel(uv, textureSize(uDepth, 0)), 0).r;
 *   d = poleBlend(clamp(d, 0.0, 1.0), uv.y);                      // poleBlendedDepth()
 *   float dist = 1.0 / (uInvFar + uInvRange * clamp(d, 0.0, 1.0)); // inverseDepthCoefficients()
 *   vec3 displaced = position * dist;                            // position is the unit direction
 */
export function depthTexelIndex(u: number, v: number, width: number, height: number): number {
  const vf = Math.fround(v);
  let uf = vf <= 0 || vf >= 1 ? 0.5 : Math.fround(u);
  uf -= Math.floor(uf); // fract; exact for float32 inputs.
  let x = Math.floor(Math.fround(uf * width));
  if (x > width - 1) x = width - 1;
  else if (x < 0) x = 0;
  let y = Math.floor(Math.fround(vf * height));
  if (y > height - 1) y = height - 1;
  else if (y < 0) y = 0;
  return y * width + x;
}

// ---------------------------------------------------------------------------------------------
// Poles: the mesh converges to one distance at each pole.

/**
 * Degrees of latitude, from each pole, over which vertices are blended toward the pole's distance.
 * Why 6°: the crown of spikes lives in the first few rings (0.70° each on the default grid, so 8
 * rings are blended), where cells are slivers a few centimetres wide that show no depth detail
 * anyway; 6° is ≈ 17 px of a 512-row image, wider than the rows LDM3D-pano leaves noisy at its
 * edges, and small enough that everything above a ≈ 40° upward glance (a ceiling, a tree top) keeps
 * its own depth exactly.
 */
export const POLE_BLEND_DEGREES = 6;

/** The relative inverse depth each pole converges to (the robust mean of its image row). */
export interface PoleDepths {
  /** Of the top row (v = 0). */
  readonly north: number;
  /** Of the bottom row (v = 1). */
  readonly south: number;
}

/**
 * Median of row y's clamped inverse depths (NaN → 0 like `clampUnit`). The median, not the mean:
 * a few pixels of a lamp or a tree top in the top row must not pull the whole pole toward them.
 * For an even width it is the lower middle value, an actual pixel's depth. The median of inverse
 * depths is also the median of distances (the mapping is monotonic), whatever near and far are.
 */
function rowMedian(map: DepthMapView, y: number): number {
  const row = new Float32Array(map.width);
  for (let x = 0; x < map.width; x++) row[x] = clampUnit(map.depth[y * map.width + x]);
  row.sort();
  return row[(map.width - 1) >> 1];
}

/** Each pole's target depth: the median of the top and of the bottom image row. */
export function poleDepths(map: DepthMapView): PoleDepths {
  checkDepthMap(map);
  return { north: rowMedian(map, 0), south: rowMedian(map, map.height - 1) };
}

/** POLE_BLEND_DEGREES as a fraction of v (the shader's `uPoleBand` uniform), float32. */
export const POLE_BAND_V = Math.fround(POLE_BLEND_DEGREES / 180);

/**
 * Blend weight of a vertex at texture v: smoothstep from 0 at POLE_BLEND_DEGREES from the nearer
 * pole to 1 at the pole (smooth at the band's edge, so no crease where blending starts), exactly 0
 * outside the band. In float32 as the shader computes it:
 *   float t = 1.0 - min(v, 1.0 - v) / uPoleBand;  w = t > 0.0 ? t * t * (3.0 - 2.0 * t) : 0.0;
 */
export function poleBlendWeight(v: number, band: number = POLE_BAND_V): number {
  const f = Math.fround;
  const vf = f(v);
  const t = f(1 - f(Math.min(vf, f(1 - vf)) / band));
  return t > 0 ? f(f(t * t) * f(3 - f(2 * t))) : 0;
}

/**
 * Inverse depth d (already clamped to [0, 1]) of a vertex at texture v, blended toward its pole's
 * depth: mix(d, pole, w) = d·(1 − w) + pole·w as GLSL's mix, d itself outside the band. Blending
 * inverse depth rather than metres keeps the result independent of near/far (a slider moves no
 * vertex relative to the others) and lets edge triangles carry it in `aDepth` like any depth.
 */
export function poleBlendedDepth(d: number, v: number, poles: PoleDepths): number {
  const w = poleBlendWeight(v);
  if (w === 0) return d;
  const pole = v < 0.5 ? poles.north : poles.south;
  return d * (1 - w) + pole * w;
}

function checkDepthMap(map: DepthMapView): void {
  if (!(map.width > 0 && map.height > 0) || map.depth.length !== map.width * map.height) {
    throw new RangeError(
      `Depth map: ${map.depth.length} values do not fill ${map.width} × ${map.height} pixels.`,
    );
  }
}

/**
 * Metres per vertex: the depth texel of `depthTexelIndex`, blended toward its pole's depth near
 * the poles (`poleBlendedDepth`), through the mapping. Stored as float32, which is what the GPU
 * computes (up to its division's rounding). `poles` defaults to this map's own; pass the base
 * panorama's when displacing by another map that the viewer blends over it (GLB of a sharpened
 * scene), so both converge to the same point.
 */
export function sampleVertexDistances(
  mesh: SphereMesh,
  depthMap: DepthMapView,
  mapping: DepthMapping,
  out: Float32Array = new Float32Array(mesh.vertexCount),
  poles: PoleDepths = poleDepths(depthMap),
): Float32Array {
  checkDepthMap(depthMap);
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  const { uvs, vertexCount } = mesh;
  const { width, height, depth } = depthMap;
  for (let n = 0; n < vertexCount; n++) {
    const v = uvs[n * 2 + 1];
    const d = poleBlendedDepth(clampUnit(depth[depthTexelIndex(uvs[n * 2], v, width, height)]), v, poles);
    out[n] = 1 / (invFar + invRange * d);
  }
  return out;
}

/** Displaced positions: unit direction × distance, per vertex (float32, as the GPU multiplies). */
export function displacePositions(
  mesh: SphereMesh,
  distances: Float32Array,
  out: Float32Array = new Float32Array(mesh.vertexCount * 3),
): Float32Array {
  if (distances.length !== mesh.vertexCount) {
    throw new RangeError(`Displace: ${distances.length} distances for ${mesh.vertexCount} vertices.`);
  }
  const p = mesh.positions;
  for (let n = 0, o = 0; n < mesh.vertexCount; n++, o += 3) {
    const r = distances[n];
    out[o] = p[o] * r;
    out[o + 1] = p[o + 1] * r;
    out[o + 2] = p[o + 2] * r;
  }
  return out;
}

/** Both steps at once: what the CPU path hands to a BufferGeometry (`poles`: see sampleVertexDistances). */
export function displaceSphereMesh(
  mesh: SphereMesh,
  depthMap: DepthMapView,
  mapping: DepthMapping,
  poles?: PoleDepths,
): { positions: Float32Array; distances: Float32Array } {
  const distances = sampleVertexDistances(mesh, depthMap, mapping, undefined, poles);
  return { positions: displacePositions(mesh, distances), distances };
}

// ---------------------------------------------------------------------------------------------
// Depth edges ("no rubber sheets").

/**
 * How steep a surface may be before it counts as a depth edge, in relative distance change per
 * radian of view angle. A plane seen at grazing angle θ changes distance by ≈ cot θ per radian, so
 * 12 keeps every surface seen at more than ≈ 5° (a floor 1.6 m below the eyes out to ~19 m) and
 * cuts real depth jumps (a chair in front of a wall: 30 % and more within one cell).
 */
export const DEFAULT_EDGE_SLOPE = 12;

/**
 * τ for a grid with `segmentsY` rows: slope × the cell's angular size (π / segmentsY). Scaling with
 * the cell keeps the rule's meaning when the density changes: a fixed τ would punch holes in
 * distant floors on coarse grids and keep sheets across small jumps on fine ones.
 */
export function edgeToleranceForGrid(segmentsY: number, slope: number = DEFAULT_EDGE_SLOPE): number {
  return (slope * Math.PI) / segmentsY;
}

/**
 * τ of the edge rule for the default grid: 12·π/256 ≈ 0.147. A triangle whose vertex distances
 * differ by more than ~15 % spans a depth jump. Smaller jumps stay joined, and their sheets are
 * short (≤ 15 % of the distance).
 */
export const DEFAULT_EDGE_TOLERANCE = edgeToleranceForGrid(DEFAULT_SEGMENTS_Y);

/**
 * THE edge rule: max(r) / min(r) > 1 + τ over a triangle's three vertex distances (metres, > 0),
 * written without division. The same test holds for inverse depths (1/r), so a shader may use
 * either. GLSL mirror, exact: give each vertex `corner` (SphereMesh.corners) and in the vertex
 * shader write `vCornerDist = dist · e[corner]`, `vCornerW = e[corner]` (e = unit vectors); in the
 * fragment shader the three distances are `vCornerDist / vCornerW` (both interpolate with the same
 * weights), then `if (isEdge(...)) discard;`. Simpler alternative: draw `keptTriangleIndices`.
 * Pass τ = edgeToleranceForGrid(mesh.segmentsY) as a uniform so both sides use the same value.
 */
export function isEdgeTriangle(r0: number, r1: number, r2: number, tolerance: number = DEFAULT_EDGE_TOLERANCE): boolean {
  const lo = Math.min(r0, r1, r2);
  const hi = Math.max(r0, r1, r2);
  return hi > (1 + tolerance) * lo;
}

/**
 * Per-triangle flags (1 = edge triangle, do not draw) under `isEdgeTriangle`. Given the mesh, τ
 * defaults to `edgeToleranceForGrid(mesh.segmentsY)`; given bare indices, to DEFAULT_EDGE_TOLERANCE.
 */
export function detectEdgeTriangles(
  meshOrIndices: SphereMesh | Uint32Array,
  distances: Float32Array,
  tolerance?: number,
  out?: Uint8Array,
): Uint8Array {
  const isMesh = !(meshOrIndices instanceof Uint32Array);
  const indices = isMesh ? meshOrIndices.indices : meshOrIndices;
  tolerance ??= isMesh ? edgeToleranceForGrid(meshOrIndices.segmentsY) : DEFAULT_EDGE_TOLERANCE;
  out ??= new Uint8Array(indices.length / 3);
  if (!(tolerance >= 0)) throw new RangeError(`Edge tolerance must be ≥ 0 (got ${tolerance}).`);
  const k = 1 + tolerance;
  for (let t = 0, i = 0; i < indices.length; t++, i += 3) {
    const r0 = distances[indices[i]];
    const r1 = distances[indices[i + 1]];
    const r2 = distances[indices[i + 2]];
    const lo = r0 < r1 ? (r0 < r2 ? r0 : r2) : r1 < r2 ? r1 : r2;
    const hi = r0 > r1 ? (r0 > r2 ? r0 : r2) : r1 > r2 ? r1 : r2;
    out[t] = hi > k * lo ? 1 : 0;
  }
  return out;
}

/**
 * Per-vertex flags: 1 when the vertex touches an edge triangle. Conservative (an attribute-based
 * shader discarding where the interpolated flag > 0 drops every triangle touching the edge, about
 * one cell more on each side), for shaders that cannot use the exact per-triangle rule.
 */
export function edgeVertexMask(indices: Uint32Array, triangleMask: Uint8Array, vertexCount: number): Uint8Array {
  const out = new Uint8Array(vertexCount);
  for (let t = 0; t < triangleMask.length; t++) {
    if (triangleMask[t] === 0) continue;
    out[indices[t * 3]] = 1;
    out[indices[t * 3 + 1]] = 1;
    out[indices[t * 3 + 2]] = 1;
  }
  return out;
}

/** The index list without the flagged triangles (a fresh array; order kept). */
export function keptTriangleIndices(indices: Uint32Array, triangleMask: Uint8Array): Uint32Array {
  let kept = 0;
  for (let t = 0; t < triangleMask.length; t++) if (triangleMask[t] === 0) kept++;
  const out = new Uint32Array(kept * 3);
  for (let t = 0, o = 0; t < triangleMask.length; t++) {
    if (triangleMask[t] !== 0) continue;
    out[o++] = indices[t * 3];
    out[o++] = indices[t * 3 + 1];
    out[o++] = indices[t * 3 + 2];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Measuring rubber sheets.

/**
 * "Stretched" threshold k: a triangle is stretched when its longest displaced edge exceeds k × the
 * edge length expected at its distance (min vertex distance × its longest unit-sphere edge).
 * Facing surfaces measure ≈ 1, a plane at grazing angle θ ≈ 1/sin θ (10 ⇔ θ < 5.7°), a sheet
 * across a depth jump Δr at distance r ≈ Δr / (r·0.017) with the default grid: 100+ for a chair
 * in front of a wall. A measurement, independent of the edge rule: a triangle the rule keeps can
 * still reach √((τ/δ)² + (1+τ)²) ≈ 9–12 (δ = its longest unit edge), so "none stretched after
 * removal" is checked, not guaranteed.
 */
export const DEFAULT_STRETCH_FACTOR = 10;

export interface StretchStats {
  /** Triangles measured (those not excluded by the mask). */
  readonly measured: number;
  /** How many of them are stretched (stretch > k). */
  readonly stretched: number;
  /** Largest stretch among the measured triangles. */
  readonly maxStretch: number;
}

/**
 * Stretch of triangle t = longest displaced edge / (min distance × longest unit-sphere edge).
 * `unitPositions` are the mesh's unit directions, `positions` the displaced ones.
 */
export function triangleStretch(
  unitPositions: Float32Array,
  positions: Float32Array,
  distances: Float32Array,
  indices: Uint32Array,
  t: number,
): number {
  const a = indices[t * 3];
  const b = indices[t * 3 + 1];
  const c = indices[t * 3 + 2];
  const unit = Math.max(edge2(unitPositions, a, b), edge2(unitPositions, b, c), edge2(unitPositions, c, a));
  const disp = Math.max(edge2(positions, a, b), edge2(positions, b, c), edge2(positions, c, a));
  const rMin = Math.min(distances[a], distances[b], distances[c]);
  return Math.sqrt(disp / unit) / rMin;
}

function edge2(p: Float32Array, a: number, b: number): number {
  const dx = p[a * 3] - p[b * 3];
  const dy = p[a * 3 + 1] - p[b * 3 + 1];
  const dz = p[a * 3 + 2] - p[b * 3 + 2];
  return dx * dx + dy * dy + dz * dz;
}

/**
 * Counts stretched triangles among those drawn: pass `triangleMask` (from `detectEdgeTriangles`)
 * to measure after removal, or null for the whole mesh (before).
 */
export function measureStretch(
  mesh: SphereMesh,
  positions: Float32Array,
  distances: Float32Array,
  triangleMask: Uint8Array | null = null,
  k: number = DEFAULT_STRETCH_FACTOR,
): StretchStats {
  let measured = 0;
  let stretched = 0;
  let maxStretch = 0;
  for (let t = 0; t < mesh.triangleCount; t++) {
    if (triangleMask !== null && triangleMask[t] !== 0) continue;
    measured++;
    const s = triangleStretch(mesh.positions, positions, distances, mesh.indices, t);
    if (s > k) stretched++;
    if (s > maxStretch) maxStretch = s;
  }
  return { measured, stretched, maxStretch };
}
