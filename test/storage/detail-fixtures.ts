// Sharpened patches made the way the worker makes them (src/workers/sr-host.ts): an SR output
// reprojected onto a blank layer with feathered borders, then the touched region cut out.
import { extractRegion } from '../../src/panorama/detail-layer';
import { createDetailLayer, makeCropBasis, reprojectPatch, type Patch } from '../../src/panorama/gnomonic';
import type { SizedPatch } from '../../src/storage/detail-patches';

export function srOutput(size: number, seed: number, depthLo = 0.3, depthHi = 0.7): Patch {
  let s = seed;
  const rnd = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return {
    size,
    rgb: Float32Array.from({ length: size * size * 3 }, rnd),
    depth: Float32Array.from({ length: size * size }, () => depthLo + (depthHi - depthLo) * rnd()),
  };
}

/** A patch of a `layerWidth`-wide layer looking along `gaze` (+Z looks at the 360° seam). */
export function sharpenedPatch(layerWidth: number, gaze: { x: number; y: number; z: number }, seed: number, size = 24): SizedPatch {
  const layer = createDetailLayer(layerWidth, layerWidth / 2);
  const basis = makeCropBasis(gaze, (40 * Math.PI) / 180, size);
  const region = reprojectPatch(layer, basis, srOutput(size, seed));
  return { ...extractRegion(layer, region), layerWidth, layerHeight: layerWidth / 2 };
}
