/**
 * The files of one scene, made once from a generation result (or an import) and reused for
 * storage, the gallery and every download, so nothing is encoded twice:
 * - `<base>-rgb.png`: 8-bit RGB, with the metadata JSON in a tEXt chunk (PNG_METADATA_KEYWORD), so
 *   the PNG alone still says what made it;
 * - `<base>-depth16.png`: 16-bit greyscale, floor(d·65535);
 * - `<base>.glb` (glb.ts) and `<base>.metadata.json` (metadata.ts);
 * - for a sharpened scene, `<base>-sharpened.png` and `<base>-sharpened-depth16.png`: the same two
 *   formats at the detail layer's size (sharpened.ts), made on export only;
 * - a thumbnail PNG for the gallery.
 *
 * Pure and DOM-free: it can run in a worker.
 */
import type { RGBDPanorama } from '../panorama/types';
import { knownSeed, stringifyMetadata, type SceneMetadata } from './metadata';
import {
  depthToUint16,
  encodeDepth16Png,
  encodeRgbPng,
  encodeThumbnailPng,
  escapeToAscii,
  PNG_METADATA_KEYWORD,
} from './png';

/**
 * A generation result as the pipeline hands it over: RGB 8-bit (3 channels) or RGBA, and depth as
 * floats in [0, 1] and/or the 16-bit codes (used as given when present, so they are not redone).
 */
export interface SceneImages {
  readonly width: number;
  readonly height: number;
  /** H·W·3 RGB or H·W·4 RGBA, row-major from the top-left, sRGB. */
  readonly rgb: Uint8Array | Uint8ClampedArray;
  /** Relative inverse depth in [0, 1], 1 = nearest. */
  readonly depth: Float32Array;
  /** floor(d·65535), if the producer already computed it. */
  readonly depth16?: Uint16Array;
}

export interface SceneFiles {
  readonly rgbPng: Uint8Array;
  readonly depthPng: Uint8Array;
  readonly thumbnail: { readonly mimeType: 'image/png' | 'image/jpeg'; readonly width: number; readonly height: number; readonly bytes: Uint8Array };
}

/** Width of gallery thumbnails in pixels (2:1 panoramas give 256 × 128, ~30–50 kB). */
export const THUMBNAIL_WIDTH = 256;

export function encodeSceneFiles(images: SceneImages, metadata: SceneMetadata): SceneFiles {
  const { width, height, rgb } = images;
  const n = width * height;
  if (images.depth.length !== n || (images.depth16 && images.depth16.length !== n)) {
    throw new RangeError(`Scene files: depth has ${images.depth.length} values for ${width}×${height} pixels.`);
  }
  const depth16 = images.depth16 ?? depthToUint16(images.depth);
  const text = { [PNG_METADATA_KEYWORD]: escapeToAscii(stringifyMetadata(metadata)) };
  return {
    rgbPng: encodeRgbPng(width, height, rgb, text),
    depthPng: encodeDepth16Png(width, height, depth16),
    thumbnail: { mimeType: 'image/png', ...encodeThumbnailPng(width, height, rgb, THUMBNAIL_WIDTH) },
  };
}

/**
 * The RGBDPanorama of a result: RGBA input is used in place (alpha forced to 255, panoramas are
 * opaque), RGB input is expanded.
 */
export function toPanorama(images: SceneImages): RGBDPanorama {
  const n = images.width * images.height;
  let rgba: Uint8ClampedArray;
  if (images.rgb.length === n * 4) {
    // The producer hands its pixels over (the worker transfers them): reuse, don't copy 2 MB.
    rgba =
      images.rgb instanceof Uint8ClampedArray
        ? images.rgb
        : new Uint8ClampedArray(images.rgb.buffer, images.rgb.byteOffset, images.rgb.length);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  } else if (images.rgb.length === n * 3) {
    rgba = new Uint8ClampedArray(n * 4);
    for (let i = 0; i < n; i++) {
      rgba[i * 4] = images.rgb[i * 3];
      rgba[i * 4 + 1] = images.rgb[i * 3 + 1];
      rgba[i * 4 + 2] = images.rgb[i * 3 + 2];
      rgba[i * 4 + 3] = 255;
    }
  } else {
    throw new RangeError(`Scene: ${images.rgb.length} colour bytes for ${images.width}×${images.height} pixels.`);
  }
  return { width: images.width, height: images.height, rgba, depth: images.depth };
}

/**
 * File names for downloads: "ldm3d-2026-05-04-1234-a-reading-room-with-tall" + suffix. Date and
 * seed make them unique enough to sort; the prompt slug makes them recognisable.
 */
export function sceneFileBase(meta: Pick<SceneMetadata, 'createdAt' | 'prompt' | 'settings' | 'modelId'>): string {
  const date = meta.createdAt.slice(0, 10).replace(/[^0-9-]/g, '') || 'scene';
  const slug = meta.prompt
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  // No seed part for a scene without one (not "undefined", not a placeholder 0).
  const seed = knownSeed(meta);
  return ['ldm3d', date, seed !== undefined ? String(seed) : '', slug].filter(Boolean).join('-');
}

export const FILE_SUFFIX = {
  rgb: '-rgb.png',
  depth: '-depth16.png',
  glb: '.glb',
  metadata: '.metadata.json',
  sharpenedRgb: '-sharpened.png',
  sharpenedDepth: '-sharpened-depth16.png',
} as const;
