/**
 * Equirectangular maths: pixel ↔ (u, v) ↔ (longitude λ, latitude φ) ↔ unit direction.
 *
 * The one convention (see types.ts and docs/conventions.md):
 *   u = (x + 0.5) / W,  v = (y + 0.5) / H          (pixel centres; y = 0 is the top row)
 *   λ = (u − 0.5)·2π    (0 = straight ahead, +π/2 = right)
 *   φ = (0.5 − v)·π     (+π/2 = straight up)
 *   direction = (sin λ·cos φ, sin φ, −cos λ·cos φ)   in three.js axes: +X right, +Y up, −Z ahead.
 *
 * Plain TypeScript on purpose: the same functions run in the app, in workers and in Node tests.
 * Vectors are `{x, y, z}` so a THREE.Vector3 can be passed or used as `out` directly.
 */

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface UV {
  /** Horizontal texture coordinate, [0, 1): 0 and 1 are the same meridian (straight behind). */
  u: number;
  /** Vertical texture coordinate, [0, 1]: 0 = top (north pole, +Y), 1 = bottom. */
  v: number;
}

export interface LonLat {
  /** Longitude λ in radians, [−π, π): positive = to the viewer's right. */
  lon: number;
  /** Latitude φ in radians, [−π/2, π/2]: positive = up. */
  lat: number;
}

export interface PixelCoord {
  x: number;
  y: number;
}

const TWO_PI = 2 * Math.PI;

/**
 * Wraps u into [0, 1). u = 1 becomes 0 because both are the same meridian (the 360° seam);
 * without this, sampling at u = 1 would read one column past the image.
 */
export function wrapU(u: number): number {
  const w = u - Math.floor(u);
  // `u - floor(u)` can round up to exactly 1 for tiny negative u (e.g. −1e-17).
  return w >= 1 ? 0 : w;
}

/** Centre of pixel (x, y) in a width × height image, in texture coordinates. */
export function pixelToUV(x: number, y: number, width: number, height: number): UV {
  return { u: (x + 0.5) / width, v: (y + 0.5) / height };
}

/**
 * Continuous pixel coordinates of (u, v): the inverse of `pixelToUV`, so integer results are
 * pixel centres. Not wrapped or clamped; use `uvToPixelIndex` to pick a pixel.
 */
export function uvToPixel(u: number, v: number, width: number, height: number): PixelCoord {
  return { x: u * width - 0.5, y: v * height - 0.5 };
}

/**
 * The pixel that contains (u, v): x wraps around the seam, y clamps at the poles.
 * This is nearest-neighbour lookup; mesh.ts's `depthTexelIndex` is the float32-exact variant the
 * shader mirrors.
 */
export function uvToPixelIndex(u: number, v: number, width: number, height: number): PixelCoord {
  let x = Math.floor(wrapU(u) * width);
  if (x >= width) x = width - 1;
  let y = Math.floor(v * height);
  if (y < 0) y = 0;
  else if (y >= height) y = height - 1;
  return { x, y };
}

export function uvToLonLat(u: number, v: number): LonLat {
  return { lon: (u - 0.5) * TWO_PI, lat: (0.5 - v) * Math.PI };
}

/** Inverse of `uvToLonLat`; u is wrapped into [0, 1). */
export function lonLatToUV(lon: number, lat: number): UV {
  return { u: wrapU(lon / TWO_PI + 0.5), v: 0.5 - lat / Math.PI };
}

/** Unit direction of (λ, φ). `out` (e.g. a THREE.Vector3) is filled and returned when given. */
export function lonLatToDirection(lon: number, lat: number, out: Vec3 = { x: 0, y: 0, z: 0 }): Vec3 {
  const c = Math.cos(lat);
  out.x = Math.sin(lon) * c;
  out.y = Math.sin(lat);
  out.z = -Math.cos(lon) * c;
  return out;
}

/**
 * (λ, φ) of a direction; it need not be unit length but must not be zero.
 * Straight up/down gives lon = 0 (any longitude is correct there).
 */
export function directionToLonLat(x: number, y: number, z: number): LonLat {
  const horizontal = Math.hypot(x, z);
  // atan2 on both keeps full precision near the poles, where asin(y) would not.
  const lat = Math.atan2(y, horizontal);
  const lon = horizontal === 0 ? 0 : Math.atan2(x, -z);
  // atan2 returns (−π, π]; π (straight behind) is the same meridian as −π: keep [−π, π).
  return { lon: lon >= Math.PI ? -Math.PI : lon, lat };
}

/** Unit direction of texture coordinates (u, v). */
export function uvToDirection(u: number, v: number, out: Vec3 = { x: 0, y: 0, z: 0 }): Vec3 {
  return lonLatToDirection((u - 0.5) * TWO_PI, (0.5 - v) * Math.PI, out);
}

/** Texture coordinates of a (non-zero) direction; u ∈ [0, 1), v ∈ [0, 1]. */
export function directionToUV(dir: Vec3): UV {
  const { lon, lat } = directionToLonLat(dir.x, dir.y, dir.z);
  return lonLatToUV(lon, lat);
}

/** Unit direction through the centre of pixel (x, y). */
export function pixelToDirection(
  x: number,
  y: number,
  width: number,
  height: number,
  out: Vec3 = { x: 0, y: 0, z: 0 },
): Vec3 {
  return uvToDirection((x + 0.5) / width, (y + 0.5) / height, out);
}

/** The pixel a direction falls in (x wrapped, y clamped). */
export function directionToPixelIndex(dir: Vec3, width: number, height: number): PixelCoord {
  const { u, v } = directionToUV(dir);
  return uvToPixelIndex(u, v, width, height);
}

/**
 * Per-pixel unit directions of a width × height panorama as xyz triples (row-major from the
 * top-left). Computed with one sin/cos per row and per column instead of per pixel; used by the
 * ray caster and the tests.
 */
export function pixelDirections(width: number, height: number): Float32Array {
  const out = new Float32Array(width * height * 3);
  const sinLon = new Float64Array(width);
  const cosLon = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const lon = ((x + 0.5) / width - 0.5) * TWO_PI;
    sinLon[x] = Math.sin(lon);
    cosLon[x] = Math.cos(lon);
  }
  for (let y = 0; y < height; y++) {
    const lat = (0.5 - (y + 0.5) / height) * Math.PI;
    const c = Math.cos(lat);
    const s = Math.sin(lat);
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      out[o] = sinLon[x] * c;
      out[o + 1] = s;
      out[o + 2] = -cosLon[x] * c;
    }
  }
  return out;
}
