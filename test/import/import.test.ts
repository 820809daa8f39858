import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from 'fast-png';
import { importSceneFiles, ImportError, type ImportFile } from '../../src/import/import';
import { exportSceneGlb } from '../../src/export/glb';
import { stringifyMetadata } from '../../src/export/metadata';
import { depthToUint16, encodeRgbPng } from '../../src/export/png';
import { encodeSceneFiles, sceneFileBase, FILE_SUFFIX, toPanorama } from '../../src/export/scene-files';
import { installBrowserShims } from '../export/node-shims';
import { makeMetadata, makePanorama } from '../export/fixtures';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

const enc = new TextEncoder();
const noBrowser = async (): Promise<never> => {
  throw new Error('the browser decoder must not be called for PNG input');
};

function exported() {
  const panorama = makePanorama(64, 32);
  const metadata = makeMetadata();
  const files = encodeSceneFiles({ width: 64, height: 32, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  const base = sceneFileBase(metadata);
  return { panorama, metadata, files, base };
}

function expectSamePanorama(got: { rgba: Uint8ClampedArray; depth: Float32Array }, want: { rgba: Uint8ClampedArray; depth: Float32Array }) {
  expect(Array.from(got.rgba)).toEqual(Array.from(want.rgba));
  // Depth comes back as code/65535: the same 16-bit codes as the original.
  expect(Array.from(depthToUint16(got.depth))).toEqual(Array.from(depthToUint16(want.depth)));
}

describe('importSceneFiles', () => {
  it('imports rgb.png + depth16.png + metadata.json back into the same panorama and metadata', async () => {
    const { panorama, metadata, files, base } = exported();
    const input: ImportFile[] = [
      { name: base + FILE_SUFFIX.metadata, bytes: enc.encode(stringifyMetadata(metadata)) },
      { name: base + FILE_SUFFIX.depth, bytes: files.depthPng },
      { name: base + FILE_SUFFIX.rgb, bytes: files.rgbPng },
    ];
    const scene = await importSceneFiles(input, noBrowser);
    expect(scene.source).toBe('images');
    expectSamePanorama(scene.panorama, panorama);
    expect(scene.metadata).toEqual(metadata);
    // Our own files are kept byte for byte.
    expect(scene.rgbPng).toBe(files.rgbPng);
    expect(scene.depthPng).toBe(files.depthPng);
    expect(scene.notes).toEqual([]);
  });

  it('recovers the metadata from the RGB PNG alone, and recognises renamed files by content', async () => {
    const { panorama, metadata, files } = exported();
    const scene = await importSceneFiles(
      [
        { name: 'a.png', bytes: files.rgbPng },
        { name: 'b.png', bytes: files.depthPng },
      ],
      noBrowser,
    );
    expectSamePanorama(scene.panorama, panorama);
    expect(scene.metadata).toEqual(metadata);
  });

  it('imports a GLB exported by us', async () => {
    const { panorama, metadata, files } = exported();
    const { glb } = await exportSceneGlb({ panorama, depthMapping: metadata.depthMapping, ...files, metadata });
    const scene = await importSceneFiles([{ name: 'scene.glb', bytes: new Uint8Array(glb) }], noBrowser);
    expect(scene.source).toBe('glb');
    expectSamePanorama(scene.panorama, panorama);
    expect(scene.metadata).toEqual(metadata);
    expect(Array.from(scene.rgbPng)).toEqual(Array.from(files.rgbPng));
  });

  it('takes JPEG colour through the browser decoder and an 8-bit depth PNG with a note', async () => {
    const { panorama } = exported();
    // SOI, then a baseline frame header (SOF0) stating 32 rows of 64: the header the size check reads.
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0, 32, 0, 64, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    const depth8 = new Uint8Array(64 * 32).map((_, i) => Math.round(panorama.depth[i] * 255));
    let asked = '';
    const scene = await importSceneFiles(
      [
        { name: 'photo.jpg', bytes: jpeg },
        { name: 'photo-depth.png', bytes: encode({ width: 64, height: 32, data: depth8, channels: 1, depth: 8 }) },
      ],
      async (_bytes, mime, name) => {
        asked = `${mime} ${name}`;
        return { width: 64, height: 32, rgba: panorama.rgba, text: {} };
      },
    );
    expect(asked).toBe('image/jpeg photo.jpg');
    expect(scene.metadata).toBeNull();
    expect(scene.notes.join()).toMatch(/8-bit/);
    expect(scene.panorama.depth[0]).toBeCloseTo(depth8[0] / 255, 6);
    // Not our format: re-encoded to 8-bit RGB and 16-bit depth PNGs for storage and export.
    expect(scene.rgbPng[25]).toBe(2); // IHDR colour type: RGB
    expect(scene.depthPng[24]).toBe(16); // IHDR bit depth
  });

  it('gives a clear message for everything else', async () => {
    const { files, metadata } = exported();
    const fail = (input: ImportFile[]) => importSceneFiles(input, noBrowser);
    await expect(fail([])).rejects.toThrow(/No files/);
    await expect(fail([{ name: 'notes.txt', bytes: enc.encode('hello') }])).rejects.toThrow(
      /notes\.txt is not a file LDM3D-XR can import/,
    );
    await expect(fail([{ name: 'x-rgb.png', bytes: files.rgbPng }])).rejects.toThrow(/depth PNG are both needed/);
    await expect(
      fail([
        { name: 'a-rgb.png', bytes: files.rgbPng },
        { name: 'b-rgb.png', bytes: files.rgbPng },
      ]),
    ).rejects.toThrow(/Could not tell which of a-rgb\.png and b-rgb\.png is the depth map/);
    const small = encodeRgbPng(32, 16, new Uint8Array(32 * 16 * 3));
    await expect(
      fail([
        { name: 'small.png', bytes: small },
        { name: 'depth.png', bytes: files.depthPng },
      ]),
    ).rejects.toThrow(/small\.png is 32×16 but depth\.png is 64×32/);
    const square = encodeRgbPng(32, 32, new Uint8Array(32 * 32 * 3));
    const squareDepth = encode({ width: 32, height: 32, data: new Uint16Array(32 * 32), channels: 1, depth: 16 });
    await expect(
      fail([
        { name: 'sq.png', bytes: square },
        { name: 'sq-depth.png', bytes: squareDepth },
      ]),
    ).rejects.toThrow(/twice as wide/);
    const wrongMeta = stringifyMetadata({ ...metadata, width: 1024, height: 512 });
    await expect(
      fail([
        { name: 'r.png', bytes: files.rgbPng },
        { name: 'd.png', bytes: files.depthPng },
        { name: 'm.json', bytes: enc.encode(wrongMeta) },
      ]),
    ).rejects.toThrow(/m\.json describes a 1024×512 scene but the images are 64×32/);
    await expect(
      fail([
        { name: 'r.png', bytes: files.rgbPng },
        { name: 'd.png', bytes: files.depthPng },
        { name: 'm.json', bytes: enc.encode('{"format":"other"}') },
      ]),
    ).rejects.toBeInstanceOf(ImportError);
    await expect(
      fail([
        { name: 'r.png', bytes: files.rgbPng },
        { name: 'depth.jpg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0]) },
      ]),
    ).rejects.toThrow(/depth must be a PNG/);
    await expect(
      fail([
        { name: 'scene.glb', bytes: new Uint8Array([0x67, 0x6c, 0x54, 0x46, 2, 0, 0, 0, 12, 0, 0, 0]) },
        { name: 'r.png', bytes: files.rgbPng },
      ]),
    ).rejects.toThrow(/\.glb on its own/);
  });
});

describe('scene files', () => {
  it('names downloads by date, seed and prompt', () => {
    expect(sceneFileBase(makeMetadata())).toBe('ldm3d-2026-05-04-1234567-a-reading-room-with-tall-windows-golden');
    expect(sceneFileBase(makeMetadata({ prompt: '图书馆' }))).toBe('ldm3d-2026-05-04-1234567');
  });

  it('turns 3-channel RGB into an opaque RGBA panorama', () => {
    const p = toPanorama({ width: 2, height: 1, rgb: new Uint8Array([1, 2, 3, 4, 5, 6]), depth: new Float32Array(2) });
    expect(Array.from(p.rgba)).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });
});
