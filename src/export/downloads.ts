/**
 * The four downloads of a scene (RGB PNG, 16-bit depth PNG, GLB, metadata JSON) as bytes with a
 * file name and MIME type. The UI only hands them to the browser; everything here runs in Node.
 *
 * The GLB and the JSON use the depth mapping in effect when exporting (what the user sees), so
 * the mesh in the file matches the one in the headset; the PNGs do not depend on it.
 */
import type { DepthMapping, RGBDPanorama } from '../panorama/types';
import { stringifyMetadata, type SceneMetadata } from './metadata';
import { FILE_SUFFIX, sceneFileBase } from './scene-files';

export type ExportKind = 'rgb' | 'depth' | 'glb' | 'metadata';

export const EXPORT_KINDS: readonly { readonly kind: ExportKind; readonly label: string }[] = [
  { kind: 'rgb', label: 'RGB PNG' },
  { kind: 'depth', label: 'Depth PNG (16-bit)' },
  { kind: 'glb', label: 'GLB mesh' },
  { kind: 'metadata', label: 'Metadata JSON' },
];

export interface ExportSource {
  readonly panorama: RGBDPanorama;
  readonly metadata: SceneMetadata;
  readonly files: { readonly rgbPng: Uint8Array; readonly depthPng: Uint8Array };
  /** Mapping to build the GLB with and to record; defaults to the scene's own. */
  readonly depthMapping?: DepthMapping;
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
    case 'glb': {
      // Loaded on first use: three's GLTFExporter is only needed when someone exports a mesh.
      const { exportSceneGlb } = await import('./glb');
      const { glb } = await exportSceneGlb({
        panorama: src.panorama,
        depthMapping: metadata.depthMapping,
        rgbPng: src.files.rgbPng,
        depthPng: src.files.depthPng,
        metadata,
      });
      return { name: base + FILE_SUFFIX.glb, mimeType: 'model/gltf-binary', bytes: new Uint8Array(glb) };
    }
  }
}
