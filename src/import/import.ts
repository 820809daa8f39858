/**
 * Import of exported scenes: either one .glb written by `exportSceneGlb`, or an RGB image plus a
 * depth PNG, optionally with the metadata JSON. Files are recognised by content (magic bytes) and
 * then by name, so renamed downloads still work. Everything else gets an ImportError whose message
 * says what was expected; nothing is half imported.
 *
 * @example
 *   const files = await Promise.all([...input.files].map(readImportFile));
 *   const scene = await importSceneFiles(files);
 *   sceneState.showPanorama(scene.panorama, scene.metadata?.prompt ?? files[0].name);
 */
import type { RGBDPanorama } from '../panorama/types';
import { decodeImageInBrowser } from '../export/browser-image';
import { checkImageHeader, DEFAULT_IMAGE_LIMITS, ImageHeaderError, type ImageLimits } from '../panorama/image-header';
import { GlbFormatError, isGlb, readSceneGlb } from './glb-read';
import { MetadataError, parseMetadata, type SceneMetadata } from '../export/metadata';
import {
  decodeDepthPng,
  decodeRgbPng,
  ImageFormatError,
  isPng,
  PNG_METADATA_KEYWORD,
  uint16ToDepth,
  encodeDepth16Png,
  encodeRgbPng,
  type DecodedRgba,
} from '../export/png';

export interface ImportFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ImportedScene {
  readonly panorama: RGBDPanorama;
  /** From the metadata JSON, the GLB or the RGB PNG's text chunk; null if none came with it. */
  readonly metadata: SceneMetadata | null;
  /** Canonical files for storage and re-export (the GLB's or the PNG inputs', re-encoded if not ours). */
  readonly rgbPng: Uint8Array;
  readonly depthPng: Uint8Array;
  readonly source: 'glb' | 'images';
  /** Things the user should know, e.g. "the depth PNG was 8-bit". */
  readonly notes: readonly string[];
}

export class ImportError extends Error {
  override readonly name = 'ImportError';
}

/** Decodes non-PNG colour images (JPEG, WebP); the default uses the browser. */
export type ImageDecoder = (bytes: Uint8Array, mimeType: string, fileName: string) => Promise<DecodedRgba>;

const EXPECTED =
  'Import takes a .glb exported by LDM3D-XR, or an RGB image with its depth PNG (and optionally the .metadata.json).';

type Kind = 'glb' | 'png' | 'jpeg' | 'webp' | 'json';

function sniff(file: ImportFile): Kind | null {
  const b = file.bytes;
  if (isGlb(b)) return 'glb';
  if (isPng(b)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  const first = b.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xef && c !== 0xbb && c !== 0xbf);
  if (/\.json$/i.test(file.name) || first === 0x7b /* { */) return 'json';
  return null;
}

/**
 * `limits` is checked against every image's header (the GLB's embedded PNGs too) before any of
 * them is decoded, so a huge or lying file is refused instead of exhausting memory.
 */
export async function importSceneFiles(
  files: readonly ImportFile[],
  decodeOther: ImageDecoder = decodeImageInBrowser,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<ImportedScene> {
  if (files.length === 0) throw new ImportError(`No files were given. ${EXPECTED}`);
  const kinds = files.map((f) => ({ file: f, kind: sniff(f) }));
  const unknown = kinds.find((k) => k.kind === null);
  if (unknown) throw new ImportError(`${unknown.file.name} is not a file LDM3D-XR can import. ${EXPECTED}`);
  try {
    const glbs = kinds.filter((k) => k.kind === 'glb');
    if (glbs.length > 0) {
      if (files.length > 1) {
        throw new ImportError(`Import a .glb on its own (got ${files.length} files: ${names(files)}).`);
      }
      return fromGlb(glbs[0].file, limits);
    }
    return await fromImages(kinds as { file: ImportFile; kind: Exclude<Kind, 'glb'> }[], decodeOther, limits);
  } catch (e) {
    if (e instanceof GlbFormatError || e instanceof ImageFormatError || e instanceof MetadataError || e instanceof ImageHeaderError) {
      throw new ImportError(e.message, { cause: e });
    }
    throw e;
  }
}

function fromGlb(file: ImportFile, limits: ImageLimits): ImportedScene {
  const { rgbPng, depthPng, metadata } = readSceneGlb(file.bytes, file.name);
  checkImageHeader(rgbPng, `${file.name} (RGB)`, limits);
  checkImageHeader(depthPng, `${file.name} (depth)`, limits);
  const rgb = decodeRgbPng(rgbPng, `${file.name} (RGB)`);
  const depth = decodeDepthPng(depthPng, `${file.name} (depth)`);
  checkSizes(rgb, depth, file.name, file.name);
  checkMetadataSize(metadata, rgb.width, rgb.height, file.name);
  return {
    panorama: { width: rgb.width, height: rgb.height, rgba: rgb.rgba, depth: uint16ToDepth(depth.depth16) },
    metadata,
    rgbPng,
    depthPng,
    source: 'glb',
    notes: [],
  };
}

async function fromImages(
  kinds: { file: ImportFile; kind: Exclude<Kind, 'glb'> }[],
  decodeOther: ImageDecoder,
  limits: ImageLimits,
): Promise<ImportedScene> {
  const jsons = kinds.filter((k) => k.kind === 'json');
  const images = kinds.filter((k) => k.kind !== 'json');
  if (jsons.length > 1) throw new ImportError(`Import one metadata file at a time (got ${names(jsons.map((j) => j.file))}).`);
  if (images.length !== 2) {
    throw new ImportError(
      images.length < 2
        ? `An RGB image and its depth PNG are both needed (got ${images.length === 0 ? 'no image' : images[0].file.name} only). ${EXPECTED}`
        : `Too many images (${names(images.map((i) => i.file))}): import one RGB image and one depth PNG.`,
    );
  }
  const [rgbEntry, depthEntry] = pickDepth(images);
  if (depthEntry.kind !== 'png') {
    throw new ImportError(
      `${depthEntry.file.name} looks like the depth map but is ${depthEntry.kind.toUpperCase()}: depth must be a PNG (lossy formats corrupt depth).`,
    );
  }
  // Both sizes from the headers before either image is decoded.
  checkImageHeader(rgbEntry.file.bytes, rgbEntry.file.name, limits);
  checkImageHeader(depthEntry.file.bytes, depthEntry.file.name, limits);
  const notes: string[] = [];
  const rgb =
    rgbEntry.kind === 'png'
      ? decodeRgbPng(rgbEntry.file.bytes, rgbEntry.file.name)
      : await decodeOther(rgbEntry.file.bytes, `image/${rgbEntry.kind}`, rgbEntry.file.name);
  const depth = decodeDepthPng(depthEntry.file.bytes, depthEntry.file.name);
  if (depth.bitDepth === 8) notes.push(`${depthEntry.file.name} is 8-bit: depth has 256 levels instead of 65,536.`);
  checkSizes(rgb, depth, rgbEntry.file.name, depthEntry.file.name);

  let metadata: SceneMetadata | null = null;
  if (jsons.length === 1) {
    metadata = parseMetadata(new TextDecoder().decode(jsons[0].file.bytes));
  } else if (rgb.text[PNG_METADATA_KEYWORD]) {
    try {
      metadata = parseMetadata(rgb.text[PNG_METADATA_KEYWORD]);
    } catch {
      // A damaged text chunk must not block importing the pixels.
      notes.push(`${rgbEntry.file.name} carries metadata that could not be read; it was ignored.`);
    }
  }
  if (metadata) checkMetadataSize(metadata, rgb.width, rgb.height, jsons[0]?.file.name ?? rgbEntry.file.name);

  // Keep our own files byte for byte; re-encode anything else into the canonical formats.
  const ours = (k: (typeof kinds)[number], channels: number, bitDepth: number) =>
    k.kind === 'png' && pngFormat(k.file.bytes, channels, bitDepth);
  return {
    panorama: { width: rgb.width, height: rgb.height, rgba: rgb.rgba, depth: uint16ToDepth(depth.depth16) },
    metadata,
    rgbPng: ours(rgbEntry, 3, 8) ? rgbEntry.file.bytes : encodeRgbPng(rgb.width, rgb.height, rgb.rgba),
    depthPng: ours(depthEntry, 1, 16) ? depthEntry.file.bytes : encodeDepth16Png(depth.width, depth.height, depth.depth16),
    source: 'images',
    notes,
  };
}

/** Which of two images is depth: by name first, then by format (16-bit or greyscale PNG). */
function pickDepth<T extends { file: ImportFile; kind: Kind }>(images: T[]): [rgb: T, depth: T] {
  const [a, b] = images;
  const named = images.filter((i) => /depth|disparity|(^|[-_.])d16([-_.]|$)/i.test(i.file.name));
  if (named.length === 1) return named[0] === a ? [b, a] : [a, b];
  const greyness = (i: T): number => {
    if (i.kind !== 'png') return 0;
    const h = pngHeader(i.file.bytes);
    if (!h) return 0;
    // 16-bit grey is certainly depth; 8-bit grey probably; colour is not.
    return h.colorType === 0 || h.colorType === 4 ? (h.bitDepth === 16 ? 2 : 1) : 0;
  };
  const ga = greyness(a);
  const gb = greyness(b);
  if (ga !== gb) return ga > gb ? [b, a] : [a, b];
  throw new ImportError(
    `Could not tell which of ${a.file.name} and ${b.file.name} is the depth map: put "depth" in its file name, or use a 16-bit greyscale PNG.`,
  );
}

function checkSizes(
  rgb: { width: number; height: number },
  depth: { width: number; height: number },
  rgbName: string,
  depthName: string,
): void {
  if (rgb.width !== depth.width || rgb.height !== depth.height) {
    throw new ImportError(
      `${rgbName} is ${rgb.width}×${rgb.height} but ${depthName} is ${depth.width}×${depth.height}: the RGB image and its depth map must be the same size.`,
    );
  }
  if (rgb.width !== 2 * rgb.height) {
    throw new ImportError(
      `${rgbName} is ${rgb.width}×${rgb.height}; a 360° equirectangular panorama is exactly twice as wide as it is high.`,
    );
  }
}

function checkMetadataSize(meta: SceneMetadata, width: number, height: number, name: string): void {
  if (meta.width !== width || meta.height !== height) {
    throw new ImportError(
      `${name} describes a ${meta.width}×${meta.height} scene but the images are ${width}×${height}: they do not belong together.`,
    );
  }
}

/** IHDR fields without decoding the image. */
function pngHeader(bytes: Uint8Array): { bitDepth: number; colorType: number } | null {
  if (!isPng(bytes) || bytes.length < 29 || ascii(bytes, 12, 16) !== 'IHDR') return null;
  return { bitDepth: bytes[24], colorType: bytes[25] };
}

function pngFormat(bytes: Uint8Array, channels: number, bitDepth: number): boolean {
  const h = pngHeader(bytes);
  const colorType = channels === 3 ? 2 : 0;
  if (!h || h.colorType !== colorType || h.bitDepth !== bitDepth) return false;
  // Interlaced files are legal but slower to decode everywhere; keep only plain ones.
  return bytes[28] === 0;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

function names(files: readonly ImportFile[]): string {
  return files.map((f) => f.name).join(', ');
}

/** Reads a browser File into an ImportFile. */
export async function readImportFile(file: Blob & { readonly name: string }): Promise<ImportFile> {
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}
