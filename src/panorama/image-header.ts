/**
 * Image dimensions from the file header, before anything is decoded.
 *
 * Why: decoding a 100000 × 50000 image allocates 20 GB of RGBA before any size check can run, so a
 * crafted or simply huge file would take the tab down. The PNG IHDR chunk, the JPEG SOFn segment
 * and the WebP VP8/VP8L/VP8X chunk all state the size in the first bytes (a JPEG after its APPn
 * segments), so import reads them first and refuses what it could not show anyway.
 *
 * Pure functions on bytes (no DOM): shared by the panorama import (src/app/decode-image.ts) and
 * the scene import (src/import/import.ts).
 */

export type HeaderFormat = 'png' | 'jpeg' | 'webp';

export interface ImageHeader {
  readonly format: HeaderFormat;
  readonly width: number;
  readonly height: number;
}

/** The header could not be read; the message is for the user (it names the file). */
export class ImageHeaderError extends Error {
  override readonly name = 'ImageHeaderError';
}

/** What import accepts before decoding. */
export interface ImageLimits {
  /**
   * Longest side in pixels. Import downscales a panorama wider than the GPU's largest texture, so
   * this is that limit × IMPORT_TEXTURE_FACTOR: bigger files would be decoded only to throw most
   * of their pixels away.
   */
  readonly maxSide: number;
  /** Most pixels of one image: decoded RGBA8 is 4 bytes per pixel, kept twice during resizing. */
  readonly maxPixels: number;
}

/** How far past the GPU's texture limit an import may be (it is then downscaled by up to this). */
export const IMPORT_TEXTURE_FACTOR = 2;

/**
 * 2^26 pixels (e.g. 11585 × 5792, or 8192 × 8192 over-under): 256 MiB as RGBA8. A 60-megapixel
 * 360° camera still fits; a headset browser gives a page about 3 GB in all, and a resize holds two
 * copies besides the GPU upload.
 */
export const MAX_IMPORT_PIXELS = 2 ** 26;

/**
 * Without a known GPU (scene import from the gallery, tests): WebGPU's guaranteed
 * maxTextureDimension2D (8192) × the factor.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxSide: 8192 * IMPORT_TEXTURE_FACTOR, maxPixels: MAX_IMPORT_PIXELS };

export function importLimits(maxTextureSize: number): ImageLimits {
  return { maxSide: Math.max(2, Math.floor(maxTextureSize)) * IMPORT_TEXTURE_FACTOR, maxPixels: MAX_IMPORT_PIXELS };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function looksLikePng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

export function looksLikeJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

export function looksLikeWebp(b: Uint8Array): boolean {
  return b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP';
}

/**
 * The format and size the header states, or null when the bytes are none of PNG, JPEG or WebP.
 * Throws ImageHeaderError when the file is one of them but its header is cut short or malformed.
 */
export function readImageHeader(bytes: Uint8Array, name: string): ImageHeader | null {
  if (looksLikePng(bytes)) return pngHeader(bytes, name);
  if (looksLikeJpeg(bytes)) return jpegHeader(bytes, name);
  if (looksLikeWebp(bytes)) return webpHeader(bytes, name);
  return null;
}

/** Why an image of this size is refused (a sentence for the user), or null if it may be decoded. */
export function imageSizeProblem(header: ImageHeader, limits: ImageLimits, name: string): string | null {
  const { width, height } = header;
  const mp = (n: number): string => `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} megapixels`;
  if (width > limits.maxSide || height > limits.maxSide) {
    return (
      `"${name}" is ${width} × ${height} pixels; this device can show at most ${limits.maxSide} pixels on a side ` +
      `(its GPU's largest texture × ${IMPORT_TEXTURE_FACTOR}). It was not opened: scale it down first.`
    );
  }
  if (width * height > limits.maxPixels) {
    return `"${name}" is ${width} × ${height} pixels (${mp(width * height)}); import takes at most ${mp(limits.maxPixels)}. It was not opened: scale it down first.`;
  }
  return null;
}

/** Reads the header and applies the limits; throws ImageHeaderError with the reason. */
export function checkImageHeader(bytes: Uint8Array, name: string, limits: ImageLimits): ImageHeader | null {
  const header = readImageHeader(bytes, name);
  if (header) {
    const problem = imageSizeProblem(header, limits, name);
    if (problem) throw new ImageHeaderError(problem);
  }
  return header;
}

function truncated(name: string, format: string): ImageHeaderError {
  return new ImageHeaderError(`"${name}" is cut short: its ${format} header ends before the image size. The file is damaged or incomplete.`);
}

function pngHeader(b: Uint8Array, name: string): ImageHeader {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4): the size ends at byte 24.
  if (b.length < 24) throw truncated(name, 'PNG');
  if (ascii(b, 12, 16) !== 'IHDR') throw new ImageHeaderError(`"${name}" is not a valid PNG: its first chunk is not IHDR.`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  if (width === 0 || height === 0) throw new ImageHeaderError(`"${name}" is not a valid PNG: it states a size of ${width} × ${height}.`);
  return { format: 'png', width, height };
}

/** Start-of-frame markers carry the size: C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(b: Uint8Array, name: string): ImageHeader {
  // Walk the segments after SOI; APPn (EXIF, ICC, XMP) may take tens of kilobytes before the frame.
  let i = 2;
  for (;;) {
    while (i < b.length && b[i] !== 0xff) i++; // tolerate junk between segments, as decoders do
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    if (i >= b.length) throw truncated(name, 'JPEG');
    const marker = b[i++];
    // Markers without a length: TEM, RSTn.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      // End of image or start of scan before any frame header: nothing says how big the picture is.
      throw new ImageHeaderError(`"${name}" is not a valid JPEG: it has no frame header (SOF) before its image data.`);
    }
    if (i + 2 > b.length) throw truncated(name, 'JPEG');
    const length = (b[i] << 8) | b[i + 1];
    if (length < 2) throw new ImageHeaderError(`"${name}" is not a valid JPEG: a segment states a length of ${length}.`);
    if (isSof(marker)) {
      // length (2), precision (1), height (2), width (2)
      if (i + 7 > b.length) throw truncated(name, 'JPEG');
      const height = (b[i + 3] << 8) | b[i + 4];
      const width = (b[i + 5] << 8) | b[i + 6];
      // A height of 0 means "defined later by a DNL marker" (JPEG allows it; no browser does).
      if (width === 0 || height === 0) throw new ImageHeaderError(`"${name}" is not a JPEG this app can read: it states a size of ${width} × ${height}.`);
      return { format: 'jpeg', width, height };
    }
    i += length;
  }
}

function webpHeader(b: Uint8Array, name: string): ImageHeader {
  if (b.length < 16) throw truncated(name, 'WebP');
  const chunk = ascii(b, 12, 16);
  const at = (o: number): number => {
    if (o >= b.length) throw truncated(name, 'WebP');
    return b[o];
  };
  const u24 = (o: number): number => at(o) | (at(o + 1) << 8) | (at(o + 2) << 16);
  if (chunk === 'VP8X') return { format: 'webp', width: u24(24) + 1, height: u24(27) + 1 };
  if (chunk === 'VP8L') {
    // Signature 0x2f, then 14 bits width − 1 and 14 bits height − 1, little-endian.
    if (at(20) !== 0x2f) throw new ImageHeaderError(`"${name}" is not a valid WebP: bad lossless signature.`);
    const bits = at(21) | (at(22) << 8) | (at(23) << 16) | (at(24) << 24);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ') {
    // Frame tag (3), start code 9d 01 2a, then 14-bit width and height (2 bits of scale above).
    if (at(23) !== 0x9d || at(24) !== 0x01 || at(25) !== 0x2a) throw new ImageHeaderError(`"${name}" is not a valid WebP: bad frame start code.`);
    return { format: 'webp', width: (at(26) | (at(27) << 8)) & 0x3fff, height: (at(28) | (at(29) << 8)) & 0x3fff };
  }
  throw new ImageHeaderError(`"${name}" is not a WebP this app can read (first chunk "${chunk}").`);
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
