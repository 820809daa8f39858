import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import type { NamedImage } from '../../src/app/decode-image';
import { importPanoramaFiles, looksLikeDepthName, pickDepth } from '../../src/app/import-panorama';
import { PanoramaMesh } from '../../src/scene/panorama-mesh';
import { depthTexelIndex, poleDepths, sampleVertexDistances } from '../../src/panorama/mesh';
import { inverseDepthToDistance } from '../../src/panorama/depth-mapping';

/** fast-png's bytes as a Blob part (a copy on a plain ArrayBuffer, as File wants). */
const blobPart = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

function rgbFile(name: string, width: number, height: number, rgb: [number, number, number]): File {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return new File([blobPart(encode({ width, height, data, channels: 3, depth: 8 }))], name, { type: 'image/png' });
}

function depth16File(name: string, width: number, height: number, values: (i: number) => number): File {
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = values(i);
  return new File([blobPart(encode({ width, height, data, channels: 1, depth: 16 }))], name, { type: 'image/png' });
}

const image = (name: string, channels: number, bitDepth: number): NamedImage => ({
  name,
  width: 2,
  height: 1,
  channels,
  bitDepth,
  data: new Uint8Array(2 * channels),
});

describe('which file is depth', () => {
  it('goes by the name first', () => {
    expect(looksLikeDepthName('room_depth.png')).toBe(true);
    expect(looksLikeDepthName('room-disparity.png')).toBe(true);
    expect(looksLikeDepthName('pano_d.png')).toBe(true);
    expect(looksLikeDepthName('3d_room.png')).toBe(false);
    expect(looksLikeDepthName('room.png')).toBe(false);
    const { rgb, depth } = pickDepth(image('a_depth.png', 3, 8), image('a.png', 1, 16));
    expect([rgb.name, depth.name]).toEqual(['a.png', 'a_depth.png']);
  });

  it('then by the pixels (grey or 16-bit), then by order', () => {
    expect(pickDepth(image('x.png', 1, 16), image('y.png', 3, 8)).depth.name).toBe('x.png');
    expect(pickDepth(image('x.png', 3, 8), image('y.png', 2, 8)).depth.name).toBe('y.png');
    expect(pickDepth(image('x.png', 3, 8), image('y.png', 3, 8)).depth.name).toBe('y.png');
  });
});

describe('importPanoramaFiles', () => {
  it('imports an RGB + 16-bit depth pair with the exact depth values', async () => {
    const r = await importPanoramaFiles(
      [depth16File('scene_depth.png', 64, 32, (i) => (i * 997) % 65536), rgbFile('scene.png', 64, 32, [10, 200, 30])],
      4096,
    );
    expect(r.messages.filter((m) => m.severity === 'error')).toEqual([]);
    expect(r.label).toBe('scene.png + scene_depth.png');
    const p = r.panorama!;
    expect([p.width, p.height]).toEqual([64, 32]);
    for (let i = 0; i < p.depth.length; i++) expect(p.depth[i]).toBeCloseTo(((i * 997) % 65536) / 65535, 7);
    expect(Array.from(p.rgba.subarray(0, 4))).toEqual([10, 200, 30, 255]);
  });

  it('an imported panorama is shown by the same mesh: poles converge, seam closed, pixels untouched (issue 12)', async () => {
    // Spiky pole rows (every column a different depth) and a depth step at the seam.
    const value = (i: number): number => {
      const x = i % 128;
      const y = Math.floor(i / 128);
      return y === 0 || y === 63 ? (x * 4099) % 65536 : x < 64 ? 50000 : 10000;
    };
    const r = await importPanoramaFiles([rgbFile('mine.png', 128, 64, [90, 90, 90]), depth16File('mine_depth.png', 128, 64, value)], 4096);
    const p = r.panorama!;
    const before = Float32Array.from(p.depth);
    const mapping = { near: 1, far: 20 };
    const pm = new PanoramaMesh(mapping);
    pm.setPanorama(p);
    const grid = pm.sphere!;
    const d = sampleVertexDistances(grid, p, mapping);
    // North pole: one distance, the top row's median (not the one texel it used to read).
    const north = new Set(Array.from(d.subarray(0, grid.segmentsX)));
    expect(north.size).toBe(1);
    expect([...north][0]).toBeCloseTo(inverseDepthToDistance(poleDepths(p).north, mapping), 4);
    expect([...north][0]).not.toBeCloseTo(inverseDepthToDistance(p.depth[depthTexelIndex(0.5, 0, 128, 64)], mapping), 2);
    // Seam: the u = 1 column sits where u = 0 does, and the step there is an edge like any other.
    const sx = grid.segmentsX;
    for (let j = 1; j < grid.segmentsY; j++) {
      const first = sx + (j - 1) * (sx + 1);
      expect(d[first + sx]).toBe(d[first]);
    }
    expect(pm.stats.edgeTriangles).toBeGreaterThan(0);
    // The user's pixels are shown as they are: the mesh reads them, never rewrites them.
    expect(p.depth).toEqual(before);
    expect(pm.uniforms.uDepth.value!.image.data).toBe(p.depth);
    pm.dispose();
  });

  it('reports a wrong shape as an error and returns no panorama', async () => {
    const r = await importPanoramaFiles([rgbFile('a.png', 300, 200, [0, 0, 0]), depth16File('a_depth.png', 300, 200, () => 1)], 4096);
    expect(r.panorama).toBeNull();
    expect(r.messages.map((m) => m.code)).toContain('not-2-to-1');
  });

  it('downscales past the GPU texture limit with a notice', async () => {
    const r = await importPanoramaFiles([rgbFile('big.png', 256, 128, [50, 50, 50]), depth16File('big_depth.png', 256, 128, () => 30000)], 128);
    expect(r.panorama).not.toBeNull();
    expect([r.panorama!.width, r.panorama!.height]).toEqual([128, 64]);
    expect(r.messages.find((m) => m.code === 'too-large')?.severity).toBe('notice');
  });

  it('reads a single square image as over-under', async () => {
    const w = 32;
    const data = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) data.set(i < (w * w) / 2 ? [200, 10, 10] : [51, 51, 51], i * 3);
    const file = new File([blobPart(encode({ width: w, height: w, data, channels: 3, depth: 8 }))], 'ou.png');
    const r = await importPanoramaFiles([file], 4096);
    expect(r.panorama).toMatchObject({ width: 32, height: 16 });
    expect(r.panorama!.depth[0]).toBeCloseTo(51 / 255, 6);
    expect(r.messages.map((m) => m.code)).toContain('over-under');
  });

  it('turns unreadable files and too many files into errors', async () => {
    const bad = await importPanoramaFiles([new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0])], 'bad.png')], 4096);
    expect(bad.panorama).toBeNull();
    expect(bad.messages[0]).toMatchObject({ severity: 'error' });
    expect(bad.messages[0].message).toMatch(/bad\.png/);
    const three = await importPanoramaFiles([rgbFile('a.png', 4, 2, [0, 0, 0]), rgbFile('b.png', 4, 2, [0, 0, 0]), rgbFile('c.png', 4, 2, [0, 0, 0])], 4096);
    expect(three.panorama).toBeNull();
    expect(three.messages[0].message).toMatch(/3 files/);
  });
});
