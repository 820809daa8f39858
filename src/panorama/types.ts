/**
 * The one data type every part of the app agrees on: an equirectangular RGB + depth panorama.
 *
 * Conventions (tested in test/panorama/equirect.test.ts, written down once in docs/conventions.md):
 * - Pixel (x, y) of a W×H image (W = 2H) has centre u = (x + 0.5) / W, v = (y + 0.5) / H.
 * - Longitude λ = (u − 0.5)·2π (positive = to the viewer's right), latitude φ = (0.5 − v)·π (up).
 * - World frame is three.js's: +X right, +Y up, −Z straight ahead at start.
 *   direction(λ, φ) = (sin λ·cos φ, sin φ, −cos λ·cos φ). The image's centre column is straight
 *   ahead; u = 0 and u = 1 are the same meridian, straight behind.
 * - Depth is what LDM3D produces: relative inverse depth in [0, 1], 1 = nearest, 0 = farthest.
 */
export interface RGBDPanorama {
  readonly width: number;
  readonly height: number;
  /** RGBA8, row-major from the top-left, sRGB-encoded, length width·height·4. */
  readonly rgba: Uint8ClampedArray;
  /** Relative inverse depth in [0, 1] (brighter = nearer), length width·height. */
  readonly depth: Float32Array;
}

/** How relative inverse depth d ∈ [0, 1] becomes metres: distance = 1 / lerp(1/far, 1/near, d). */
export interface DepthMapping {
  /** Distance in metres of d = 1 (the nearest thing in the scene). */
  readonly near: number;
  /** Distance in metres of d = 0 (sky and far background are clamped here). */
  readonly far: number;
}
