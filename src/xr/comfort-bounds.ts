/**
 * Movement limited to where the scene's geometry is valid. The panorama is a displaced sphere seen
 * from one point; if the viewer walks (room-scale tracking) more than a short way from that point
 * they see the stretched back of the mesh, and walking far enough takes them through it. We keep
 * the head within a radius of the panorama's centre: beyond it, the rig (the panorama) moves with
 * the head, so the viewer can never pass through the mesh.
 *
 * The radius is a fraction of the nearest surface around the viewer, computed once per panorama
 * and depth mapping (never per frame).
 */
import { inverseDepthCoefficients } from '../panorama/depth-mapping';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';

export interface SafeRadiusOptions {
  /** Part of the nearest distance the head may move (0…1). */
  readonly fraction?: number;
  /**
   * Which quantile of the distances counts as "nearest": a few wrong depth pixels (a thin pole,
   * noise) must not shrink the room to nothing.
   */
  readonly quantile?: number;
  /** Bounds of the result in metres. */
  readonly min?: number;
  readonly max?: number;
}

export const DEFAULT_SAFE_FRACTION = 0.5;
export const DEFAULT_NEAR_QUANTILE = 0.01;
export const MIN_SAFE_RADIUS = 0.05;
export const MAX_SAFE_RADIUS = 3;

/**
 * Radius (metres) within which the head may move from the panorama's centre. Distances are those
 * of the mesh the viewer sees: distance = 1 / lerp(1/far, 1/near, d). Returns `min` for an empty
 * or all-invalid depth map.
 */
export function safeRadius(panorama: Pick<RGBDPanorama, 'depth'>, mapping: DepthMapping, options: SafeRadiusOptions = {}): number {
  const fraction = options.fraction ?? DEFAULT_SAFE_FRACTION;
  const quantile = options.quantile ?? DEFAULT_NEAR_QUANTILE;
  const lo = options.min ?? MIN_SAFE_RADIUS;
  const hi = options.max ?? MAX_SAFE_RADIUS;
  const { depth } = panorama;
  // The nearest distance is the largest inverse depth: find its high quantile by a histogram
  // over d ∈ [0, 1] (one pass, no sort of a megapixel array).
  const BINS = 4096;
  const hist = new Uint32Array(BINS);
  let n = 0;
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i];
    if (!(d >= 0 && d <= 1)) continue; // NaN and out-of-range pixels are not geometry
    hist[Math.min(BINS - 1, Math.floor(d * BINS))]++;
    n++;
  }
  if (n === 0) return lo;
  const skip = Math.floor(n * Math.min(Math.max(quantile, 0), 1));
  let seen = 0;
  let bin = BINS - 1;
  for (; bin > 0; bin--) {
    seen += hist[bin];
    if (seen > skip) break;
  }
  // The bin's upper edge: never claims the surface is farther than it may be.
  const dNear = Math.min(1, (bin + 1) / BINS);
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  const nearest = 1 / (invFar + invRange * dNear);
  return Math.min(hi, Math.max(lo, nearest * fraction));
}

interface MutableVec {
  x: number;
  y: number;
  z: number;
}

/**
 * Keeps `head` within `radius` of `centre` (both in the same frame) by moving `centre` toward the
 * head. Mutates `centre`; returns true when it moved. Vertical distance counts too: crouching
 * down to the floor of the panorama is also walking into the mesh.
 */
export function clampCentreToHead(centre: MutableVec, head: { x: number; y: number; z: number }, radius: number): boolean {
  const dx = head.x - centre.x;
  const dy = head.y - centre.y;
  const dz = head.z - centre.z;
  const dist = Math.hypot(dx, dy, dz);
  if (dist <= radius || dist === 0) return false;
  const k = (dist - radius) / dist;
  centre.x += dx * k;
  centre.y += dy * k;
  centre.z += dz * k;
  return true;
}
