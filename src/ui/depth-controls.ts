/**
 * Slider ranges and the "depth scale" control: one number that multiplies both near and far, so
 * the scene grows or shrinks around the viewer without changing its shape (far/near is kept).
 */
import type { DepthMapping } from '../panorama/types';

export const SCALE_RANGE: readonly [number, number] = [0.25, 4];
export const NEAR_RANGE: readonly [number, number] = [0.2, 5];
export const FAR_RANGE: readonly [number, number] = [3, 100];

/** The scale of `m` relative to `base`, measured on near. */
export function depthScaleOf(m: DepthMapping, base: DepthMapping): number {
  return m.near / base.near;
}

/** `m` scaled so that its near is `scale` × base.near, keeping m's own far/near ratio. */
export function mappingForScale(m: DepthMapping, base: DepthMapping, scale: number): DepthMapping {
  const s = Math.min(SCALE_RANGE[1], Math.max(SCALE_RANGE[0], scale));
  const ratio = m.far / m.near;
  const near = base.near * s;
  return { near, far: near * ratio };
}

/** One VR button press: scale by `factor` (> 1 farther, < 1 nearer), clamped to SCALE_RANGE. */
export function stepDepthScale(m: DepthMapping, base: DepthMapping, factor: number): DepthMapping {
  return mappingForScale(m, base, depthScaleOf(m, base) * factor);
}

/**
 * A typed distance in metres ("2", "2.5", "2,5", "2.5 m") within `range`, or null with nothing
 * applied (issue 14: the sliders step 0.05 m / 0.5 m, so an exact value needs a field).
 */
export function parseMetres(text: string, range: readonly [number, number]): number | null {
  const m = /^\s*(\d+(?:[.,]\d*)?|[.,]\d+)\s*(?:m)?\s*$/i.exec(text);
  if (!m) return null;
  const v = Number(m[1]!.replace(',', '.'));
  return Number.isFinite(v) && v >= range[0] && v <= range[1] ? v : null;
}

/** Near typed by hand: far moves out with it where needed (far ≥ 1.5 × near, as the slider does). */
export function mappingForNear(m: DepthMapping, near: number): DepthMapping {
  return { near, far: Math.min(FAR_RANGE[1], Math.max(m.far, near * 1.5)) };
}

/** Far typed by hand: near moves in with it where needed (near ≤ far / 1.5, as the slider does). */
export function mappingForFar(m: DepthMapping, far: number): DepthMapping {
  return { near: Math.max(NEAR_RANGE[0], Math.min(m.near, far / 1.5)), far };
}
