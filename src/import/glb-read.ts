/**
 * Reads back a GLB written by `exportSceneGlb` (src/export/glb.ts): the embedded RGB PNG, 16-bit depth PNG and
 * metadata, found through `scenes[0].extras["ldm3d-xr"]`. A small GLB container parser with no
 * three.js dependency, so import does not pull the exporter into the page's main bundle.
 */
import { parseMetadata, type SceneMetadata } from '../export/metadata';

/** Key of our block in `scenes[0].extras`. */
export const GLB_EXTRAS_KEY = 'ldm3d-xr';

export class GlbFormatError extends Error {
  override readonly name = 'GlbFormatError';
}

export interface GlbSceneContents {
  readonly rgbPng: Uint8Array;
  readonly depthPng: Uint8Array;
  readonly metadata: SceneMetadata;
}

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

interface GltfJson {
  scenes?: { extras?: Record<string, unknown> }[];
  images?: { bufferView?: number; mimeType?: string }[];
  bufferViews?: { buffer: number; byteOffset?: number; byteLength: number }[];
}

/** True when the bytes start with the GLB magic. */
export function isGlb(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && new DataView(bytes.buffer, bytes.byteOffset, 12).getUint32(0, true) === GLB_MAGIC;
}

/**
 * Extracts the RGB PNG, the 16-bit depth PNG and the metadata from a GLB written by
 * `exportSceneGlb`. Any other GLB gets a GlbFormatError saying why it cannot be a scene.
 */
export function readSceneGlb(bytes: Uint8Array, fileName = 'the GLB file'): GlbSceneContents {
  if (!isGlb(bytes)) throw new GlbFormatError(`${fileName} is not a binary glTF (.glb) file.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  const length = view.getUint32(8, true);
  if (version !== 2) throw new GlbFormatError(`${fileName} is glTF version ${version}; only glTF 2.0 is supported.`);
  if (length > bytes.byteLength) throw new GlbFormatError(`${fileName} is cut off (${bytes.byteLength} of ${length} bytes).`);
  let json: GltfJson | null = null;
  let bin: Uint8Array | null = null;
  for (let offset = 12; offset + 8 <= length; ) {
    const chunkLength = view.getUint32(offset, true);
    const chunkType = view.getUint32(offset + 4, true);
    const start = offset + 8;
    if (start + chunkLength > length) throw new GlbFormatError(`${fileName} is damaged (a chunk runs past the end).`);
    const chunk = bytes.subarray(start, start + chunkLength);
    if (chunkType === CHUNK_JSON && json === null) {
      try {
        json = JSON.parse(new TextDecoder().decode(chunk)) as GltfJson;
      } catch (e) {
        throw new GlbFormatError(`${fileName} has a damaged JSON chunk (${(e as Error).message}).`);
      }
    } else if (chunkType === CHUNK_BIN && bin === null) {
      bin = chunk;
    }
    offset = start + chunkLength;
  }
  if (json === null) throw new GlbFormatError(`${fileName} has no JSON chunk.`);
  const ours = json.scenes?.[0]?.extras?.[GLB_EXTRAS_KEY] as
    | { metadata?: unknown; rgbImage?: unknown; depthImage?: unknown }
    | undefined;
  if (!ours || typeof ours !== 'object') {
    throw new GlbFormatError(
      `${fileName} was not exported by LDM3D-XR: it carries no panorama depth. Import the RGB and 16-bit depth PNGs instead.`,
    );
  }
  const image = (index: unknown, what: string): Uint8Array => {
    const img = typeof index === 'number' ? json!.images?.[index] : undefined;
    const bv = img?.bufferView !== undefined ? json!.bufferViews?.[img.bufferView] : undefined;
    if (!img || !bv || bv.buffer !== 0 || bin === null) {
      throw new GlbFormatError(`${fileName} is damaged: its ${what} image is missing.`);
    }
    const start = bv.byteOffset ?? 0;
    if (start + bv.byteLength > bin.byteLength) throw new GlbFormatError(`${fileName} is damaged: its ${what} image is cut off.`);
    return bin.slice(start, start + bv.byteLength);
  };
  return {
    rgbPng: image(ours.rgbImage, 'RGB'),
    depthPng: image(ours.depthImage, 'depth'),
    metadata: parseMetadata(ours.metadata),
  };
}
