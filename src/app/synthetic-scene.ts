/**
 * The synthetic test room the app opens on (no model needed), ray-cast once per session and kept:
 * its arrays are read-only and shared with the textures.
 */
import { renderSyntheticPanorama, type SyntheticPanorama } from '../panorama/synthetic';
import type { SceneMetadata } from '../export/metadata';
import { encodeSceneFiles, type SceneFiles } from '../export/scene-files';
import { importedMetadata } from '../storage/save-then-show';

/** 1024 × 512: the size LDM3D-pano produces, so the room exercises the real mesh density. */
export const SYNTHETIC_WIDTH = 1024;
export const SYNTHETIC_LABEL = 'Synthetic test room';

let cached: SyntheticPanorama | null = null;

export function syntheticPanorama(): SyntheticPanorama {
  cached ??= renderSyntheticPanorama(SYNTHETIC_WIDTH);
  return cached;
}

/** modelId recorded for the test room: no model made it. */
export const SYNTHETIC_MODEL_ID = 'synthetic-test-room';

/**
 * The room as an exportable scene (issue 14: every scene on screen can be exported): no prompt
 * beyond its name, no seed, 0 steps, its true near/far. Made once, like the pixels.
 */
export function syntheticMetadata(synthetic: SyntheticPanorama, createdAt = new Date().toISOString()): SceneMetadata {
  // The same "no generation behind these pixels" fields as an import, under the room's own model id.
  return { ...importedMetadata(SYNTHETIC_LABEL, synthetic.panorama, synthetic.mapping, createdAt), modelId: SYNTHETIC_MODEL_ID };
}

let cachedFiles: SceneFiles | null = null;

/** The room's PNGs, encoded on the first export and kept (the pixels never change). */
export function syntheticFiles(synthetic: SyntheticPanorama, metadata: SceneMetadata): SceneFiles {
  const { panorama } = synthetic;
  cachedFiles ??= encodeSceneFiles({ width: panorama.width, height: panorama.height, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  return cachedFiles;
}
