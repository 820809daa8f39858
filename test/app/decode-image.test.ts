import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImageFile, decodePngBytes, ImportError, unpackLowBitDepth } from '../../src/app/decode-image';

/** fast-png's bytes as a Blob part (a copy on a plain ArrayBuffer, as File wants). */
const blobPart = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

describe('decodePngBytes', () => {
  it('keeps all 16 bits of a grey depth PNG', () => {
    const data = new Uint16Array([0, 1, 255, 256, 40000, 65535]);
    const img = decodePngBytes(encode({ width: 3, height: 2, data, channels: 1, depth: 16 }), 'd.png');
    expect(img).toMatchObject({ width: 3, height: 2, channels: 1, bitDepth: 16, name: 'd.png' });
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(img.data)).toEqual(Array.from(data));
  });

  it('reads 8-bit RGB unchanged', () => {
    const data = new Uint8Array([255, 0, 255, 1, 2, 3]);
    const img = decodePngBytes(encode({ width: 2, height: 1, data, channels: 3, depth: 8 }), 'c.png');
    expect(img).toMatchObject({ channels: 3, bitDepth: 8 });
    expect(Array.from(img.data)).toEqual(Array.from(data));
  });

  it('expands palette images to RGB', () => {
    const png = encode({ width: 2, height: 1, data: new Uint8Array([0, 1]), channels: 1, depth: 8, palette: [[10, 20, 30], [40, 50, 60]] });
    const img = decodePngBytes(png, 'p.png');
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('spreads 1-bit grey to 0/255 samples', () => {
    // 10 pixels per row → rows padded to 2 bytes.
    const png = encode({ width: 10, height: 1, data: new Uint8Array([0b10100000, 0b01000000]), channels: 1, depth: 1 });
    const img = decodePngBytes(png, 'b.png');
    expect(img.bitDepth).toBe(1);
    expect(Array.from(img.data)).toEqual([255, 0, 255, 0, 0, 0, 0, 0, 0, 255]);
  });

  it('turns a damaged PNG into an ImportError naming the file', () => {
    const png = encode({ width: 4, height: 4, data: new Uint8Array(48), channels: 3, depth: 8 });
    const broken = png.slice(0, 40);
    expect(() => decodePngBytes(broken, 'cut.png')).toThrow(ImportError);
    expect(() => decodePngBytes(broken, 'cut.png')).toThrow(/"cut.png" could not be read as a PNG/);
  });
});

describe('unpackLowBitDepth', () => {
  it('scales 2- and 4-bit samples to 0…255', () => {
    expect(Array.from(unpackLowBitDepth([0b00011011], 4, 1, 2))).toEqual([0, 85, 170, 255]);
    expect(Array.from(unpackLowBitDepth([0xf0, 0x70], 3, 1, 4))).toEqual([255, 0, 119]);
  });
});

describe('decodeImageFile', () => {
  it('rejects an empty file', async () => {
    await expect(decodeImageFile(new File([], 'empty.png'))).rejects.toThrow(/"empty.png" is empty/);
  });

  it('decodes a PNG file through fast-png (no browser needed)', async () => {
    const png = encode({ width: 2, height: 1, data: new Uint16Array([7, 65000]), channels: 1, depth: 16 });
    const img = await decodeImageFile(new File([blobPart(png)], 'depth.png', { type: 'image/png' }));
    expect(Array.from(img.data)).toEqual([7, 65000]);
  });
});
