/**
 * The synthetic test room the app opens on (no model needed), ray-cast once per session and kept:
 * its arrays are read-only and shared with the textures.
 */
import { renderSyntheticPanorama, type SyntheticPanorama } from '../panorama/synthetic';

/** 1024 × 512: the size LDM3D-pano produces, so the room exercises the real mesh density. */
export const SYNTHETIC_WIDTH = 1024;
export const SYNTHETIC_LABEL = 'Synthetic test room';

let cached: SyntheticPanorama | null = null;

export function syntheticPanorama(): SyntheticPanorama {
  cached ??= renderSyntheticPanorama(SYNTHETIC_WIDTH);
  return cached;
}
