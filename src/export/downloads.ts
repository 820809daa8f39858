/**
 * The downloads of a scene (RGB PNG, 16-bit depth PNG, GLB, metadata JSON, and for a sharpened
 * scene the sharpened RGB and depth PNGs) as bytes with a file name and MIME type. The UI only
 * hands them to the browser; everything here runs in Node.
 *
 * The GLB and the JSON use the depth mapping in effect when exporting (what the user sees), so
 * the mesh in the file matches the one in the headset; the PNGs do not depend on it. With a detail
 * layer the GLB is the sharpened scene too (sharpened.ts): texture and vertices as drawn.
 */
import type { DetailLayer } from '../panorama/gnomonic';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';
import { stringifyMetadata, type SceneMetadata } from './metadata';
import { escapeToAscii, PNG_METADATA_KEYWORD } from './png';
import { FILE_SUFFIX, sceneFileBase } from './scene-files';
import { compositeSharpened, detailTexelCount, encodeSharpenedFiles, glbTexturePng, type SharpenedFiles, type SharpenedImages } from './sharpened';

export type ExportKind = 'rgb' | 'depth' | 'glb' | 'metadata' | 'sharpened-rgb' | 'sharpened-depth';

export interface ExportKindInfo {
  readonly kind: ExportKind;
  readonly label: string;
  /** Offered only for a scene with sharpened regions. */
  readonly needsDetail?: true;
}

export const EXPORT_KINDS: readonly ExportKindInfo[] = [
  { kind: 'rgb', label: 'RGB PNG' },
  { kind: 'depth', label: 'Depth PNG (16-bit)' },
  { kind: 'glb', label: 'GLB mesh' },
  { kind: 'metadata', label: 'Metadata JSON' },
  { kind: 'sharpened-rgb', label: 'Sharpened PNG', needsDetail: true },
  { kind: 'sharpened-depth', label: 'Sharpened depth PNG (16-bit)', needsDetail: true },
];

/** The kinds to offer: the sharpened ones only when the scene has a detail layer. */
export function exportKindsFor(hasDetail: boolean): readonly ExportKindInfo[] {
  return EXPORT_KINDS.filter((k) => hasDetail || !k.needsDetail);
}

export interface ExportSource {
  readonly panorama: RGBDPanorama;
  readonly metadata: SceneMetadata;
  readonly files: { readonly rgbPng: Uint8Array; readonly depthPng: Uint8Array };
  /** Mapping to build the GLB with and to record; defaults to the scene's own. */
  readonly depthMapping?: DepthMapping;
  /** The scene's detail layer as the viewer shows it (Sharpen), or null/absent: none. */
  readonly detail?: DetailLayer | null;
}

export class NothingSharpenedError extends Error {
  override readonly name = 'NothingSharpenedError';
}

export interface ExportFile {
  readonly name: string;
  readonly mimeType: string;
  readonly bytes: Uint8Array;
}

export async function makeExportFile(kind: ExportKind, src: ExportSource): Promise<ExportFile> {
  const base = sceneFileBase(src.metadata);
  const metadata: SceneMetadata = { ...src.metadata, depthMapping: src.depthMapping ?? src.metadata.depthMapping };
  switch (kind) {
    case 'rgb':
      return { name: base + FILE_SUFFIX.rgb, mimeType: 'image/png', bytes: src.files.rgbPng };
    case 'depth':
      return { name: base + FILE_SUFFIX.depth, mimeType: 'image/png', bytes: src.files.depthPng };
    case 'metadata':
      return {
        name: base + FILE_SUFFIX.metadata,
        mimeType: 'application/json',
        bytes: new TextEncoder().encode(stringifyMetadata(metadata)),
      };
    case 'sharpened-rgb':
    case 'sharpened-depth': {
      const sharp = sharpenedOf(src, metadata);
      if (sharp === null) {
        throw new NothingSharpenedError('This scene has no sharpened regions yet: use "Sharpen view" first, then export the sharpened files.');
      }
      return kind === 'sharpened-rgb'
        ? { name: base + FILE_SUFFIX.sharpenedRgb, mimeType: 'image/png', bytes: sharp.files.rgbPng }
        : { name: base + FILE_SUFFIX.sharpenedDepth, mimeType: 'image/png', bytes: sharp.files.depthPng };
    }
    case 'glb': {
      // Loaded on first use: three's GLTFExporter is only needed when someone exports a mesh.
      const { exportSceneGlb } = await import('./glb');
      const sharp = sharpenedOf(src, metadata);
      const { glb } = await exportSceneGlb({
        panorama: src.panorama,
        depthMapping: metadata.depthMapping,
        rgbPng: src.files.rgbPng,
        depthPng: src.files.depthPng,
        metadata,
        ...(sharp ? { texturePng: glbTexturePng(sharp.images, sharp.files.rgbPng).bytes, displacement: sharp.images } : {}),
      });
      return { name: base + FILE_SUFFIX.glb, mimeType: 'model/gltf-binary', bytes: new Uint8Array(glb) };
    }
  }
}

/**
 * The sharpened composite and its PNGs, or null when the scene has no detail with weight. The
 * RGB PNG carries the metadata like the base one, with the composite's size, so the pair imports
 * as a scene of that size.
 */
function sharpenedOf(src: ExportSource, metadata: SceneMetadata): { images: SharpenedImages; files: SharpenedFiles } | null {
  const layer = src.detail ?? null;
  if (layer === null || detailTexelCount(layer) === 0) return null;
  const images = compositeSharpened(src.panorama, layer);
  const text = { [PNG_METADATA_KEYWORD]: escapeToAscii(stringifyMetadata({ ...metadata, width: images.width, height: images.height })) };
  return { images, files: encodeSharpenedFiles(images, text) };
}
