/**
 * PNG files of a scene: 8-bit RGB and 16-bit greyscale depth, encoded and decoded with fast-png so
 * the same code runs in the page, in a worker and in Node tests.
 *
 * Depth is stored exactly as LDM3D writes it (`floor(d · 65535)`, 65535 = nearest), so a depth PNG
 * made by the reference Python pipeline imports here, and ours opens there.
 *
 * @example
 *   const png = encodeDepth16Png(w, h, depthToUint16(panorama.depth));
 *   const back = decodeDepthPng(png).depth16; // the same Uint16Array, value for value
 */
import { decode, encode, convertIndexedToRgb, hasPngSignature, type DecodedPng } from 'fast-png';

/** tEXt keyword under which the RGB PNG carries the scene metadata JSON. */
export const PNG_METADATA_KEYWORD = 'ldm3d-xr.scene';

export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError';
}

/**
 * d ∈ [0, 1] → the 16-bit codes diffusers writes for LDM3D (float32 floor(d · 65535)), and back
 * (v / 65535). Re-exported from the panorama maths so there is one definition.
 */
export {
  encodeDepth16LDM3DArray as depthToUint16,
  decodeDepth16Array as uint16ToDepth,
} from '../panorama/depth-mapping';

/**
 * Encodes 8-bit colour as an RGB PNG. `pixels` has 3 (RGB) or 4 (RGBA, alpha dropped: panoramas
 * are opaque) channels per pixel. `text` becomes Latin-1 tEXt chunks; non-ASCII characters of the
 * values must already be escaped (see escapeToAscii).
 */
export function encodeRgbPng(
  width: number,
  height: number,
  pixels: Uint8Array | Uint8ClampedArray,
  text?: Record<string, string>,
): Uint8Array {
  checkSize(width, height);
  const n = width * height;
  let rgb: Uint8Array;
  if (pixels.length === n * 3) {
    rgb = pixels instanceof Uint8Array ? pixels : new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length);
  } else if (pixels.length === n * 4) {
    rgb = new Uint8Array(n * 3);
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      rgb[i * 3] = pixels[j];
      rgb[i * 3 + 1] = pixels[j + 1];
      rgb[i * 3 + 2] = pixels[j + 2];
    }
  } else {
    throw new RangeError(`encodeRgbPng: ${pixels.length} bytes is neither ${n * 3} (RGB) nor ${n * 4} (RGBA) for ${width}×${height}.`);
  }
  return encode({ width, height, data: rgb, depth: 8, channels: 3, text });
}

/** Encodes depth codes as a 16-bit greyscale PNG. */
export function encodeDepth16Png(width: number, height: number, depth16: Uint16Array): Uint8Array {
  checkSize(width, height);
  if (depth16.length !== width * height) {
    throw new RangeError(`encodeDepth16Png: ${depth16.length} values for ${width}×${height}.`);
  }
  return encode({ width, height, data: depth16, depth: 16, channels: 1 });
}

/** Small RGB PNG for gallery lists, box-filtered from RGB or RGBA pixels. */
export function encodeThumbnailPng(
  width: number,
  height: number,
  pixels: Uint8Array | Uint8ClampedArray,
  maxWidth = 256,
): { bytes: Uint8Array; width: number; height: number } {
  checkSize(width, height);
  const channels = pixels.length / (width * height);
  if (channels !== 3 && channels !== 4) throw new RangeError('encodeThumbnailPng: expected RGB or RGBA pixels.');
  const tw = Math.max(1, Math.min(maxWidth, width));
  const th = Math.max(1, Math.round((height * tw) / width));
  const out = new Uint8Array(tw * th * 3);
  for (let ty = 0; ty < th; ty++) {
    const y0 = Math.floor((ty * height) / th);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / th));
    for (let tx = 0; tx < tw; tx++) {
      const x0 = Math.floor((tx * width) / tw);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / tw));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const s = (y * width + x) * channels;
          r += pixels[s];
          g += pixels[s + 1];
          b += pixels[s + 2];
        }
      }
      const count = (y1 - y0) * (x1 - x0);
      const d = (ty * tw + tx) * 3;
      out[d] = Math.round(r / count);
      out[d + 1] = Math.round(g / count);
      out[d + 2] = Math.round(b / count);
    }
  }
  return { bytes: encodeRgbPng(tw, th, out), width: tw, height: th };
}

/** PNG decoded to 8-bit RGBA (what three textures and RGBDPanorama take). */
export interface DecodedRgba {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
  readonly text: Record<string, string>;
}

/**
 * Decodes any PNG colour type (grey, grey+alpha, RGB, RGBA, palette; 1–16 bits) to RGBA8.
 * 16-bit samples keep their high byte, which is how 16-bit sRGB maps to 8-bit.
 */
export function decodeRgbPng(bytes: Uint8Array, fileName = 'the image'): DecodedRgba {
  const png = decodePngChecked(bytes, fileName);
  const n = png.width * png.height;
  let data = png.data;
  let channels = png.channels;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    channels = png.palette[0].length;
  } else if (png.depth < 8) {
    throw new ImageFormatError(`${fileName} is a ${png.depth}-bit greyscale PNG; only 8- and 16-bit images are supported.`);
  }
  const shift = png.depth === 16 && !png.palette ? 8 : 0;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const d = i * 4;
    if (channels >= 3) {
      rgba[d] = data[s] >> shift;
      rgba[d + 1] = data[s + 1] >> shift;
      rgba[d + 2] = data[s + 2] >> shift;
      rgba[d + 3] = channels === 4 ? data[s + 3] >> shift : 255;
    } else {
      const g = data[s] >> shift;
      rgba[d] = g;
      rgba[d + 1] = g;
      rgba[d + 2] = g;
      rgba[d + 3] = channels === 2 ? data[s + 1] >> shift : 255;
    }
  }
  return { width: png.width, height: png.height, rgba, text: png.text };
}

export interface DecodedDepth {
  readonly width: number;
  readonly height: number;
  /** 16-bit codes; 8-bit files are widened with v·257 so 255 stays "nearest" (65535). */
  readonly depth16: Uint16Array;
  /** Bits per sample of the file: 16 keeps full precision, 8 means the file had only 256 levels. */
  readonly bitDepth: 8 | 16;
}

/**
 * Decodes a depth PNG. Accepts 16-bit (the format we write) or 8-bit greyscale, with or without
 * alpha, and RGB(A) files whose three colour channels are equal (greyscale saved as colour).
 */
export function decodeDepthPng(bytes: Uint8Array, fileName = 'the depth image'): DecodedDepth {
  const png = decodePngChecked(bytes, fileName);
  if (png.palette || (png.depth !== 8 && png.depth !== 16)) {
    throw new ImageFormatError(
      `${fileName} is a ${png.palette ? 'palette' : `${png.depth}-bit`} PNG; a depth map must be 16-bit (or 8-bit) greyscale.`,
    );
  }
  const n = png.width * png.height;
  const c = png.channels;
  const data = png.data;
  const depth16 = new Uint16Array(n);
  const widen = png.depth === 8 ? 257 : 1;
  for (let i = 0; i < n; i++) {
    const s = i * c;
    const v = data[s];
    if (c >= 3 && (data[s + 1] !== v || data[s + 2] !== v)) {
      throw new ImageFormatError(
        `${fileName} is a colour image (pixel ${i % png.width},${Math.floor(i / png.width)} is not grey); a depth map must be greyscale.`,
      );
    }
    depth16[i] = v * widen;
  }
  return { width: png.width, height: png.height, depth16, bitDepth: png.depth };
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && hasPngSignature(bytes);
}

/**
 * tEXt is Latin-1 only: escape everything outside printable ASCII as JSON \uXXXX so a prompt in
 * any script survives a PNG text chunk (JSON.parse undoes it).
 */
export function escapeToAscii(json: string): string {
  return json.replace(/[^\x20-\x7e\n]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

function decodePngChecked(bytes: Uint8Array, fileName: string): DecodedPng {
  if (!isPng(bytes)) throw new ImageFormatError(`${fileName} is not a PNG file.`);
  try {
    return decode(bytes, { checkCrc: true });
  } catch (e) {
    throw new ImageFormatError(`${fileName} is a damaged PNG (${(e as Error).message}).`);
  }
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Image size must be positive integers, got ${width}×${height}.`);
  }
}
