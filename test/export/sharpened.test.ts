import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { Mesh, type Texture } from 'three';
import { GLTFLoader, type GLTF } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportKindsFor, makeExportFile, NothingSharpenedError } from '../../src/export/downloads';
import { readSceneGlb } from '../../src/import/glb-read';
import { decodeRgbPng, depthToUint16, PNG_METADATA_KEYWORD } from '../../src/export/png';
import { encodeSceneFiles } from '../../src/export/scene-files';
import { parseMetadata } from '../../src/export/metadata';
import {
  compositeSharpened,
  detailTexelCount,
  encodeSharpenedFiles,
  glbTexturePng,
  linearToSrgbByte,
  MAX_GLB_TEXTURE_WIDTH,
} from '../../src/export/sharpened';
import { createDetailLayer, type DetailLayer } from '../../src/panorama/gnomonic';
import { encodeDepth16LDM3D } from '../../src/panorama/depth-mapping';
import type { RGBDPanorama } from '../../src/panorama/types';
import { installBrowserShims, type FakeImageBitmap } from './node-shims';
import { makeMetadata, makePanorama } from './fixtures';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

// --- An independent reference, written from the shader's formulas -------------------------------

const toLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toSrgb = (l: number): number => (l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055);
const srgbByte = (l: number): number => Math.round(Math.min(1, Math.max(0, toSrgb(l))) * 255);

/** GL_LINEAR on an sRGB texture with REPEAT in u, CLAMP_TO_EDGE in v, at texture coordinates (u, v). */
function bilinearLinear(p: RGBDPanorama, u: number, v: number, c: number): number {
  const sx = u * p.width - 0.5;
  const sy = v * p.height - 0.5;
  const fx = sx - Math.floor(sx);
  const fy = sy - Math.floor(sy);
  const xa = (((Math.floor(sx) % p.width) + p.width) % p.width);
  const xb = (xa + 1) % p.width;
  const ya = Math.min(p.height - 1, Math.max(0, Math.floor(sy)));
  const yb = Math.min(p.height - 1, Math.max(0, Math.floor(sy) + 1));
  const at = (x: number, y: number): number => toLinear(p.rgba[(y * p.width + x) * 4 + c] / 255);
  return (1 - fy) * ((1 - fx) * at(xa, ya) + fx * at(xb, ya)) + fy * ((1 - fx) * at(xa, yb) + fx * at(xb, yb));
}

/** A base with a different colour in every pixel and a depth step (base 32 × 16). */
function base(): RGBDPanorama {
  return makePanorama(32, 16);
}

/**
 * A 4× layer (128 × 64) with a solid block (weight 1) and a half-weight ring around it, like a
 * feathered sharpened patch; colour premultiplied as reprojectPatch stores it.
 */
function layerWithPatch(): { layer: DetailLayer; colour: (x: number, y: number) => [number, number, number]; detailDepth: (x: number, y: number) => number } {
  const layer = createDetailLayer(128, 64);
  const colour = (x: number, y: number): [number, number, number] => [(x * 7) & 255, (y * 11 + 40) & 255, (x + y * 3) & 255];
  const detailDepth = (x: number, y: number): number => 0.5 + 0.002 * x - 0.001 * y;
  for (let y = 20; y < 40; y++) {
    for (let x = 60; x < 90; x++) {
      const inner = x >= 64 && x < 86 && y >= 24 && y < 36;
      const alpha = inner ? 255 : 128;
      const t = y * 128 + x;
      const [r, g, b] = colour(x, y);
      layer.rgba[t * 4] = Math.round((r * alpha) / 255);
      layer.rgba[t * 4 + 1] = Math.round((g * alpha) / 255);
      layer.rgba[t * 4 + 2] = Math.round((b * alpha) / 255);
      layer.rgba[t * 4 + 3] = alpha;
      layer.depth[t] = detailDepth(x, y);
    }
  }
  return { layer, colour, detailDepth };
}

describe('linearToSrgbByte', () => {
  it('inverts the sRGB decode of every byte and rounds like the encode formula', () => {
    for (let b = 0; b < 256; b++) expect(linearToSrgbByte(toLinear(b / 255))).toBe(b);
    for (let i = 0; i <= 1000; i++) {
      const l = (i / 1000) ** 3;
      expect(linearToSrgbByte(l)).toBe(srgbByte(l));
    }
    expect(linearToSrgbByte(-0.1)).toBe(0);
    expect(linearToSrgbByte(1.5)).toBe(255);
  });
});

describe('compositeSharpened', () => {
  const pano = base();
  const { layer, colour, detailDepth } = layerWithPatch();
  const out = compositeSharpened(pano, layer);

  it('has the layer size', () => {
    expect([out.width, out.height]).toEqual([128, 64]);
    expect(out.rgb.length).toBe(128 * 64 * 3);
    expect(out.depth.length).toBe(128 * 64);
    expect(detailTexelCount(layer)).toBe(30 * 20);
  });

  it('outside the sharpened region: the bilinear-upsampled base (linear light) and the base depth texel', () => {
    let checked = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 128; x++) {
        const t = y * 128 + x;
        if (layer.rgba[t * 4 + 3] !== 0) continue;
        const u = (x + 0.5) / 128;
        const v = (y + 0.5) / 64;
        for (let c = 0; c < 3; c++) expect(out.rgb[t * 3 + c], `(${x}, ${y}) channel ${c}`).toBe(srgbByte(bilinearLinear(pano, u, v, c)));
        // 4× exactly: output pixel (x, y) lies in base texel (x/4, y/4).
        expect(out.depth[t]).toBe(pano.depth[Math.floor(y / 4) * 32 + Math.floor(x / 4)]);
        checked++;
      }
    }
    expect(checked).toBe(128 * 64 - 600);
  });

  it('across the 360° seam the colour filters between the last and the first column', () => {
    const t = 10 * 128; // x = 0: u = 0.5/128, between base columns 31 and 0
    const expected = srgbByte(0.625 * bilinearLinear(pano, 0.5 / 32, (10.5 / 64), 0) + 0.375 * bilinearLinear(pano, 31.5 / 32, 10.5 / 64, 0));
    expect(out.rgb[t * 3]).toBe(expected);
  });

  it('where the weight is 1: exactly the detail colour and depth', () => {
    for (let y = 24; y < 36; y++) {
      for (let x = 64; x < 86; x++) {
        const t = y * 128 + x;
        expect(Array.from(out.rgb.subarray(t * 3, t * 3 + 3))).toEqual(colour(x, y));
        expect(out.depth[t]).toBe(Math.fround(detailDepth(x, y)));
      }
    }
  });

  it('where the weight is partial: un-premultiplied colour mixed in linear light, depth mixed by the weight', () => {
    const x = 61;
    const y = 30;
    const t = y * 128 + x;
    const a = 128 / 255;
    for (let c = 0; c < 3; c++) {
      const stored = layer.rgba[t * 4 + c];
      const detail = toLinear(Math.min(1, stored / 128));
      const expected = srgbByte(bilinearLinear(pano, (x + 0.5) / 128, (y + 0.5) / 64, c) * (1 - a) + detail * a);
      expect(out.rgb[t * 3 + c]).toBe(expected);
      // Mixing premultiplied bytes without un-premultiplying would give a darker colour.
      expect(Math.abs(out.rgb[t * 3 + c] - colour(x, y)[c])).toBeLessThan(Math.abs(stored - colour(x, y)[c]) + 1);
    }
    const b = pano.depth[Math.floor(y / 4) * 32 + Math.floor(x / 4)];
    expect(out.depth[t]).toBeCloseTo(b * (1 - a) + Math.fround(detailDepth(x, y)) * a, 6);
  });

  it('refuses arrays that do not match their sizes or are not 2:1', () => {
    expect(() => compositeSharpened(pano, { ...layer, depth: new Float32Array(3) })).toThrow(/detail layer's arrays/);
    expect(() => compositeSharpened({ ...pano, width: 30 }, layer)).toThrow(/panorama's arrays/);
    const odd = { width: 96, height: 64, rgba: new Uint8ClampedArray(96 * 64 * 4), depth: new Float32Array(96 * 64) };
    expect(() => compositeSharpened(pano, odd)).toThrow(/2:1/);
  });
});

describe('sharpened PNGs', () => {
  const pano = base();
  const { layer } = layerWithPatch();
  const images = compositeSharpened(pano, layer);
  const files = encodeSharpenedFiles(images, { [PNG_METADATA_KEYWORD]: '{"x":1}' });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ldm3d-sharpened-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('decode (fast-png, from files on disk) to the layer size: 8-bit RGB and 16-bit grey', () => {
    writeFileSync(join(dir, 'scene-sharpened.png'), files.rgbPng);
    writeFileSync(join(dir, 'scene-sharpened-depth16.png'), files.depthPng);
    const rgb = decode(readFileSync(join(dir, 'scene-sharpened.png')));
    expect([rgb.width, rgb.height, rgb.depth, rgb.channels]).toEqual([128, 64, 8, 3]);
    expect(Array.from(rgb.data as Uint8Array)).toEqual(Array.from(images.rgb));
    expect(rgb.text[PNG_METADATA_KEYWORD]).toBe('{"x":1}');
    const depth = decode(readFileSync(join(dir, 'scene-sharpened-depth16.png')));
    expect([depth.width, depth.height, depth.depth, depth.channels]).toEqual([128, 64, 16, 1]);
    expect(depth.data).toBeInstanceOf(Uint16Array);
    // The base PNG's code, floor(d·65535), pixel for pixel.
    expect(Array.from(depth.data as Uint16Array)).toEqual(Array.from(depthToUint16(images.depth)));
  });

  it('outside the region the depth codes are the base depth PNG codes of the texel below', () => {
    const baseCodes = depthToUint16(pano.depth);
    const codes = decode(files.depthPng).data as Uint16Array;
    for (const [x, y] of [
      [0, 0],
      [127, 63],
      [100, 10],
      [33, 50],
    ]) {
      expect(codes[y * 128 + x]).toBe(baseCodes[Math.floor(y / 4) * 32 + Math.floor(x / 4)]);
    }
    expect(codes[30 * 128 + 70]).toBe(encodeDepth16LDM3D(layer.depth[30 * 128 + 70]));
  });

  it('the GLB texture is the sharpened PNG itself up to the cap, a box-filtered copy beyond', () => {
    expect(MAX_GLB_TEXTURE_WIDTH).toBe(4096);
    expect(glbTexturePng(images, files.rgbPng).bytes).toBe(files.rgbPng);
    const capped = glbTexturePng(images, files.rgbPng, 64);
    expect([capped.width, capped.height]).toEqual([64, 32]);
    const img = decode(capped.bytes);
    expect([img.width, img.height, img.depth, img.channels]).toEqual([64, 32, 8, 3]);
  });
});

describe('export of a sharpened scene', () => {
  const panorama = makePanorama(64, 32);
  const metadata = makeMetadata();
  const files = encodeSceneFiles({ width: 64, height: 32, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  const { layer } = (() => {
    // The 4× patch fixture scaled to this panorama: a 256 × 128 layer, patch in front-right.
    const l = createDetailLayer(256, 128);
    for (let y = 50; y < 80; y++) {
      for (let x = 140; x < 180; x++) {
        const t = y * 256 + x;
        l.rgba.set([10, 200, 30, 255], t * 4);
        l.depth[t] = 0.95;
      }
    }
    return { layer: l };
  })();
  const src = { panorama, metadata, files, depthMapping: { near: 1, far: 20 }, detail: layer };
  const base = 'ldm3d-2026-05-04-1234567-a-reading-room-with-tall-windows-golden';

  it('offers the sharpened files only with a detail layer', () => {
    expect(exportKindsFor(false).map((k) => k.kind)).toEqual(['rgb', 'depth', 'glb', 'metadata']);
    expect(exportKindsFor(true).map((k) => k.kind)).toEqual(['rgb', 'depth', 'glb', 'metadata', 'sharpened-rgb', 'sharpened-depth']);
  });

  it('names and sizes the sharpened PNGs; their metadata says the composite size', async () => {
    const rgb = await makeExportFile('sharpened-rgb', src);
    expect(rgb).toMatchObject({ name: `${base}-sharpened.png`, mimeType: 'image/png' });
    const decoded = decodeRgbPng(rgb.bytes);
    expect([decoded.width, decoded.height]).toEqual([256, 128]);
    expect(Array.from(decoded.rgba.subarray((60 * 256 + 150) * 4, (60 * 256 + 150) * 4 + 3))).toEqual([10, 200, 30]);
    expect(parseMetadata(decoded.text[PNG_METADATA_KEYWORD])).toEqual({ ...metadata, width: 256, height: 128 });
    const depth = await makeExportFile('sharpened-depth', src);
    expect(depth).toMatchObject({ name: `${base}-sharpened-depth16.png`, mimeType: 'image/png' });
    const d = decode(depth.bytes);
    expect([d.width, d.height, d.depth, d.channels]).toEqual([256, 128, 16, 1]);
    expect((d.data as Uint16Array)[60 * 256 + 150]).toBe(encodeDepth16LDM3D(0.95));
  });

  it('says why when there is nothing sharpened', async () => {
    await expect(makeExportFile('sharpened-rgb', { ...src, detail: null })).rejects.toThrow(NothingSharpenedError);
    await expect(makeExportFile('sharpened-depth', { ...src, detail: createDetailLayer(256, 128) })).rejects.toThrow(/no sharpened regions/);
  });

  it('the GLB is textured with the sharpened composite and displaced by its depth; import still gets the base', async () => {
    const plain = await makeExportFile('glb', { ...src, detail: null });
    const sharp = await makeExportFile('glb', src);
    const parse = (bytes: Uint8Array): Promise<GLTF> =>
      new Promise((resolve, reject) => new GLTFLoader().parse(bytes.slice().buffer, '', resolve, reject));
    const meshOf = (g: GLTF): Mesh => {
      let m: Mesh | null = null;
      g.scene.traverse((o) => {
        if ((o as Mesh).isMesh) m = o as Mesh;
      });
      return m!;
    };
    const [a, b] = [meshOf(await parse(plain.bytes)), meshOf(await parse(sharp.bytes))];
    const texA = (a.material as { map?: Texture | null }).map!.image as FakeImageBitmap;
    const texB = (b.material as { map?: Texture | null }).map!.image as FakeImageBitmap;
    expect([texA.width, texA.height]).toEqual([64, 32]);
    expect([texB.width, texB.height]).toEqual([256, 128]);
    expect(Array.from(texB.rgba.subarray((60 * 256 + 150) * 4, (60 * 256 + 150) * 4 + 3))).toEqual([10, 200, 30]);

    // Same grid; vertices move only where the patch is (its depth 0.95 is nearer than the base).
    const pa = a.geometry.attributes.position.array as Float32Array;
    const pb = b.geometry.attributes.position.array as Float32Array;
    const uv = a.geometry.attributes.uv.array as Float32Array;
    expect(pb.length).toBe(pa.length);
    let moved = 0;
    for (let n = 0; n < pa.length / 3; n++) {
      const ra = Math.hypot(pa[n * 3], pa[n * 3 + 1], pa[n * 3 + 2]);
      const rb = Math.hypot(pb[n * 3], pb[n * 3 + 1], pb[n * 3 + 2]);
      const x = Math.min(255, Math.floor((uv[n * 2] % 1) * 256));
      const y = Math.min(127, Math.floor(uv[n * 2 + 1] * 128));
      const inPatch = x >= 140 && x < 180 && y >= 50 && y < 80 && uv[n * 2 + 1] > 0 && uv[n * 2 + 1] < 1;
      if (inPatch) {
        expect(rb).toBeLessThan(ra);
        moved++;
      } else {
        expect(rb).toBeCloseTo(ra, 5);
      }
    }
    expect(moved).toBeGreaterThan(10);

    // Lossless import of the scene as generated: the base PNGs, unchanged.
    const back = readSceneGlb(sharp.bytes);
    expect(back.rgbPng).toEqual(files.rgbPng);
    expect(back.depthPng).toEqual(files.depthPng);
  });
});
