// Huge images are refused from their header, before any decoding (issue 13, item 5).
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkImageHeader,
  DEFAULT_IMAGE_LIMITS,
  ImageHeaderError,
  importLimits,
  MAX_IMPORT_PIXELS,
  readImageHeader,
} from '../../src/panorama/image-header';
import { decodeImageFile } from '../../src/app/decode-image';
import { importPanoramaFiles } from '../../src/app/import-panorama';
import { importSceneFiles } from '../../src/import/import';
import { installBrowserShims } from '../export/node-shims';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installBrowserShims();
});
afterAll(() => uninstall());

/**
 * A PNG whose IHDR claims `width × height` (8-bit RGB), followed by a tiny IDAT and IEND: a real
 * decoder would try to allocate width × height × 3 bytes. CRCs are left zero; nothing here must
 * get as far as checking them.
 */
function craftedPng(width: number, height: number): Uint8Array {
  const b = new Uint8Array(8 + 25 + 12 + 12);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(b.buffer);
  v.setUint32(8, 13);
  b.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([8, 2, 0, 0, 0], 24);
  v.setUint32(33, 0);
  b.set([0x49, 0x44, 0x41, 0x54], 37); // empty IDAT
  b.set([0x49, 0x45, 0x4e, 0x44], 49); // IEND
  return b;
}

/** SOI, an APP0 (JFIF) segment, a comment, then a baseline frame header with this size. */
function craftedJpeg(width: number, height: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const com = [0xff, 0xfe, 0, 5, 0x68, 0x69, 0x21];
  const sof0 = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return new Uint8Array([0xff, 0xd8, ...app0, ...com, ...sof0, 0xff, 0xda]);
}

/** A lossless WebP header stating this size. */
function craftedWebp(width: number, height: number): Uint8Array {
  const b = new Uint8Array(30);
  b.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  b.set([0x57, 0x45, 0x42, 0x50], 8); // WEBP
  b.set([0x56, 0x50, 0x38, 0x4c], 12); // VP8L
  b[20] = 0x2f;
  const bits = (width - 1) | ((height - 1) << 14);
  new DataView(b.buffer).setUint32(21, bits >>> 0, true);
  return b;
}

const file = (bytes: Uint8Array, name: string): File => new File([new Uint8Array(bytes)], name);

describe('readImageHeader', () => {
  it('reads the size of PNG, JPEG (after APPn and COM segments) and WebP headers', () => {
    const real = encode({ width: 6, height: 3, data: new Uint8Array(54), channels: 3, depth: 8 });
    expect(readImageHeader(real, 'a.png')).toEqual({ format: 'png', width: 6, height: 3 });
    expect(readImageHeader(craftedJpeg(640, 320), 'a.jpg')).toEqual({ format: 'jpeg', width: 640, height: 320 });
    expect(readImageHeader(craftedWebp(300, 150), 'a.webp')).toEqual({ format: 'webp', width: 300, height: 150 });
    expect(readImageHeader(new TextEncoder().encode('GIF89a....'), 'a.gif')).toBeNull();
  });

  it('says clearly when a header is cut short', () => {
    const png = craftedPng(64, 32);
    for (const [bytes, name, format] of [
      [png.subarray(0, 20), 'cut.png', 'PNG'],
      [craftedJpeg(64, 32).subarray(0, 30), 'cut.jpg', 'JPEG'],
      [craftedWebp(64, 32).subarray(0, 22), 'cut.webp', 'WebP'],
    ] as const) {
      expect(() => readImageHeader(bytes, name)).toThrow(ImageHeaderError);
      expect(() => readImageHeader(bytes, name)).toThrow(new RegExp(`"${name.replace('.', '\\.')}" is cut short: its ${format} header ends before the image size`));
    }
  });

  it('refuses a header claiming 100000 × 50000 and passes a small one', () => {
    expect(() => checkImageHeader(craftedPng(100_000, 50_000), 'huge.png', DEFAULT_IMAGE_LIMITS)).toThrow(
      /"huge\.png" is 100000 × 50000 pixels; this device can show at most 16384 pixels on a side/,
    );
    expect(checkImageHeader(craftedPng(2048, 1024), 'ok.png', DEFAULT_IMAGE_LIMITS)).toEqual({ format: 'png', width: 2048, height: 1024 });
    // Within the side limit of a big GPU (16384 × 2) but over the pixel budget.
    const limits = importLimits(16384);
    expect(limits.maxSide).toBe(32768);
    expect(() => checkImageHeader(craftedPng(16384, 8192), 'big.png', limits)).toThrow(/134 megapixels\); import takes at most 67 megapixels/);
    expect(MAX_IMPORT_PIXELS).toBe(2 ** 26);
    // JPEG cannot state 100000; its largest side is 65535.
    expect(() => checkImageHeader(craftedJpeg(65_000, 32_500), 'huge.jpg', DEFAULT_IMAGE_LIMITS)).toThrow(/"huge\.jpg" is 65000 × 32500 pixels/);
  });
});

describe('import refuses huge images before decoding them', () => {
  it('decodeImageFile: the size message, not a decoder failure (the PNG body was never read)', async () => {
    await expect(decodeImageFile(file(craftedPng(100_000, 50_000), 'huge.png'))).rejects.toThrow(/"huge\.png" is 100000 × 50000 pixels.*It was not opened/);
    // A JPEG never reaches the browser decoder (there is none in Node: that would say "could not be read").
    await expect(decodeImageFile(file(craftedJpeg(65_000, 32_500), 'huge.jpg'))).rejects.toThrow(/"huge\.jpg" is 65000 × 32500 pixels/);
    await expect(decodeImageFile(file(craftedPng(64, 32).subarray(0, 20), 'cut.png'))).rejects.toThrow(/"cut\.png" is cut short/);
    const small = encode({ width: 4, height: 2, data: new Uint8Array(24).fill(9), channels: 3, depth: 8 });
    expect(await decodeImageFile(file(small, 'small.png'))).toMatchObject({ width: 4, height: 2, channels: 3 });
  });

  it("importPanoramaFiles: the limit follows the GPU's largest texture (× 2)", async () => {
    const r = await importPanoramaFiles([file(craftedPng(10_000, 5_000), 'pano.png')], 4096);
    expect(r.panorama).toBeNull();
    expect(r.messages).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/"pano\.png" is 10000 × 5000 pixels; this device can show at most 8192/) })]);
  });

  it('importSceneFiles: an image pair with a huge colour header is refused with the same message', async () => {
    const depth = encode({ width: 64, height: 32, data: new Uint16Array(64 * 32), channels: 1, depth: 16 });
    const decoded: string[] = [];
    await expect(
      importSceneFiles(
        [
          { name: 'huge.jpg', bytes: craftedJpeg(65_000, 32_500) },
          { name: 'huge-depth.png', bytes: depth },
        ],
        async (_b, _m, name) => {
          decoded.push(name);
          throw new Error('must not be decoded');
        },
      ),
    ).rejects.toThrow(/"huge\.jpg" is 65000 × 32500 pixels/);
    expect(decoded).toEqual([]);
  });
});
