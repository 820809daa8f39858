/**
 * The import flow: files → decoded images → which is colour and which is depth → the panorama
 * module's `preparePanorama` (validation, over-under split, resizing) → a panorama plus messages.
 * Never throws for bad input and never touches the scene: the caller shows the panorama only when
 * there is one, so a bad file keeps the current scene.
 */
import { preparePanorama, type ImportMessage } from '../panorama/image-validation';
import type { RGBDPanorama } from '../panorama/types';
import { decodeImageFile, ImportError, type NamedImage } from './decode-image';
import { importLimits, type ImageLimits } from '../panorama/image-header';

export interface ImportResult {
  readonly panorama: RGBDPanorama | null;
  /** What to tell the user: errors (nothing was imported) and notices (something was fixed). */
  readonly messages: readonly ImportMessage[];
  /** A label for the panel: file name(s). */
  readonly label: string;
}

// "depth", "disp(arity)", or a trailing "_d"/"-d" (not any lone d: "3d_room" is colour).
const DEPTH_NAME = /(depth|disp)|[_-]d$/i;

/** True when a file name says it holds depth ("room_depth.png", "pano-d.png", "disp.png"). */
export function looksLikeDepthName(name: string): boolean {
  const stem = name.replace(/\.[a-z0-9]+$/i, '');
  return DEPTH_NAME.test(stem);
}

/** Greyscale (1–2 channels) or more than 8 bits per sample: what depth maps are saved as. */
function looksLikeDepthPixels(img: NamedImage): boolean {
  return img.channels <= 2 || img.bitDepth > 8;
}

/**
 * Which of two images is the depth map: the name says so, else the pixels (grey or 16-bit while
 * the other is colour), else the order (colour first, as the file picker lists them).
 */
export function pickDepth(a: NamedImage, b: NamedImage): { rgb: NamedImage; depth: NamedImage } {
  const na = looksLikeDepthName(a.name);
  const nb = looksLikeDepthName(b.name);
  if (na !== nb) return na ? { rgb: b, depth: a } : { rgb: a, depth: b };
  const pa = looksLikeDepthPixels(a);
  const pb = looksLikeDepthPixels(b);
  if (pa !== pb) return pa ? { rgb: b, depth: a } : { rgb: a, depth: b };
  return { rgb: a, depth: b };
}

const error = (message: string): ImportMessage => ({ severity: 'error', code: 'bad-samples', message });

/** Decodes one file; must refuse, before decoding, an image beyond `limits` (decodeImageFile does). */
export type Decoder = (file: File, limits: ImageLimits) => Promise<NamedImage>;

export async function importPanoramaFiles(
  files: readonly File[],
  maxTextureSize: number,
  decode: Decoder = decodeImageFile,
): Promise<ImportResult> {
  const label = files.map((f) => f.name).join(' + ');
  if (files.length === 0) return { panorama: null, messages: [], label };
  if (files.length > 2) {
    return {
      panorama: null,
      messages: [error(`${files.length} files were given. Choose one over-under image, or two files: a colour panorama and its depth map.`)],
      label,
    };
  }
  let images: NamedImage[];
  try {
    // The GPU's limit is known here; the header check refuses a huge image before it is decoded.
    const limits = importLimits(maxTextureSize);
    images = await Promise.all(files.map((f) => decode(f, limits)));
  } catch (e) {
    if (e instanceof ImportError) return { panorama: null, messages: [error(e.message)], label };
    throw e;
  }
  let rgb: NamedImage;
  let depth: NamedImage | null = null;
  if (images.length === 1) {
    rgb = images[0];
  } else {
    ({ rgb, depth } = pickDepth(images[0], images[1]));
  }
  const { panorama, messages } = preparePanorama(rgb, depth, maxTextureSize);
  return { panorama, messages, label: depth ? `${rgb.name} + ${depth.name}` : rgb.name };
}
