import { describe, expect, it } from 'vitest';
import { inverseDepthCoefficients } from '../../src/panorama/depth-mapping';
import {
  DEFAULT_EDGE_TOLERANCE,
  DEFAULT_STRETCH_FACTOR,
  DEFAULT_SEGMENTS_X,
  DEFAULT_SEGMENTS_Y,
  MAX_TRIANGLES,
  buildSphereMesh,
  depthTexelIndex,
  detectEdgeTriangles,
  displacePositions,
  displaceSphereMesh,
  edgeToleranceForGrid,
  edgeVertexMask,
  isEdgeTriangle,
  keptTriangleIndices,
  measureStretch,
  POLE_BLEND_DEGREES,
  poleBlendWeight,
  poleDepths,
  sampleVertexDistances,
  segmentsForImage,
  sphereTriangleCount,
  type SphereMesh,
} from '../../src/panorama/mesh';
import type { RGBDPanorama } from '../../src/panorama/types';
import { spikyPolePanorama } from './pole-fixture';

/** A deterministic depth map with structure everywhere, including the seam and both poles. */
function noisyDepth(width: number, height: number): RGBDPanorama {
  const depth = new Float32Array(width * height);
  let s = 12345;
  for (let i = 0; i < depth.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    depth[i] = (s >>> 8) / 16777216;
  }
  return { width, height, depth, rgba: new Uint8ClampedArray(width * height * 4) };
}

const mapping = { near: 1, far: 20 };

function vertex(p: Float32Array, n: number): [number, number, number] {
  return [p[n * 3], p[n * 3 + 1], p[n * 3 + 2]];
}

/** Twice the signed area vector of triangle t. */
function crossOf(p: Float32Array, idx: Uint32Array, t: number): [number, number, number] {
  const [ax, ay, az] = vertex(p, idx[t * 3]);
  const [bx, by, bz] = vertex(p, idx[t * 3 + 1]);
  const [cx, cy, cz] = vertex(p, idx[t * 3 + 2]);
  const ux = bx - ax;
  const uy = by - ay;
  const uz = bz - az;
  const vx = cx - ax;
  const vy = cy - ay;
  const vz = cz - az;
  return [uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx];
}

/** Column-0 and column-sx vertex indices of every ring. */
function seamPairs(mesh: SphereMesh): [number, number][] {
  const pairs: [number, number][] = [];
  for (let n = 0; n < mesh.vertexCount; n++) {
    if (mesh.uvs[n * 2] === 0) {
      const v = mesh.uvs[n * 2 + 1];
      const m = n + mesh.segmentsX;
      expect(mesh.uvs[m * 2]).toBe(1);
      expect(mesh.uvs[m * 2 + 1]).toBe(v);
      pairs.push([n, m]);
    }
  }
  return pairs;
}

function poleVertices(mesh: SphereMesh, v: 0 | 1): number[] {
  const out: number[] = [];
  for (let n = 0; n < mesh.vertexCount; n++) if (mesh.uvs[n * 2 + 1] === v) out.push(n);
  return out;
}

describe('sphere grid topology', () => {
  it('default density: 512 × 256 cells, 261,120 triangles, within the 600 k budget', () => {
    const mesh = buildSphereMesh();
    expect([mesh.segmentsX, mesh.segmentsY]).toEqual([DEFAULT_SEGMENTS_X, DEFAULT_SEGMENTS_Y]);
    expect(mesh.triangleCount).toBe(261_120);
    expect(mesh.vertexCount).toBe(131_839);
    expect(mesh.triangleCount).toBeLessThanOrEqual(MAX_TRIANGLES);
    expect(mesh.indices.length).toBe(mesh.triangleCount * 3);
    expect(mesh.positions.length).toBe(mesh.vertexCount * 3);
    expect(mesh.uvs.length).toBe(mesh.vertexCount * 2);
  });

  it('density follows the image and stays within budget for 4× the pixels', () => {
    expect(segmentsForImage(1024, 512)).toEqual({ segmentsX: 512, segmentsY: 256 });
    const sr = segmentsForImage(2048, 1024);
    expect(sr).toEqual({ segmentsX: 768, segmentsY: 384 });
    expect(sphereTriangleCount(sr.segmentsX, sr.segmentsY)).toBeLessThanOrEqual(MAX_TRIANGLES);
    expect(segmentsForImage(4096, 2048)).toEqual(sr);
    expect(segmentsForImage(64, 32)).toEqual({ segmentsX: 32, segmentsY: 16 });
    expect(segmentsForImage(4, 2).segmentsY).toBeGreaterThanOrEqual(2);
  });

  it('rejects silly sizes with a message', () => {
    expect(() => buildSphereMesh(2, 8)).toThrow(/at least 3 × 2/);
    expect(() => buildSphereMesh(8.5, 8)).toThrow(RangeError);
    expect(() => buildSphereMesh(4096, 2048)).toThrow(/budget/);
  });

  const mesh = buildSphereMesh(48, 24);

  it('uses every vertex, indexes only existing ones, and never repeats a triangle', () => {
    const used = new Uint8Array(mesh.vertexCount);
    const seen = new Set<string>();
    for (let t = 0; t < mesh.triangleCount; t++) {
      const tri = Array.from(mesh.indices.subarray(t * 3, t * 3 + 3));
      for (const n of tri) {
        expect(n).toBeLessThan(mesh.vertexCount);
        used[n] = 1;
      }
      expect(new Set(tri).size).toBe(3);
      const key = [...tri].sort((a, b) => a - b).join(',');
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    expect(used.every((u) => u === 1)).toBe(true);
  });

  it('tiles the sphere exactly once: solid angles sum to 4π, all facing the centre, none zero-area', () => {
    const p = mesh.positions;
    let total = 0;
    for (let t = 0; t < mesh.triangleCount; t++) {
      const a = vertex(p, mesh.indices[t * 3]);
      const b = vertex(p, mesh.indices[t * 3 + 1]);
      const c = vertex(p, mesh.indices[t * 3 + 2]);
      // Van Oosterom–Strackee: signed solid angle of (a, b, c) seen from the origin.
      const triple =
        a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
      const dot = (u: number[], w: number[]): number => u[0] * w[0] + u[1] * w[1] + u[2] * w[2];
      const omega = 2 * Math.atan2(triple, 1 + dot(a, b) + dot(b, c) + dot(c, a));
      // Counter-clockwise seen from the centre ⇔ negative (clockwise seen from outside).
      expect(omega).toBeLessThan(0);
      total += omega;
      const n = crossOf(p, mesh.indices, t);
      expect(Math.hypot(...n)).toBeGreaterThan(1e-6);
    }
    expect(total).toBeCloseTo(-4 * Math.PI, 5);
  });

  it('corners 3-colour every triangle (the exact GPU edge test relies on it)', () => {
    for (let t = 0; t < mesh.triangleCount; t++) {
      const c = new Set([0, 1, 2].map((k) => mesh.corners[mesh.indices[t * 3 + k]]));
      expect(c).toEqual(new Set([0, 1, 2]));
    }
  });

  it('seam columns have u = 0 and u = 1 and bit-identical positions', () => {
    const pairs = seamPairs(mesh);
    expect(pairs.length).toBe(mesh.segmentsY - 1);
    for (const [a, b] of pairs) expect(vertex(mesh.positions, b)).toEqual(vertex(mesh.positions, a));
  });

  it('each pole is one point, with one vertex per fan triangle and u at the cell centres', () => {
    for (const v of [0, 1] as const) {
      const pole = poleVertices(mesh, v);
      expect(pole.length).toBe(mesh.segmentsX);
      for (const n of pole) expect(vertex(mesh.positions, n)).toEqual([0, v === 0 ? 1 : -1, 0]);
      pole.forEach((n, k) => expect(mesh.uvs[n * 2] * mesh.segmentsX).toBeCloseTo(k + 0.5, 5));
    }
  });
});

describe('depth sampling and displacement', () => {
  const mesh = buildSphereMesh(64, 32);
  const pano = noisyDepth(128, 64);

  it('samples nearest texels: the seam reads one texel, each pole reads one texel', () => {
    expect(depthTexelIndex(0, 0.5, 128, 64)).toBe(depthTexelIndex(1, 0.5, 128, 64));
    expect(depthTexelIndex(0.5, 0.5, 128, 64)).toBe(32 * 128 + 64);
    const north = new Set(poleVertices(mesh, 0).map((n) => depthTexelIndex(mesh.uvs[n * 2], 0, 128, 64)));
    expect(north).toEqual(new Set([64]));
    const south = new Set(poleVertices(mesh, 1).map((n) => depthTexelIndex(mesh.uvs[n * 2], 1, 128, 64)));
    expect(south).toEqual(new Set([63 * 128 + 64]));
    // Ring vertices sit on texel corners when the grid divides the image: they read the texel
    // right of / below the corner, exactly (the float32 products are exact here).
    for (let n = 0; n < mesh.vertexCount; n++) {
      const u = mesh.uvs[n * 2];
      const v = mesh.uvs[n * 2 + 1];
      if (v === 0 || v === 1) continue;
      const x = Math.round(u * 64) * 2 % 128;
      const y = Math.round(v * 32) * 2;
      expect(depthTexelIndex(u, v, 128, 64)).toBe(y * 128 + x);
    }
  });

  it('distances follow the mapping at the sampled texel (the formula the shader uses)', () => {
    const distances = sampleVertexDistances(mesh, pano, mapping);
    const { invFar, invRange } = inverseDepthCoefficients(mapping);
    let checked = 0;
    for (let n = 0; n < mesh.vertexCount; n += 7) {
      // Outside the pole blend band (tested on its own below) the texel is used as it is.
      if (poleBlendWeight(mesh.uvs[n * 2 + 1]) > 0) continue;
      const d = pano.depth[depthTexelIndex(mesh.uvs[n * 2], mesh.uvs[n * 2 + 1], 128, 64)];
      expect(distances[n]).toBe(Math.fround(1 / (invFar + invRange * d)));
      checked++;
    }
    expect(checked).toBeGreaterThan(mesh.vertexCount / 8);
  });

  it('after displacement the seam is bit-identical and the poles still one point each', () => {
    const { positions, distances } = displaceSphereMesh(mesh, pano, mapping);
    for (const [a, b] of seamPairs(mesh)) expect(vertex(positions, b)).toEqual(vertex(positions, a));
    for (const v of [0, 1] as const) {
      const pole = poleVertices(mesh, v);
      const first = vertex(positions, pole[0]);
      for (const n of pole) expect(vertex(positions, n)).toEqual(first);
    }
    // Every vertex sits along its own direction at its distance.
    for (let n = 0; n < mesh.vertexCount; n++) {
      expect(Math.hypot(...vertex(positions, n))).toBeCloseTo(distances[n], 4);
    }
  });

  it('the displaced surface is watertight: every edge, by position, is shared by two opposite triangles', () => {
    const { positions } = displaceSphereMesh(mesh, pano, mapping);
    const key = (n: number): string => vertex(positions, n).join(',');
    const edges = new Map<string, number>();
    for (let t = 0; t < mesh.triangleCount; t++) {
      for (let k = 0; k < 3; k++) {
        const a = key(mesh.indices[t * 3 + k]);
        const b = key(mesh.indices[t * 3 + ((k + 1) % 3)]);
        edges.set(`${a}>${b}`, (edges.get(`${a}>${b}`) ?? 0) + 1);
      }
    }
    // Counted, then asserted once: an expect() per edge would dominate the test's run time.
    let unpaired = 0;
    for (const [edge, count] of edges) {
      const [a, b] = edge.split('>');
      if (count !== 1 || edges.get(`${b}>${a}`) !== 1) unpaired++;
    }
    expect(edges.size).toBe(mesh.triangleCount * 3);
    expect(unpaired).toBe(0);
    // And no triangle collapsed: the pole fans keep their area after displacement.
    let collapsed = 0;
    for (let t = 0; t < mesh.triangleCount; t++) if (!(Math.hypot(...crossOf(positions, mesh.indices, t)) > 1e-8)) collapsed++;
    expect(collapsed).toBe(0);
  });

  it('rejects mismatched inputs', () => {
    expect(() => sampleVertexDistances(mesh, { width: 10, height: 5, depth: new Float32Array(49) }, mapping)).toThrow(
      /49 values do not fill 10 × 5/,
    );
    expect(() => displacePositions(mesh, new Float32Array(3))).toThrow(/3 distances/);
    expect(() => sampleVertexDistances(mesh, pano, { near: 3, far: 1 })).toThrow(/greater than near/);
  });
});

describe('edge rule', () => {
  it('flags a triangle when max/min distance exceeds 1 + τ', () => {
    expect(isEdgeTriangle(2, 2.1, 2.2, 0.15)).toBe(false);
    expect(isEdgeTriangle(2, 2.1, 2.31, 0.15)).toBe(true);
    expect(isEdgeTriangle(4, 1, 4)).toBe(true);
    expect(isEdgeTriangle(3, 3, 3, 0)).toBe(false);
  });

  it('τ scales with the grid and is ≈ 0.15 for the default one', () => {
    expect(DEFAULT_EDGE_TOLERANCE).toBeGreaterThan(0.1);
    expect(DEFAULT_EDGE_TOLERANCE).toBeLessThan(0.2);
    expect(edgeToleranceForGrid(128)).toBeCloseTo(2 * DEFAULT_EDGE_TOLERANCE, 12);
  });

  it('detectEdgeTriangles applies the rule per triangle; masks and compaction agree', () => {
    const mesh = buildSphereMesh(32, 16);
    const distances = sampleVertexDistances(mesh, noisyDepth(64, 32), mapping);
    const tau = edgeToleranceForGrid(16);
    const mask = detectEdgeTriangles(mesh, distances);
    expect(Array.from(detectEdgeTriangles(mesh.indices, distances, tau))).toEqual(Array.from(mask));
    let flagged = 0;
    for (let t = 0; t < mesh.triangleCount; t++) {
      const [a, b, c] = mesh.indices.subarray(t * 3, t * 3 + 3);
      expect(mask[t]).toBe(isEdgeTriangle(distances[a], distances[b], distances[c], tau) ? 1 : 0);
      flagged += mask[t];
    }
    // Random depth: plenty of both kinds, so the checks above mean something.
    expect(flagged).toBeGreaterThan(10);
    expect(flagged).toBeLessThan(mesh.triangleCount);
    const kept = keptTriangleIndices(mesh.indices, mask);
    expect(kept.length).toBe((mesh.triangleCount - flagged) * 3);
    const vmask = edgeVertexMask(mesh.indices, mask, mesh.vertexCount);
    for (let t = 0; t < mesh.triangleCount; t++) {
      if (mask[t]) for (let k = 0; k < 3; k++) expect(vmask[mesh.indices[t * 3 + k]]).toBe(1);
    }
    for (let i = 0; i < kept.length; i += 3) {
      expect(isEdgeTriangle(distances[kept[i]], distances[kept[i + 1]], distances[kept[i + 2]], tau)).toBe(false);
    }
    expect(() => detectEdgeTriangles(mesh, distances, -1)).toThrow(/≥ 0/);
  });
});

/** Distances without the pole blend: the texel through the mapping (what the mesh did before). */
function rawDistances(mesh: SphereMesh, pano: RGBDPanorama): Float32Array {
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  const out = new Float32Array(mesh.vertexCount);
  for (let n = 0; n < mesh.vertexCount; n++) {
    const d = pano.depth[depthTexelIndex(mesh.uvs[n * 2], mesh.uvs[n * 2 + 1], pano.width, pano.height)];
    out[n] = 1 / (invFar + invRange * d);
  }
  return out;
}

/** Vertex indices of each ring of latitude, pole rows included (ring 0 = north pole). */
function rings(mesh: SphereMesh): number[][] {
  const byV = new Map<number, number[]>();
  for (let n = 0; n < mesh.vertexCount; n++) {
    const v = mesh.uvs[n * 2 + 1];
    byV.set(v, [...(byV.get(v) ?? []), n]);
  }
  return [...byV.keys()].sort((a, b) => a - b).map((v) => byV.get(v)!);
}

function spread(values: Float32Array, ring: number[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const n of ring) {
    lo = Math.min(lo, values[n]);
    hi = Math.max(hi, values[n]);
  }
  return hi - lo;
}

describe('poles converge to one distance (issue 12)', () => {
  // 512 × 256 → a 256 × 128 grid: 1.4° rings, so four rings lie inside the 6° band at each pole.
  const pano = spikyPolePanorama(512, 256);
  const mesh = buildSphereMesh(256, 128);
  const blended = sampleVertexDistances(mesh, pano, mapping);
  const raw = rawDistances(mesh, pano);
  const all = rings(mesh);
  const { invFar, invRange } = inverseDepthCoefficients(mapping);

  it('the band is POLE_BLEND_DEGREES wide, weight 1 at the pole and 0 from its edge on', () => {
    expect(POLE_BLEND_DEGREES).toBe(6);
    expect(poleBlendWeight(0)).toBe(1);
    expect(poleBlendWeight(1)).toBe(1);
    expect(poleBlendWeight(6 / 180)).toBe(0);
    expect(poleBlendWeight(0.5)).toBe(0);
    expect(poleBlendWeight(3 / 180)).toBeCloseTo(0.5, 6);
    // Monotonic toward the pole.
    for (let k = 1; k < 60; k++) expect(poleBlendWeight(k / 1800)).toBeLessThan(poleBlendWeight((k - 1) / 1800));
  });

  it('the pole depth is the median of its image row, not the pole texel', () => {
    const poles = poleDepths(pano);
    const top = Array.from(pano.depth.subarray(0, 512)).sort((a, b) => a - b);
    expect(poles.north).toBe(top[255]);
    expect(poles.north).toBeCloseTo(0.5, 2);
    expect(poles.south).toBeCloseTo(0.5, 2);
    // One broken pixel (NaN, or far out of range) cannot drag the pole anywhere.
    const broken = { ...pano, depth: Float32Array.from(pano.depth) };
    broken.depth[7] = NaN;
    broken.depth[8] = 1e9;
    expect(Math.abs(poleDepths(broken).north - poles.north)).toBeLessThan(0.01);
  });

  it('the top and bottom rings of vertices sit at one distance: the pole rows’ median', () => {
    const poles = poleDepths(pano);
    for (const [ring, pole] of [[all[0], poles.north], [all[all.length - 1], poles.south]] as const) {
      expect(ring.length).toBe(mesh.segmentsX);
      expect(new Set(ring.map((n) => blended[n])).size).toBe(1);
      expect(blended[ring[0]]).toBe(Math.fround(1 / (invFar + invRange * pole)));
      // Before, the pole read one texel: one distance too, but not the median's.
      expect(Math.abs(raw[ring[0]] - blended[ring[0]])).toBeGreaterThan(0.1);
    }
  });

  it('no crown of spikes: the rings near each pole close in on the pole distance', () => {
    for (const j of [1, 2, 3, 4]) {
      for (const ring of [all[j], all[all.length - 1 - j]]) {
        const v = mesh.uvs[ring[0] * 2 + 1];
        const w = poleBlendWeight(v);
        expect(w).toBeGreaterThan(0);
        // The blend shrinks every ring's spread of inverse depth by (1 − w); distances follow.
        const before = spread(raw, ring);
        expect(before).toBeGreaterThan(1);
        expect(spread(blended, ring)).toBeLessThan(before * (1 - w) * 1.5 + 1e-6);
      }
    }
    // Ring 1 (1.4° from the pole): its scatter shrinks about tenfold.
    expect(spread(blended, all[1])).toBeLessThan(spread(raw, all[1]) / 8);
    // The pole fans are no longer sheets from the pole point out to scattered ring vertices.
    const { positions } = displaceSphereMesh(mesh, pano, mapping);
    const rawPositions = displacePositions(mesh, raw);
    const fans = new Uint8Array(mesh.triangleCount).fill(1);
    fans.fill(0, 0, mesh.segmentsX);
    fans.fill(0, mesh.triangleCount - mesh.segmentsX);
    const before = measureStretch(mesh, rawPositions, raw, fans).maxStretch;
    const after = measureStretch(mesh, positions, blended, fans).maxStretch;
    // Measured: 352 → 5.3; "stretched" is > DEFAULT_STRETCH_FACTOR (10).
    expect(before).toBeGreaterThan(100);
    expect(after).toBeLessThan(DEFAULT_STRETCH_FACTOR);
  });

  it('rows outside the band are unchanged, bit for bit', () => {
    let outside = 0;
    for (let n = 0; n < mesh.vertexCount; n++) {
      if (poleBlendWeight(mesh.uvs[n * 2 + 1]) > 0) continue;
      expect(blended[n]).toBe(raw[n]);
      outside++;
    }
    // Four rings at each pole (and the poles) are blended; the other 119 rings are not.
    expect(outside).toBe((mesh.segmentsY - 1 - 8) * (mesh.segmentsX + 1));
  });

  it('the seam and the poles stay closed after the blend', () => {
    const { positions } = displaceSphereMesh(mesh, pano, mapping);
    for (const [a, b] of seamPairs(mesh)) expect(vertex(positions, b)).toEqual(vertex(positions, a));
    for (const ring of [all[0], all[all.length - 1]]) {
      for (const n of ring) expect(vertex(positions, n)).toEqual(vertex(positions, ring[0]));
    }
  });
});

describe('the 360° seam is like any other meridian (issue 12)', () => {
  const sx = 64;
  const sy = 32;
  const mesh = buildSphereMesh(sx, sy);
  const pano = noisyDepth(128, 64);

  /** The depth map turned k grid columns (2k pixels) to the right: content at x goes to x + 2k. */
  function rolled(k: number): RGBDPanorama {
    const { width, height, depth } = pano;
    const out = new Float32Array(depth.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) out[y * width + ((x + 2 * k) % width)] = depth[y * width + x];
    }
    return { ...pano, depth: out };
  }

  /** Triangle index of column i's triangle number `which` in band j (0 = north fan, sy−1 = south fan). */
  function triangle(i: number, j: number, which: 0 | 1): number {
    if (j === 0) return i;
    if (j === sy - 1) return sx + 2 * sx * (sy - 2) + i;
    return sx + 2 * ((j - 1) * sx + i) + which;
  }

  it('turning the panorama turns the displaced mesh and its edge flags with it, seam cells included', () => {
    const base = sampleVertexDistances(mesh, pano, mapping);
    const flags = detectEdgeTriangles(mesh, base);
    // Enough edges for the comparison to mean something, and some of them on the seam's cells.
    expect(flags.reduce((a, b) => a + b, 0)).toBeGreaterThan(mesh.triangleCount / 10);
    let seamEdges = 0;
    for (let j = 0; j < sy; j++) for (const w of [0, 1] as const) seamEdges += flags[triangle(sx - 1, j, w)];
    expect(seamEdges).toBeGreaterThan(0);
    for (const k of [1, 17, 32, 63]) {
      const turned = sampleVertexDistances(mesh, rolled(k), mapping);
      const turnedFlags = detectEdgeTriangles(mesh, turned);
      let differ = 0;
      for (let j = 0; j < sy; j++) {
        for (let i = 0; i < sx; i++) {
          for (const w of [0, 1] as const) {
            if ((j === 0 || j === sy - 1) && w === 1) continue;
            if (turnedFlags[triangle((i + k) % sx, j, w)] !== flags[triangle(i, j, w)]) differ++;
          }
        }
      }
      // The cells on either side of the seam (column sx − 1, whose right edge is the u = 1 copy of
      // column 0) get exactly the flags of the cells they become when turned: the seam is not special.
      expect(differ).toBe(0);
    }
  });

  it('a depth step exactly at the seam is cut by the edge rule there, and nowhere else', () => {
    // Near on the right of straight behind (x < 64: u ∈ [0, ½)), far on the left: steps at u = 0
    // (the seam) and u = ½ (straight ahead).
    const depth = new Float32Array(128 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) depth[y * 128 + x] = x < 64 ? 0.9 : 0.1;
    const step = { width: 128, height: 64, depth, rgba: new Uint8ClampedArray(128 * 64 * 4) };
    const flags = detectEdgeTriangles(mesh, sampleVertexDistances(mesh, step, mapping));
    for (let j = 1; j < sy - 1; j++) {
      for (let i = 0; i < sx; i++) {
        // Column sx − 1's cells join texel column 126 (far) to the seam's texel column 0 (near);
        // column 31's join texel 62 (near) to 64 (far). Inside the band of the pole blend every
        // ring is pulled toward one distance, so only check away from it.
        const v = mesh.uvs[(sx + (j - 1) * (sx + 1)) * 2 + 1];
        if (poleBlendWeight(v) > 0 || poleBlendWeight(v + 1 / sy) > 0) continue;
        const expected = i === sx - 1 || i === 31 ? 1 : 0;
        expect([i, j, flags[triangle(i, j, 0)], flags[triangle(i, j, 1)]]).toEqual([i, j, expected, expected]);
      }
    }
  });
});
