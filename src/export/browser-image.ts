/**
 * The one browser-only part of import: decoding image formats fast-png cannot read (JPEG, WebP)
 * with the browser's own decoder. Kept thin on purpose; everything testable lives in png.ts.
 */
import type { DecodedRgba } from './png';
import { ImageFormatError } from './png';

/** True where the page (or worker) can decode images itself. */
export function canDecodeInBrowser(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

/** Decodes a JPEG/WebP/… file to RGBA8 through createImageBitmap + OffscreenCanvas. */
export async function decodeImageInBrowser(bytes: Uint8Array, mimeType: string, fileName: string): Promise<DecodedRgba> {
  if (!canDecodeInBrowser()) {
    throw new ImageFormatError(`${fileName}: this browser cannot decode ${mimeType} images here; use a PNG.`);
  }
  let bitmap: ImageBitmap;
  try {
    // colorSpaceConversion 'none' keeps the stored sRGB values, as the PNG path does.
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
  } catch (e) {
    throw new ImageFormatError(`${fileName} could not be decoded as ${mimeType} (${(e as Error).message}).`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImageFormatError(`${fileName}: no 2D canvas available to read the image.`);
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    return { width: bitmap.width, height: bitmap.height, rgba: new Uint8ClampedArray(data.buffer), text: {} };
  } finally {
    bitmap.close();
  }
}
