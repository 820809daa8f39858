// The panorama mesh as the GPU will draw it: the geometry, textures and draw list that
// PanoramaMesh hands to three, pushed through a TypeScript copy of the vertex shader
// (shaders/panorama.vert.glsl), checked against the synthetic room's ground truth.
import { readFileSync } from 'node:fs';
import {
  BufferAttribute,
  DataTexture,
  FloatType,
  FrontSide,
  NearestFilter,
  RedFormat,
  RepeatWrapping,
  SRGBColorSpace,
} from 'three';
import { describe, expect, it } from 'vitest';
import { clampUnit, inverseDepthCoefficients } from '../../src/panorama/depth-mapping';
import {
  depthTexelIndex,
  detectEdgeTriangles,
  measureStretch,
  sampleVertexDistances,
  type SphereMesh,
} from '../../src/panorama/mesh';
import { renderSyntheticPanorama } from '../../src/panorama/synthetic';
import type { DepthMapping, RGBDPanorama } from '../../src/panorama/types';
import { PanoramaMesh } from '../../src/scene/panorama-mesh';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { poleBlendWeight, poleDepths } from '../../src/panorama/mesh';
import { spikyPolePanorama } from '../panorama/pole-fixture';

const synthetic = renderSyntheticPanorama(512);

/** Float32 like the GPU (the shader's arithmetic, one operation at a time). */
const f = Math.fround;

/**
 * TypeScript copy of panorama.vert.glsl: distance of every vertex of the geometry as drawn.
 * depthTexel() is reproduced from the GLSL source line by line (see the source test below).
 */
function shaderDistances(pm: PanoramaMesh, pano: RGBDPanorama, mapping: DepthMapping): Float32Array {
  const geo = pm.mesh.geometry;
  const uv = geo.getAttribute('uv').array as Float32Array;
  const aDepth = geo.getAttribute('aDepth').array as Float32Array;
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  const out = new Float32Array(aDepth.length);
  for (let n = 0; n < aDepth.length; n++) {
    let d: number;
    if (aDepth[n] >= 0) {
      d = aDepth[n];
    } else {
      const v = uv[n * 2 + 1];
      let u = v <= 0 || v >= 1 ? 0.5 : uv[n * 2];
      u = f(u - Math.floor(u));
      const x = Math.min(pano.width - 1, Math.max(0, Math.floor(f(u * pano.width))));
      const y = Math.min(pano.height - 1, Math.max(0, Math.floor(f(v * pano.height))));
      d = clampUnit(pano.depth[y * pano.width + x]);
      // poleBlend(): weight smoothstep over the last uPoleBand of v, toward uPoleDepth.
      const band = pm.uniforms.uPoleBand.value;
      const t = f(1 - f(Math.min(v, f(1 - v)) / band));
      if (t > 0) {
        const w = f(f(t * t) * f(3 - f(2 * t)));
        const pole = v < 0.5 ? pm.uniforms.uPoleDepth.value.x : pm.uniforms.uPoleDepth.value.y;
        d = f(f(d * f(1 - w)) + f(f(pole) * w));
      }
    }
    out[n] = f(1 / f(f(invFar) + f(f(invRange) * clampUnit(d))));
  }
  return out;
}

/** The drawn triangles as a SphereMesh-shaped object, for the panorama module's measurements. */
function drawnMesh(pm: PanoramaMesh, distances: Float32Array): { mesh: SphereMesh; positions: Float32Array } {
  const geo = pm.mesh.geometry;
  const unit = geo.getAttribute('position').array as Float32Array;
  const indices = geo.getIndex()!.array as Uint32Array;
  const positions = new Float32Array(unit.length);
  for (let n = 0; n < distances.length; n++) {
    for (let k = 0; k < 3; k++) positions[n * 3 + k] = unit[n * 3 + k] * distances[n];
  }
  const grid = pm.sphere!;
  const mesh: SphereMesh = { ...grid, positions: unit, indices, vertexCount: distances.length };
  return { mesh, positions };
}

describe('PanoramaMesh', () => {
  it('mirrors the GLSL depth texel rule exactly (source check)', () => {
    const src = readFileSync(new URL('../../shaders/panorama.vert.glsl', import.meta.url), 'utf8');
    // The lines the TypeScript copy above reproduces; if the shader changes, this test must too.
    expect(src).toContain('float u = (uv.y <= 0.0 || uv.y >= 1.0) ? 0.5 : fract(uv.x);');
    expect(src).toContain('return clamp(ivec2(floor(vec2(u, uv.y) * vec2(size))), ivec2(0), size - 1);');
    expect(src).toContain('d = texelFetch(uDepth, depthTexel(uv, textureSize(uDepth, 0)), 0).r;');
    // The detail layer (Sharpen): same texel rule at its own size, blended by its alpha; the
    // mesh's blendVertexDepths mirrors these lines for the edge test.
    expect(src).toContain('ivec2 dt = depthTexel(uv, textureSize(uDetailDepth, 0));');
    expect(src).toContain('return poleBlend(clamp(mix(d, texelFetch(uDetailDepth, dt, 0).r, a), 0.0, 1.0), uv.y);');
    // The pole blend (mesh.ts poleBlendWeight / poleBlendedDepth), reproduced in shaderDistances.
    expect(src).toContain('float t = 1.0 - min(v, 1.0 - v) / uPoleBand;');
    expect(src).toContain('if (t <= 0.0) return d;');
    expect(src).toContain('float w = t * t * (3.0 - 2.0 * t);');
    expect(src).toContain('return mix(d, v < 0.5 ? uPoleDepth.x : uPoleDepth.y, w);');
    expect(src).toContain('float d = aDepth < 0.0 ? blendedDepth(uv) : aDepth;');
    expect(src).toContain('return 1.0 / (uInvFar + uInvRange * clamp(d, 0.0, 1.0));');
    expect(src).toContain('p = position * dist;');
    expect(src).toContain('gl_Position = projectionMatrix * modelViewMatrix * vec4(p, 1.0);');
  });

  it('places vertices where the panorama module does (same texel, same distance)', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const grid = pm.sphere!;
    const gpu = shaderDistances(pm, synthetic.panorama, synthetic.mapping);
    const cpu = sampleVertexDistances(grid, synthetic.panorama, synthetic.mapping);
    for (let n = 0; n < grid.vertexCount; n++) expect(Math.abs(gpu[n] - cpu[n])).toBeLessThanOrEqual(cpu[n] * 1e-6);
    pm.dispose();
  });

  // The 2 % reconstruction bound over the whole room is tested on the panorama module's CPU
  // placement (test/panorama/synthetic.test.ts); the test above shows the drawn geometry matches
  // that placement to float precision. Here: the marker, straight ahead at its true distance.
  it('blends the poles as the panorama module does (spiky pole rows): shader copy = CPU, one point per pole', () => {
    const pano = spikyPolePanorama(512, 256);
    const mapping = { near: 1, far: 20 };
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(pano);
    const grid = pm.sphere!;
    const poles = poleDepths(pano);
    expect(pm.uniforms.uPoleDepth.value.toArray()).toEqual([poles.north, poles.south]);
    const gpu = shaderDistances(pm, pano, mapping);
    const cpu = sampleVertexDistances(grid, pano, mapping);
    let blended = 0;
    for (let n = 0; n < grid.vertexCount; n++) {
      expect(Math.abs(gpu[n] - cpu[n])).toBeLessThanOrEqual(cpu[n] * 1e-6);
      if (poleBlendWeight(grid.uvs[n * 2 + 1]) > 0) blended++;
    }
    expect(blended).toBeGreaterThan(4 * grid.segmentsX);
    // Every drawn vertex at v = 0 (grid or edge-triangle copy) is at the one north pole distance.
    const uv = pm.mesh.geometry.getAttribute('uv').array as Float32Array;
    const north = new Set<number>();
    for (let n = 0; n < gpu.length; n++) if (uv[n * 2 + 1] === 0) north.add(gpu[n]);
    expect(north.size).toBe(1);
    // Edge triangles near the poles lie flat at their farthest vertex's blended distance.
    const idx = pm.mesh.geometry.getIndex()!.array as Uint32Array;
    const edges = pm.edges;
    let nearPole = 0;
    for (let t = 0; t < grid.triangleCount; t++) {
      if (edges[t] === 0) continue;
      const [a, b, c] = [0, 1, 2].map((k) => grid.indices[t * 3 + k]);
      if (poleBlendWeight(grid.uvs[a * 2 + 1]) === 0) continue;
      nearPole++;
      const far = Math.max(cpu[a], cpu[b], cpu[c]);
      for (let k = 0; k < 3; k++) expect(Math.abs(gpu[idx[t * 3 + k]] - far)).toBeLessThanOrEqual(far * 1e-6);
    }
    expect(nearPole).toBeGreaterThan(0);
    pm.dispose();
  });

  it('puts the marker straight ahead at its true distance (4.5 m, within 2 %)', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const geo = pm.mesh.geometry;
    const uv = geo.getAttribute('uv').array as Float32Array;
    const unit = geo.getAttribute('position').array as Float32Array;
    const dist = shaderDistances(pm, synthetic.panorama, synthetic.mapping);
    const grid = pm.sphere!;
    let n = -1;
    for (let i = 0; i < grid.vertexCount; i++) if (uv[i * 2] === 0.5 && uv[i * 2 + 1] === 0.5) n = i;
    expect(n).toBeGreaterThanOrEqual(0);
    const p = [0, 1, 2].map((k) => unit[n * 3 + k] * dist[n]);
    expect(p[0]).toBeCloseTo(0, 6);
    expect(p[1]).toBeCloseTo(0, 6);
    expect(Math.abs(p[2] / -4.5 - 1)).toBeLessThan(0.02);
    // And it is the marker's colour there.
    const texel = depthTexelIndex(0.5, 0.5, synthetic.panorama.width, synthetic.panorama.height);
    expect(Array.from(synthetic.panorama.rgba.subarray(texel * 4, texel * 4 + 3))).toEqual([255, 0, 255]);
    pm.dispose();
  });

  it('leaves no stretched triangles: edge triangles lie flat at their farthest vertex', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const grid = pm.sphere!;
    // Before: the plain grid displaced by the same depth.
    const plain = sampleVertexDistances(grid, synthetic.panorama, synthetic.mapping);
    const plainPositions = new Float32Array(grid.positions.length);
    for (let n = 0; n < grid.vertexCount; n++) for (let k = 0; k < 3; k++) plainPositions[n * 3 + k] = grid.positions[n * 3 + k] * plain[n];
    const before = measureStretch(grid, plainPositions, plain);
    // After: what PanoramaMesh draws.
    const dist = shaderDistances(pm, synthetic.panorama, synthetic.mapping);
    const { mesh, positions } = drawnMesh(pm, dist);
    const after = measureStretch(mesh, positions, dist);
    console.log(
      `[scene] ${grid.triangleCount} triangles; edge triangles ${pm.stats.edgeTriangles}; ` +
        `stretched before ${before.stretched} (max ${before.maxStretch.toFixed(1)}), after ${after.stretched} (max ${after.maxStretch.toFixed(2)})`,
    );
    expect(before.stretched).toBeGreaterThan(50);
    expect(after.stretched).toBe(0);
    expect(after.measured).toBe(grid.triangleCount);
    // The flags come from the panorama module's rule, with the grid's τ.
    expect(Array.from(pm.edges)).toEqual(Array.from(detectEdgeTriangles(grid, plain)));
    // Every edge triangle has three vertices of its own at its farthest vertex's depth.
    const indices = pm.mesh.geometry.getIndex()!.array as Uint32Array;
    const aDepth = pm.mesh.geometry.getAttribute('aDepth').array as Float32Array;
    for (let t = 0; t < grid.triangleCount; t++) {
      const own = [0, 1, 2].map((k) => indices[t * 3 + k]);
      if (!pm.edges[t]) {
        expect(own).toEqual([0, 1, 2].map((k) => grid.indices[t * 3 + k]));
        continue;
      }
      expect(own.every((i) => i >= grid.vertexCount)).toBe(true);
      const far = Math.max(...[0, 1, 2].map((k) => plain[grid.indices[t * 3 + k]]));
      for (const i of own) expect(dist[i]).toBeCloseTo(far, 4);
      expect(aDepth[own[0]]).toBe(aDepth[own[1]]);
    }
    pm.dispose();
  });

  it('closes the 360° seam and the poles', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const grid = pm.sphere!;
    const dist = shaderDistances(pm, synthetic.panorama, synthetic.mapping);
    const sx = grid.segmentsX;
    for (let j = 1; j < grid.segmentsY; j++) {
      const first = sx + (j - 1) * (sx + 1);
      const last = first + sx;
      expect(grid.uvs[first * 2]).toBe(0);
      expect(grid.uvs[last * 2]).toBe(1);
      expect(dist[last]).toBe(dist[first]);
      for (let k = 0; k < 3; k++) expect(grid.positions[last * 3 + k]).toBe(grid.positions[first * 3 + k]);
    }
    // North pole: vertices 0 … sx−1; south pole: the last sx grid vertices.
    const north = Array.from(dist.subarray(0, sx));
    const south = Array.from(dist.subarray(grid.vertexCount - sx, grid.vertexCount));
    expect(new Set(north).size).toBe(1);
    expect(new Set(south).size).toBe(1);
    pm.dispose();
  });

  it('is seen from inside, not mirrored: counter-clockwise from the centre, FrontSide, image right = +X', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    expect(pm.material.side).toBe(FrontSide);
    const geo = pm.mesh.geometry;
    const p = geo.getAttribute('position').array as Float32Array;
    const uv = geo.getAttribute('uv').array as Float32Array;
    const idx = geo.getIndex()!.array as Uint32Array;
    // A quad triangle straight ahead: seen from the origin its winding is counter-clockwise, i.e.
    // its normal (b−a)×(c−a) points at the viewer (negative dot product with the position).
    let checked = 0;
    for (let t = 0; t < idx.length / 3 && checked < 1000; t += 97) {
      const [a, b, c] = [idx[t * 3], idx[t * 3 + 1], idx[t * 3 + 2]];
      const ab = [0, 1, 2].map((k) => p[b * 3 + k] - p[a * 3 + k]);
      const ac = [0, 1, 2].map((k) => p[c * 3 + k] - p[a * 3 + k]);
      const nrm = [ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2], ab[0] * ac[1] - ab[1] * ac[0]];
      const dot = nrm[0] * p[a * 3] + nrm[1] * p[a * 3 + 1] + nrm[2] * p[a * 3 + 2];
      expect(dot).toBeLessThan(0);
      checked++;
    }
    // u > 0.5 (right half of the image) lies at +X; the centre column straight ahead (−Z).
    for (let n = 0; n < 2000; n++) {
      const u = uv[n * 2];
      const v = uv[n * 2 + 1];
      if (v <= 0 || v >= 1 || u === 0.5 || u === 0 || u === 1) continue;
      expect(Math.sign(p[n * 3])).toBe(Math.sign(Math.sin((u - 0.5) * 2 * Math.PI)));
    }
    pm.dispose();
  });

  it('uploads colour as sRGB with mipmaps and depth as NEAREST float, without flipping', () => {
    const pm = new PanoramaMesh(synthetic.mapping, { anisotropy: 4 });
    pm.setPanorama(synthetic.panorama);
    const colour = pm.uniforms.uColor.value!;
    const depth = pm.uniforms.uDepth.value!;
    expect(colour.colorSpace).toBe(SRGBColorSpace);
    expect(colour.generateMipmaps).toBe(true);
    expect(colour.wrapS).toBe(RepeatWrapping);
    expect(colour.anisotropy).toBe(4);
    expect(colour.flipY).toBe(false);
    // The bytes are the panorama's own (shared, not copied).
    expect((colour.image.data as Uint8Array).buffer).toBe(synthetic.panorama.rgba.buffer);
    expect(depth.type).toBe(FloatType);
    expect(depth.format).toBe(RedFormat);
    expect(depth.minFilter).toBe(NearestFilter);
    expect(depth.magFilter).toBe(NearestFilter);
    expect(depth.generateMipmaps).toBe(false);
    expect(depth.image.data).toBe(synthetic.panorama.depth);
    pm.dispose();
  });

  it('replaces textures in place for a same-size panorama and keeps the geometry', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const geometry = pm.mesh.geometry;
    const colour = pm.uniforms.uColor.value as DataTexture;
    const depth = pm.uniforms.uDepth.value as DataTexture;
    const colourVersion = colour.version;
    const other: RGBDPanorama = { ...synthetic.panorama, depth: synthetic.panorama.depth.map((d) => d * 0.5) };
    pm.setPanorama(other);
    expect(pm.mesh.geometry).toBe(geometry);
    expect(pm.uniforms.uColor.value).toBe(colour);
    expect(pm.uniforms.uDepth.value).toBe(depth);
    expect(depth.image.data).toBe(other.depth);
    expect(colour.version).toBeGreaterThan(colourVersion);
    pm.dispose();
  });

  it('replaces textures for a new image size and the geometry only for a new grid, disposing the old', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama); // 512 × 256 → grid 256 × 128 (one vertex per 2 × 2 pixels)
    expect(pm.sphere!.segmentsY).toBe(128);
    const geometry = pm.mesh.geometry;
    const colour = pm.uniforms.uColor.value as DataTexture;
    let geometryDisposed = false;
    let colourDisposed = false;
    geometry.addEventListener('dispose', () => (geometryDisposed = true));
    colour.addEventListener('dispose', () => (colourDisposed = true));
    const small = renderSyntheticPanorama(256);
    pm.setPanorama(small.panorama);
    expect(colourDisposed).toBe(true);
    expect(pm.uniforms.uColor.value).not.toBe(colour);
    expect(geometryDisposed).toBe(true);
    expect(pm.mesh.geometry).not.toBe(geometry);
    expect(pm.sphere!.segmentsY).toBe(64);
    pm.dispose();
  });

  it('changes near/far live through uniforms, rebuilding edges only when far/near changes', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const index = pm.mesh.geometry.getIndex() as BufferAttribute;
    const version = index.version;
    const { near, far } = synthetic.mapping;
    pm.setDepthMapping({ near: near * 2, far: far * 2 }); // same shape, twice the size
    expect(pm.uniforms.uInvFar.value).toBeCloseTo(1 / (far * 2), 12);
    expect(pm.uniforms.uInvRange.value).toBeCloseTo(1 / (near * 2) - 1 / (far * 2), 12);
    expect(index.version).toBe(version);
    const edgesBefore = pm.stats.edgeTriangles;
    pm.setDepthMapping({ near, far: far * 10 }); // deeper scene: more jumps exceed τ
    expect(index.version).toBeGreaterThan(version);
    expect(pm.stats.edgeTriangles).toBeGreaterThan(edgesBefore);
    pm.dispose();
  });

  it('grows its edge-vertex room when a panorama has many edges', () => {
    const pm = new PanoramaMesh({ near: 1, far: 20 });
    // Noise depth: most triangles span a jump.
    const w = 128;
    const h = 64;
    const depth = new Float32Array(w * h);
    for (let i = 0; i < depth.length; i++) depth[i] = (i * 7919) % 13 < 6 ? 1 : 0;
    pm.setPanorama({ width: w, height: h, rgba: new Uint8ClampedArray(w * h * 4), depth });
    const grid = pm.sphere!;
    expect(pm.stats.edgeTriangles).toBeGreaterThan(grid.triangleCount * 0.3);
    const indices = pm.mesh.geometry.getIndex()!.array as Uint32Array;
    const vertexCount = pm.mesh.geometry.getAttribute('aDepth').count;
    for (const i of indices) expect(i).toBeLessThan(vertexCount);
    pm.dispose();
  });

  it('frees every GPU resource on dispose()', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    const disposed: string[] = [];
    pm.mesh.geometry.addEventListener('dispose', () => disposed.push('geometry'));
    pm.material.addEventListener('dispose', () => disposed.push('material'));
    pm.uniforms.uColor.value!.addEventListener('dispose', () => disposed.push('colour'));
    pm.uniforms.uDepth.value!.addEventListener('dispose', () => disposed.push('depth'));
    pm.dispose();
    expect(disposed.sort()).toEqual(['colour', 'depth', 'geometry', 'material']);
  });

  it('detail layer: uploaded whole, then only the rows written; its depth is what the edge test sees; freed on dispose', () => {
    const pm = new PanoramaMesh(synthetic.mapping);
    pm.setPanorama(synthetic.panorama);
    expect(pm.stats.edgeTriangles).toBeGreaterThan(0);
    expect(pm.uniforms.uDetail.value.image.width).toBe(1); // transparent placeholder
    const layer = createDetailLayer(64, 32);
    pm.setDetailLayer(layer);
    expect(pm.uniforms.uDetail.value.image).toMatchObject({ width: 64, height: 32 });
    expect(pm.uniforms.uDetailDepth.value.image.data).toBe(layer.depth);
    expect(pm.stats.edgeTriangles).toBeGreaterThan(0); // alpha 0 everywhere: the base as it was
    // An opaque layer of one depth everywhere: a plain sphere, no depth edges left.
    for (let t = 0; t < 64 * 32; t++) {
      layer.rgba[t * 4 + 3] = 255;
      layer.depth[t] = 0.5;
    }
    pm.updateDetail([{ x: 3, y: 5, width: 10, height: 2 }]);
    expect(pm.stats.edgeTriangles).toBe(0);
    const ranges = pm.uniforms.uDetailDepth.value.updateRanges;
    expect(ranges).toEqual([
      { start: (5 * 64 + 3) * 4, count: 40 },
      { start: (6 * 64 + 3) * 4, count: 40 },
    ]);
    const disposed: string[] = [];
    pm.uniforms.uDetail.value.addEventListener('dispose', () => disposed.push('detail'));
    pm.uniforms.uDetailDepth.value.addEventListener('dispose', () => disposed.push('detail-depth'));
    pm.dispose();
    expect(disposed.sort()).toEqual(['detail', 'detail-depth']);
  });

  it('reports the triangle budget for LDM3D-pano output and for 4× more pixels', () => {
    const pm = new PanoramaMesh({ near: 1, far: 20 });
    const make = (w: number): RGBDPanorama => ({
      width: w,
      height: w / 2,
      rgba: new Uint8ClampedArray(w * (w / 2) * 4),
      depth: new Float32Array(w * (w / 2)).fill(0.5),
    });
    pm.setPanorama(make(1024));
    const base = pm.stats.triangles;
    pm.setPanorama(make(2048));
    const sr = pm.stats.triangles;
    console.log(`[scene] triangles: 1024 × 512 → ${base}; 2048 × 1024 → ${sr}`);
    expect(base).toBeGreaterThanOrEqual(200_000);
    expect(sr).toBeLessThanOrEqual(600_000);
    pm.dispose();
  });
});
