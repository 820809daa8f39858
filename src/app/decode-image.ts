/**
 * Files → decoded pixel arrays (the panorama module's `DecodedImage`), keeping every bit of depth:
 * PNGs are decoded with fast-png (16-bit stays 16-bit; a canvas would round it to 8), other
 * formats (JPEG, WebP) by the browser without colour conversion so depth bytes arrive unchanged.
 */
import { convertIndexedToRgb, decode as decodePng, hasPngSignature } from 'fast-png';
import type { DecodedImage } from '../panorama/image-validation';
import { checkImageHeader, DEFAULT_IMAGE_LIMITS, ImageHeaderError, type ImageLimits } from '../panorama/image-header';

/** A file the user chose that could not be read; the message is for the user. */
export class ImportError extends Error {
  override readonly name = 'ImportError';
}

export interface NamedImage extends DecodedImage {
  readonly name: string;
  /** Bits per sample in the file (1–16); 8 for browser-decoded images. */
  readonly bitDepth: number;
}

/**
 * 1-, 2- and 4-bit greyscale rows come packed (rows padded to whole bytes); spread them to one
 * byte per sample on the 0…255 scale, as 8-bit depth.
 */
export function unpackLowBitDepth(packed: ArrayLike<number>, width: number, height: number, bits: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(width * height);
  const perByte = 8 / bits;
  const rowBytes = Math.ceil(width / perByte);
  const mask = (1 << bits) - 1;
  const scale = 255 / mask;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = packed[y * rowBytes + Math.floor(x / perByte)];
      const shift = 8 - bits * (1 + (x % perByte));
      out[y * width + x] = Math.round(((byte >> shift) & mask) * scale);
    }
  }
  return out;
}

/** Decodes PNG bytes exactly (8 or 16 bits per sample, palette expanded). Throws ImportError. */
export function decodePngBytes(bytes: Uint8Array, name: string): NamedImage {
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new ImportError(`"${name}" could not be read as a PNG image (${(e as Error).message}).`);
  }
  const { width, height } = png;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    return { name, width, height, data: rgb, channels: rgb.length / (width * height), bitDepth: 8 };
  }
  if (png.depth === 1 || png.depth === 2 || png.depth === 4) {
    if (png.channels !== 1) {
      throw new ImportError(`"${name}" uses ${png.depth}-bit samples with ${png.channels} channels, which PNG does not allow.`);
    }
    return { name, width, height, data: unpackLowBitDepth(png.data, width, height, png.depth), channels: 1, bitDepth: png.depth };
  }
  return { name, width, height, data: png.data, channels: png.channels, bitDepth: png.depth };
}

/** Decodes any image the browser can read into RGBA8, with no colour-profile conversion. */
async function decodeWithBrowser(file: Blob, name: string): Promise<NamedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new ImportError(`"${name}" could not be read as an image. Use PNG or JPEG files.`);
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImportError(`"${name}" could not be decoded: no 2D canvas is available.`);
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { name, width, height, data, channels: 4, bitDepth: 8 };
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError(`"${name}" is too large to decode in this browser (${(e as Error).message}).`);
  } finally {
    bitmap.close();
  }
}

/**
 * Reads one file the user picked or dropped. Throws ImportError with a user-facing message.
 * The size in the header is checked against `limits` before any pixel is decoded, and a file
 * whose header is not PNG, JPEG or WebP is refused rather than handed to the browser's decoder
 * (whose size nothing could check first).
 */
export async function decodeImageFile(file: File, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<NamedImage> {
  const name = file.name || 'the file';
  if (file.size === 0) throw new ImportError(`"${name}" is empty (0 bytes).`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch {
    throw new ImportError(`"${name}" could not be read from disk.`);
  }
  let header: ReturnType<typeof checkImageHeader>;
  try {
    header = checkImageHeader(bytes, name, limits);
  } catch (e) {
    if (e instanceof ImageHeaderError) throw new ImportError(e.message);
    throw e;
  }
  if (header === null) throw new ImportError(`"${name}" could not be read as an image. Use PNG or JPEG files.`);
  if (hasPngSignature(bytes)) return decodePngBytes(bytes, name);
  return decodeWithBrowser(file, name);
}
