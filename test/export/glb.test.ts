import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mesh, PerspectiveCamera, type Texture } from 'three';
import { GLTFLoader, type GLTF } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { exportSceneGlb } from '../../src/export/glb';
import { GlbFormatError, isGlb, readSceneGlb } from '../../src/import/glb-read';
import { depthToUint16, encodeDepth16Png, encodeRgbPng } from '../../src/export/png';
import {
  buildSphereMesh,
  detectEdgeTriangles,
  displaceSphereMesh,
  poleDepths,
  sphereTriangleCount,
  sphereVertexCount,
} from '../../src/panorama/mesh';
import { inverseDepthToDistance } from '../../src/panorama/depth-mapping';
import { installBrowserShims, type FakeImageBitmap } from './node-shims';
import { makeMetadata, makePanorama } from './fixtures';
import { spikyPolePanorama } from '../panorama/pole-fixture';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

function parseWithGLTFLoader(glb: ArrayBuffer): Promise<GLTF> {
  return new Promise((resolve, reject) => new GLTFLoader().parse(glb, '', resolve, reject));
}

const mapping = { near: 1, far: 20 };

async function exportFixture(extra: { segmentsX?: number; segmentsY?: number } = {}) {
  const panorama = makePanorama(64, 32);
  const rgbPng = encodeRgbPng(64, 32, panorama.rgba);
  const depthPng = encodeDepth16Png(64, 32, depthToUint16(panorama.depth));
  const metadata = makeMetadata();
  const result = await exportSceneGlb({ panorama, depthMapping: mapping, rgbPng, depthPng, metadata, ...extra });
  return { panorama, rgbPng, depthPng, metadata, result };
}

describe('exportSceneGlb', () => {
  it('writes a GLB that three’s GLTFLoader parses: vertex count, index count, texture, camera', async () => {
    const { panorama, result } = await exportFixture();
    // segmentsForImage(64, 32) = 32 × 16 cells.
    const vertices = sphereVertexCount(32, 16);
    expect(result.vertexCount).toBe(vertices);
    expect(result.triangleCount + result.removedTriangles).toBe(sphereTriangleCount(32, 16));
    // The near block's borders are depth jumps: some triangles must be left out, not all.
    expect(result.removedTriangles).toBeGreaterThan(0);
    expect(result.removedTriangles).toBeLessThan(sphereTriangleCount(32, 16) / 4);
    // The same count the viewer's rule gives.
    const sphere = buildSphereMesh(32, 16);
    const { distances } = displaceSphereMesh(sphere, panorama, mapping);
    const mask = detectEdgeTriangles(sphere.indices, distances);
    expect(result.removedTriangles).toBe(mask.reduce((a, b) => a + b, 0));

    const gltf = await parseWithGLTFLoader(result.glb);
    const meshes: Mesh[] = [];
    const cameras: PerspectiveCamera[] = [];
    gltf.scene.traverse((o) => {
      if ((o as Mesh).isMesh) meshes.push(o as Mesh);
      if ((o as PerspectiveCamera).isPerspectiveCamera) cameras.push(o as PerspectiveCamera);
    });
    expect(meshes).toHaveLength(1);
    const geometry = meshes[0].geometry;
    expect(geometry.attributes.position.count).toBe(vertices);
    expect(geometry.attributes.uv.count).toBe(vertices);
    expect(geometry.index!.count).toBe(result.triangleCount * 3);

    const map = (meshes[0].material as { map?: Texture | null }).map;
    expect(map?.isTexture).toBe(true);
    const image = map!.image as FakeImageBitmap;
    expect([image.width, image.height]).toEqual([64, 32]);
    // The texture is the panorama, pixel for pixel (PNG is lossless).
    expect(Array.from(image.rgba.subarray(0, 64 * 4 * 2))).toEqual(Array.from(panorama.rgba.subarray(0, 64 * 4 * 2)));
    expect(map!.colorSpace).toBe('srgb');

    expect(cameras.map((c) => c.name)).toEqual(['viewer']);
    expect(cameras[0].position.toArray()).toEqual([0, 0, 0]);
  });

  it('places the panorama centre straight ahead (−Z) at the mapped distance, +Y up', async () => {
    const { panorama, result } = await exportFixture();
    const gltf = await parseWithGLTFLoader(result.glb);
    const mesh = gltf.scene.getObjectByName('panorama') as Mesh;
    const pos = mesh.geometry.attributes.position;
    const uv = mesh.geometry.attributes.uv;
    let centre = -1;
    let top = -1;
    for (let n = 0; n < uv.count; n++) {
      if (Math.abs(uv.getX(n) - 0.5) < 1e-6 && Math.abs(uv.getY(n) - 0.5) < 1e-6) centre = n;
      if (uv.getY(n) === 0 && top < 0) top = n;
    }
    expect(centre).toBeGreaterThanOrEqual(0);
    // Texel that (0.5, 0.5) reads: x = 32, y = 16.
    const r = inverseDepthToDistance(panorama.depth[16 * 64 + 32], mapping);
    expect(pos.getX(centre)).toBeCloseTo(0, 5);
    expect(pos.getY(centre)).toBeCloseTo(0, 5);
    expect(pos.getZ(centre)).toBeCloseTo(-r, 4);
    // v = 0 (the image's top row) is up.
    expect(pos.getY(top)).toBeGreaterThan(0);
    expect(Math.abs(pos.getX(top)) + Math.abs(pos.getZ(top))).toBeLessThan(1e-6);
  });

  it('shows the viewer’s geometry at the poles: blended toward the pole rows’ median, one point each', async () => {
    const panorama = spikyPolePanorama(256, 128);
    const rgbPng = encodeRgbPng(256, 128, panorama.rgba);
    const depthPng = encodeDepth16Png(256, 128, depthToUint16(panorama.depth));
    // A sharpened composite displaces the rest, but the poles still go to the base's depths, as
    // the viewer's uPoleDepth does: give the composite a different top row to tell them apart.
    const displacement = { width: 256, height: 128, depth: Float32Array.from(panorama.depth) };
    displacement.depth.fill(0.9, 0, 256);
    for (const [extra, poleSource] of [[{}, panorama], [{ displacement }, panorama]] as const) {
      const { glb } = await exportSceneGlb({ panorama, depthMapping: mapping, rgbPng, depthPng, metadata: makeMetadata(), ...extra });
      const gltf = await parseWithGLTFLoader(glb);
      const mesh = gltf.scene.getObjectByName('panorama') as Mesh;
      const pos = mesh.geometry.attributes.position.array as Float32Array;
      const sphere = buildSphereMesh(128, 64);
      const expected = displaceSphereMesh(sphere, 'displacement' in extra ? extra.displacement : panorama, mapping, poleDepths(poleSource));
      expect(Array.from(pos)).toEqual(Array.from(expected.positions));
      // North pole vertices: one point, at the median's distance (not the pole texel's).
      const r = inverseDepthToDistance(poleDepths(poleSource).north, mapping);
      for (let k = 0; k < 128; k++) {
        expect([pos[k * 3], pos[k * 3 + 1], pos[k * 3 + 2]]).toEqual([0, pos[1], 0]);
      }
      expect(pos[1]).toBeCloseTo(r, 4);
    }
  });

  it('uses 32-bit indices when the grid has more than 65,535 vertices', async () => {
    const { result } = await exportFixture({ segmentsX: 400, segmentsY: 200 });
    expect(result.vertexCount).toBeGreaterThan(65535);
    const gltf = await parseWithGLTFLoader(result.glb);
    const mesh = gltf.scene.getObjectByName('panorama') as Mesh;
    expect(mesh.geometry.index!.array).toBeInstanceOf(Uint32Array);
    expect(mesh.geometry.index!.count).toBe(result.triangleCount * 3);
  });

  it('is a valid GLB container: header length, 4-byte aligned chunks, aligned bufferViews', async () => {
    const { result } = await exportFixture();
    const bytes = new Uint8Array(result.glb);
    const view = new DataView(result.glb);
    expect(view.getUint32(0, true)).toBe(0x46546c67);
    expect(view.getUint32(4, true)).toBe(2);
    expect(view.getUint32(8, true)).toBe(bytes.byteLength);
    const jsonLength = view.getUint32(12, true);
    expect(jsonLength % 4).toBe(0);
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength)));
    for (const bv of json.bufferViews) expect((bv.byteOffset ?? 0) % 4).toBe(0);
    const position = json.accessors[json.meshes[0].primitives[0].attributes.POSITION];
    expect(position.min).toHaveLength(3);
    expect(position.max).toHaveLength(3);
    expect(json.images.map((i: { mimeType: string }) => i.mimeType)).toEqual(['image/png', 'image/png']);
    expect(json.extensionsUsed).toContain('KHR_materials_unlit');
    expect(json.materials[0].doubleSided).toBe(true);
  });
});

describe('readSceneGlb', () => {
  it('recovers the exact PNGs and the metadata', async () => {
    const { rgbPng, depthPng, metadata, result } = await exportFixture();
    const bytes = new Uint8Array(result.glb);
    expect(isGlb(bytes)).toBe(true);
    const back = readSceneGlb(bytes);
    expect(Array.from(back.rgbPng)).toEqual(Array.from(rgbPng));
    expect(Array.from(back.depthPng)).toEqual(Array.from(depthPng));
    expect(back.metadata).toEqual(metadata);
  });

  it('explains what is wrong with other files', async () => {
    expect(() => readSceneGlb(new Uint8Array([1, 2, 3]), 'x.glb')).toThrow(/x\.glb is not a binary glTF/);
    const { result } = await exportFixture();
    const cut = new Uint8Array(result.glb).slice(0, 100);
    expect(() => readSceneGlb(cut, 'cut.glb')).toThrow(GlbFormatError);
    expect(() => readSceneGlb(cut, 'cut.glb')).toThrow(/cut off/);

    // A GLB from elsewhere (three's exporter, no extras of ours).
    const { GLTFExporter } = await import('three/examples/jsm/exporters/GLTFExporter.js');
    const foreign = (await new GLTFExporter().parseAsync(new Mesh(), { binary: true })) as ArrayBuffer;
    expect(() => readSceneGlb(new Uint8Array(foreign), 'chair.glb')).toThrow(/chair\.glb was not exported by LDM3D-XR/);
  });
});
