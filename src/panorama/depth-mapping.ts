/**
 * From LDM3D's relative inverse depth d ∈ [0, 1] (1 = nearest) to metres, and the pixel encodings
 * of d (8-bit grey, 16-bit grey as diffusers writes it, and the legacy 6-channel "RGB-like" one).
 *
 * Why inverse depth: LDM3D's depth channel was trained on DPT-Large (MiDaS) output, which is
 * relative inverse depth: affine in 1/distance. So metres come from interpolating 1/distance,
 * not distance: distance = 1 / lerp(1/far, 1/near, d). Treating d as linear grey (as simple
 * viewers do) squashes the background into a shell and stretches the foreground.
 */
import type { DepthMapping } from './types';

/**
 * Defaults for "standing in a room-sized scene":
 * - near = 1 m: d = 1 is the nearest thing in the picture. LDM3D-pano's training panoramas are
 *   tripod shots at about eye height, whose nearest surfaces (furniture, walls, the floor a step
 *   away) sit at arm's length to eye height; 1 m puts them there. A smaller near shrinks every
 *   distance toward the viewer (mid-grey lands at ≈ 2·near), making rooms feel doll-sized.
 * - far = 20 m: d = 0 (sky, far background) is clamped here. Beyond ~20 m the stereo disparity of
 *   a 63 mm IPD is under 0.2° (about a headset pixel) and walking a metre barely moves things, so
 *   it already reads as "at infinity"; a larger far only makes the sphere huge without changing
 *   how near content looks (1/far is already small next to 1/near).
 * With these, d = 0.5 → 1.9 m, d = 0.25 → 3.5 m, d = 0.1 → 6.9 m.
 */
export const DEFAULT_DEPTH_MAPPING: DepthMapping = Object.freeze({ near: 1, far: 20 });

/** A user-facing sentence saying why `mapping` is unusable, or null when it is fine. */
export function depthMappingProblem(mapping: DepthMapping): string | null {
  const { near, far } = mapping;
  if (!Number.isFinite(near) || near <= 0) {
    return `Depth mapping: near must be a positive number of metres (got ${String(near)}).`;
  }
  if (!Number.isFinite(far)) {
    return `Depth mapping: far must be a finite number of metres (got ${String(far)}).`;
  }
  if (far <= near) {
    return `Depth mapping: far (${far} m) must be greater than near (${near} m).`;
  }
  return null;
}

/** Returns `mapping` unchanged when valid; throws a RangeError with a user-facing message if not. */
export function validateDepthMapping(mapping: DepthMapping): DepthMapping {
  const problem = depthMappingProblem(mapping);
  if (problem !== null) throw new RangeError(problem);
  return mapping;
}

/**
 * The mapping as two numbers, distance = 1 / (invFar + invRange · clamp(d, 0, 1)), which is what a
 * shader needs as uniforms (validated here once instead of per pixel).
 */
export interface InverseDepthCoefficients {
  /** 1 / far. */
  readonly invFar: number;
  /** 1 / near − 1 / far (> 0). */
  readonly invRange: number;
}

export function inverseDepthCoefficients(mapping: DepthMapping): InverseDepthCoefficients {
  validateDepthMapping(mapping);
  return { invFar: 1 / mapping.far, invRange: 1 / mapping.near - 1 / mapping.far };
}

/**
 * clamp(d, 0, 1) with NaN → 0: a broken pixel is sent to `far`, where it can never hang in front
 * of the viewer.
 */
export function clampUnit(d: number): number {
  return d > 0 ? (d < 1 ? d : 1) : 0;
}

/** Metres of relative inverse depth d: 1 / lerp(1/far, 1/near, clamp(d)). d = 1 → near, 0 → far. */
export function inverseDepthToDistance(d: number, mapping: DepthMapping): number {
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  return 1 / (invFar + invRange * clampUnit(d));
}

/**
 * Relative inverse depth of a distance in metres: the inverse of `inverseDepthToDistance`.
 * Distances ≤ near give 1, ≥ far (or +∞) give 0, NaN gives 0.
 */
export function distanceToInverseDepth(distance: number, mapping: DepthMapping): number {
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  if (Number.isNaN(distance)) return 0;
  if (distance <= mapping.near) return 1;
  return clampUnit((1 / distance - invFar) / invRange);
}

/** `inverseDepthToDistance` over a whole depth map (validates the mapping once). */
export function inverseDepthToDistances(
  depth: Float32Array,
  mapping: DepthMapping,
  out: Float32Array = new Float32Array(depth.length),
): Float32Array {
  const { invFar, invRange } = inverseDepthCoefficients(mapping);
  for (let i = 0; i < depth.length; i++) out[i] = 1 / (invFar + invRange * clampUnit(depth[i]));
  return out;
}

/**
 * The mapping under which a scene whose distances span [minDistance, maxDistance] is encoded by
 * per-image min–max normalised inverse depth (what MiDaS-style depth looks like): the nearest
 * point gets d = 1, the farthest d = 0.
 */
export function mappingForDistanceRange(minDistance: number, maxDistance: number): DepthMapping {
  return validateDepthMapping({ near: minDistance, far: maxDistance });
}

// ---------------------------------------------------------------------------------------------
// Pixel encodings of d.

/** 8-bit grey → [0, 1]. */
export function decodeDepth8(value: number): number {
  return value / 255;
}

/** 16-bit grey → [0, 1]; the inverse diffusers' LDM3D-SR uses (`depth_pil_to_numpy`: /65535). */
export function decodeDepth16(value: number): number {
  return value / 65535;
}

/**
 * d ∈ [0, 1] → the 16-bit value diffusers saves for 4-channel LDM3D output:
 * `(depth * 65535.0).astype(np.uint16)`, i.e. float32 product, then truncation (not rounding).
 * Math.fround reproduces the float32 product: d is a float32 and 65535 needs 16 bits, so the exact
 * product fits a double and rounding it once gives numpy's float32 result. Input is clamped to
 * [0, 1] first, as diffusers clamps after denormalising.
 */
export function encodeDepth16LDM3D(d: number): number {
  return Math.floor(Math.fround(Math.fround(clampUnit(d)) * 65535));
}

/** Numeric arrays a decoder may hand over (fast-png, canvas ImageData, typed buffers). */
export type DepthSamples = Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;

function checkChannel(length: number, channels: number, channel: number): number {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`Depth decode: channels must be a positive integer (got ${channels}).`);
  }
  if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
    throw new RangeError(`Depth decode: channel ${channel} does not exist in ${channels}-channel data.`);
  }
  if (length % channels !== 0) {
    throw new RangeError(`Depth decode: ${length} samples is not a whole number of ${channels}-channel pixels.`);
  }
  return length / channels;
}

/**
 * 8-bit depth pixels → Float32 [0, 1]. `channels` is the interleaved channel count (1 grey,
 * 2 grey+alpha, 3 RGB, 4 RGBA); `channel` picks the one holding depth (grey saved as RGB has
 * R = G = B, so 0 is right for every common file).
 */
export function decodeDepth8Array(
  src: Uint8Array | Uint8ClampedArray,
  channels = 1,
  channel = 0,
): Float32Array {
  const n = checkChannel(src.length, channels, channel);
  const out = new Float32Array(n);
  for (let i = 0, j = channel; i < n; i++, j += channels) out[i] = src[j] / 255;
  return out;
}

/** 16-bit depth pixels (e.g. fast-png's Uint16Array for an "I;16" PNG) → Float32 [0, 1]. */
export function decodeDepth16Array(src: Uint16Array, channels = 1, channel = 0): Float32Array {
  const n = checkChannel(src.length, channels, channel);
  const out = new Float32Array(n);
  for (let i = 0, j = channel; i < n; i++, j += channels) out[i] = src[j] / 65535;
  return out;
}

/** `encodeDepth16LDM3D` over a depth map: what diffusers would write into the 16-bit PNG. */
export function encodeDepth16LDM3DArray(depth: Float32Array): Uint16Array {
  const out = new Uint16Array(depth.length);
  for (let i = 0; i < depth.length; i++) out[i] = encodeDepth16LDM3D(depth[i]);
  return out;
}

/**
 * Legacy 6-channel `Intel/ldm3d` depth packed into an RGB-like 8-bit image: value = G·256 + B
 * (R ignored), then /65535. This is diffusers' intended `rgblike_to_depthmap` as a uint16 (its
 * HEAD casts back to uint8 and overflows; see LDM3D-SPEC §2).
 */
export function decodeLegacyRgbLikeDepth(src: Uint8Array | Uint8ClampedArray, channels: 3 | 4): Float32Array {
  const n = checkChannel(src.length, channels, 2);
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = (src[j + 1] * 256 + src[j + 2]) / 65535;
  return out;
}
