/**
 * A sharpened scene as files: the base panorama upsampled to the detail layer's size with the
 * layer composited over it by its weight, i.e. what the viewer draws, baked into plain images.
 *
 * The composite follows the viewer's shaders (shaders/panorama.frag.glsl, panorama.vert.glsl), so
 * the files show what the headset shows:
 * - Colour: the base is filtered bilinearly in linear light (the hardware decodes the sRGB texture
 *   before filtering; u wraps around the seam, v clamps at the poles); the layer's premultiplied
 *   colour is un-premultiplied (rgb / alpha), decoded from sRGB, mixed by its weight in linear
 *   light, and the result is encoded back to 8-bit sRGB. Where the weight is 0 the pixel is the
 *   upsampled base; where it is 1, exactly the layer's colour.
 * - Depth: relative inverse depth d ∈ [0, 1] like the base (depth-mapping.ts), never filtered:
 *   each pixel takes the base texel it lies in (the vertex shader's nearest rule, so no made-up
 *   depths float between a foreground edge and the wall behind it), mixed with the layer's depth by
 *   the same weight and clamped, then written with the base's own 16-bit code floor(d·65535).
 *
 * Pure and DOM-free; a 4096 × 2048 composite takes about a second of CPU.
 */
import type { DetailLayer } from '../panorama/gnomonic';
import type { RGBDPanorama } from '../panorama/types';
import { clampUnit } from '../panorama/depth-mapping';
import { depthToUint16, encodeDepth16Png, encodeRgbPng, encodeThumbnailPng } from './png';

/** The composite at the layer's resolution. */
export interface SharpenedImages {
  readonly width: number;
  readonly height: number;
  /** width·height·3 sRGB bytes, row-major from the top-left. */
  readonly rgb: Uint8Array;
  /** width·height relative inverse depth in [0, 1], 1 = nearest. */
  readonly depth: Float32Array;
}

/**
 * Widest texture the GLB carries: 4096 × 2048 is what every current headset and desktop GPU
 * accepts as one texture (WebGL's MAX_TEXTURE_SIZE is ≥ 4096 on all of them), and the detail
 * layer's own default size, so it is normally used as it is.
 */
export const MAX_GLB_TEXTURE_WIDTH = 4096;

/** sRGB byte → linear, as the GPU's SRGB8_ALPHA8 decode. */
const SRGB_TO_LINEAR = new Float32Array(256);
/** Linear value at which encoding rounds up to byte b + 1 (b = 0…254), for exact rounding. */
const LINEAR_THRESHOLDS = new Float64Array(256);
/**
 * Byte for linear values in [i/LUT_SIZE, (i+1)/LUT_SIZE): the smallest candidate, corrected by at
 * most one threshold comparison (bytes are ≥ 3e-4 apart in linear light, the bins 1.5e-5 wide).
 */
const LUT_SIZE = 65536;
const LINEAR_TO_BYTE = new Uint8Array(LUT_SIZE + 1);
for (let b = 0; b < 256; b++) SRGB_TO_LINEAR[b] = decodeSrgb(b / 255);
for (let b = 0; b < 255; b++) LINEAR_THRESHOLDS[b] = decodeSrgb((b + 0.5) / 255);
LINEAR_THRESHOLDS[255] = Infinity;
for (let i = 0, b = 0; i <= LUT_SIZE; i++) {
  while (i / LUT_SIZE >= LINEAR_THRESHOLDS[b]) b++;
  LINEAR_TO_BYTE[i] = b;
}

function decodeSrgb(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

/** Linear → the sRGB byte nearest to its encoding (exact: the same as rounding the encode formula). */
export function linearToSrgbByte(linear: number): number {
  if (!(linear > 0)) return 0;
  if (linear >= 1) return 255;
  let b = LINEAR_TO_BYTE[Math.floor(linear * LUT_SIZE)];
  while (linear >= LINEAR_THRESHOLDS[b]) b++;
  return b;
}

/** Texels with weight > 0. Where none, there is nothing to export beyond the base files. */
export function detailTexelCount(layer: DetailLayer): number {
  let n = 0;
  const { rgba } = layer;
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) n++;
  return n;
}

/**
 * Composites `layer` over `panorama` at the layer's size. The layer must be 2:1 like every
 * panorama; it is normally larger than the base (4096 × 2048 over 1024 × 512).
 */
export function compositeSharpened(panorama: RGBDPanorama, layer: DetailLayer): SharpenedImages {
  const { width: w, height: h } = panorama;
  const { width: W, height: H } = layer;
  if (panorama.rgba.length !== w * h * 4 || panorama.depth.length !== w * h) {
    throw new RangeError(`Sharpened export: the panorama's arrays do not match its size ${w} × ${h}.`);
  }
  if (layer.rgba.length !== W * H * 4 || layer.depth.length !== W * H) {
    throw new RangeError(`Sharpened export: the detail layer's arrays do not match its size ${W} × ${H}.`);
  }
  if (W !== 2 * H || w !== 2 * h) {
    throw new RangeError(`Sharpened export: panorama ${w} × ${h} and detail layer ${W} × ${H} must both be 2:1.`);
  }

  // The base in linear light once (w·h·3 floats), instead of four decodes per output pixel.
  const lin = new Float32Array(w * h * 3);
  for (let i = 0, j = 0; i < w * h; i++, j += 4) {
    lin[i * 3] = SRGB_TO_LINEAR[panorama.rgba[j]];
    lin[i * 3 + 1] = SRGB_TO_LINEAR[panorama.rgba[j + 1]];
    lin[i * 3 + 2] = SRGB_TO_LINEAR[panorama.rgba[j + 2]];
  }
  // Bilinear taps per output column and row (pixel centres; u wraps, v clamps), and the base
  // texel each output pixel lies in (nearest, for depth).
  const x0 = new Int32Array(W);
  const x1 = new Int32Array(W);
  const fx = new Float32Array(W);
  const nx = new Int32Array(W);
  for (let x = 0; x < W; x++) {
    const s = ((x + 0.5) * w) / W - 0.5;
    const f = Math.floor(s);
    fx[x] = s - f;
    x0[x] = ((f % w) + w) % w;
    x1[x] = (x0[x] + 1) % w;
    nx[x] = Math.min(w - 1, Math.floor(((2 * x + 1) * w) / (2 * W)));
  }
  const rgb = new Uint8Array(W * H * 3);
  const depth = new Float32Array(W * H);
  const src = layer.rgba;
  for (let y = 0; y < H; y++) {
    const s = ((y + 0.5) * h) / H - 0.5;
    const f = Math.floor(s);
    const fy = s - f;
    const r0 = Math.min(h - 1, Math.max(0, f)) * w;
    const r1 = Math.min(h - 1, Math.max(0, f + 1)) * w;
    const rn = Math.min(h - 1, Math.floor(((2 * y + 1) * h) / (2 * H))) * w;
    for (let x = 0; x < W; x++) {
      const t = y * W + x;
      const o = t * 3;
      const alpha = src[t * 4 + 3];
      const base = panorama.depth[rn + nx[x]];
      if (alpha === 255) {
        // Weight 1: the layer alone (premultiplied by 1 is the colour itself).
        rgb[o] = src[t * 4];
        rgb[o + 1] = src[t * 4 + 1];
        rgb[o + 2] = src[t * 4 + 2];
        depth[t] = clampUnit(layer.depth[t]);
        continue;
      }
      const a = alpha / 255;
      const gx = fx[x];
      const i00 = (r0 + x0[x]) * 3;
      const i01 = (r0 + x1[x]) * 3;
      const i10 = (r1 + x0[x]) * 3;
      const i11 = (r1 + x1[x]) * 3;
      for (let c = 0; c < 3; c++) {
        const top = lin[i00 + c] + (lin[i01 + c] - lin[i00 + c]) * gx;
        const bottom = lin[i10 + c] + (lin[i11 + c] - lin[i10 + c]) * gx;
        let v = top + (bottom - top) * fy;
        if (alpha !== 0) {
          // Un-premultiply, then decode: the fragment shader's order.
          const detail = decodeSrgb(Math.min(1, src[t * 4 + c] / alpha));
          v = v * (1 - a) + detail * a;
        }
        rgb[o + c] = linearToSrgbByte(v);
      }
      depth[t] = alpha === 0 ? clampUnit(base) : clampUnit(base * (1 - a) + layer.depth[t] * a);
    }
  }
  return { width: W, height: H, rgb, depth };
}

/** The composite as the two PNGs, encoded like the base files (png.ts). */
export interface SharpenedFiles {
  readonly width: number;
  readonly height: number;
  /** 8-bit RGB PNG (with `text` chunks when given). */
  readonly rgbPng: Uint8Array;
  /** 16-bit greyscale PNG, floor(d·65535) like the base depth PNG. */
  readonly depthPng: Uint8Array;
}

export function encodeSharpenedFiles(images: SharpenedImages, text?: Record<string, string>): SharpenedFiles {
  return {
    width: images.width,
    height: images.height,
    rgbPng: encodeRgbPng(images.width, images.height, images.rgb, text),
    depthPng: encodeDepth16Png(images.width, images.height, depthToUint16(images.depth)),
  };
}

/**
 * The texture the GLB carries: the sharpened PNG itself when it is at most `maxWidth` wide,
 * otherwise a box-filtered copy `maxWidth` wide (as gallery thumbnails are made).
 */
export function glbTexturePng(images: SharpenedImages, rgbPng: Uint8Array, maxWidth = MAX_GLB_TEXTURE_WIDTH): { bytes: Uint8Array; width: number; height: number } {
  if (images.width <= maxWidth) return { bytes: rgbPng, width: images.width, height: images.height };
  return encodeThumbnailPng(images.width, images.height, images.rgb, maxWidth);
}
