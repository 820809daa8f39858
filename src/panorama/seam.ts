/**
 * The seam metric of issue 12: how much the 360° seam (the last column against the first, which
 * are neighbours on the sphere) stands out from every other pair of neighbouring columns.
 *
 *   ratio = mean |p(W−1, y) − p(0, y)|  /  mean |p(x+1, y) − p(x, y)|,  x = 0 … W−2
 *
 * over all rows y and the channels of the set (RGB pooled into one number, depth its own). 1.0 means
 * the seam is no different from any column step inside the image; a model that generates the two
 * edges without seeing each other (zero padding) gives a clearly larger value. The ratio does not
 * depend on the value scale, so 8-bit RGB, float RGB in [0, 1] and depth compare alike.
 *
 * Plain TypeScript (no three): used by the CLI's metadata.json, the app's scene metadata and tests.
 */
import type { RGBDPanorama } from './types';

/** The metric for both channel sets of a panorama. */
export interface SeamMetrics {
  /** RGB channels pooled. */
  readonly rgb: number;
  /** The depth channel. */
  readonly depth: number;
}

/**
 * The seam ratio of an interleaved image (`channels` values per pixel, row-major from the
 * top-left); the first `used` channels of each pixel are pooled (3 of RGBA's 4: alpha says nothing
 * about the seam). Always finite: a row whose last and first values differ must step somewhere in
 * between, so a flat interior means a flat seam too, and that counts as 1 (no different).
 */
export function seamRatio(
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels = 1,
  used = channels,
): number {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 3 || height < 1) {
    // Two columns have no interior step to compare the seam with.
    throw new RangeError(`Seam metric: need at least 3 × 1 pixels (got ${width} × ${height}).`);
  }
  if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(used) || used < 1 || used > channels) {
    throw new RangeError(`Seam metric: ${used} of ${channels} channels is not a channel set.`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`Seam metric: ${data.length} values do not fill ${width} × ${height} × ${channels}.`);
  }
  let seam = 0;
  let interior = 0;
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const r0 = y * row;
    for (let c = 0; c < used; c++) {
      seam += Math.abs(data[r0 + (width - 1) * channels + c] - data[r0 + c]);
      for (let x = 0, i = r0 + c; x < width - 1; x++, i += channels) interior += Math.abs(data[i + channels] - data[i]);
    }
  }
  // Means over height·used seam pairs and height·used·(width − 1) interior pairs.
  const seamMean = seam / (height * used);
  const interiorMean = interior / (height * used * (width - 1));
  if (interiorMean === 0) return 1;
  return seamMean / interiorMean;
}

/** Both ratios of an app panorama (RGBA8 + float depth). */
export function panoramaSeamMetrics(pano: RGBDPanorama): SeamMetrics {
  return {
    rgb: seamRatio(pano.rgba, pano.width, pano.height, 4, 3),
    depth: seamRatio(pano.depth, pano.width, pano.height),
  };
}

/**
 * Both ratios of a pipeline image (interleaved RGB, 3 values per pixel, and float depth), e.g.
 * postprocess.ts's `Ldm3dImage` with its `rgbFloat` (before 8-bit rounding, so small seams are not
 * hidden by quantisation).
 */
export function imageSeamMetrics(image: {
  readonly width: number;
  readonly height: number;
  readonly rgb: ArrayLike<number>;
  readonly depth: ArrayLike<number>;
}): SeamMetrics {
  return {
    rgb: seamRatio(image.rgb, image.width, image.height, 3),
    depth: seamRatio(image.depth, image.width, image.height),
  };
}
