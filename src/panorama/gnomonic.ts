/**
 * Gnomonic (perspective) crops of an equirect panorama and their way back: what "Sharpen the region
 * in view" needs around LDM3D-SR.
 *
 *   gaze + field of view ──makeCropBasis──► CropBasis
 *   panorama ──cropPanorama──► size×size RGB + depth (the SR input, values in [0,1])
 *   SR output ──fitDepthAffine / applyDepthAffine──► depth that agrees with the base around it
 *   SR output ──reprojectPatch──► equirect detail layer (RGBA, alpha = feathered weight, + depth)
 *
 * Conventions are equirect.ts's (three.js axes, −Z ahead, u = 0.5 straight ahead). A crop pixel
 * (i, j) has its centre at ((i + 0.5), (j + 0.5)); j = 0 is the top row. On the image plane at
 * distance 1 along `forward`, the crop covers [−t, t]² with t = tan(fov/2):
 *   a = (2(i + 0.5)/size − 1)·t,  b = (1 − 2(j + 0.5)/size)·t,  dir ∝ forward + a·right + b·up.
 *
 * Colour is interpolated bilinearly on the sRGB-encoded values: the SR pipeline takes sRGB bytes/255
 * (what diffusers' PIL bilinear resize also interpolates), so interpolating in linear light would
 * feed it values it never saw. Depth uses edge-aware bilinear (nearest where the four taps straddle a
 * depth edge) so no half-way "floating" depth appears between a foreground object and the wall.
 *
 * Plain TypeScript (no three.js): runs in workers and Node tests.
 */
import type { RGBDPanorama } from './types';
import { type Vec3, wrapU } from './equirect';

const TWO_PI = 2 * Math.PI;

export interface CropBasis {
  /** Unit gaze direction: the crop's centre. */
  readonly forward: Vec3;
  /** Unit image-plane axes: +a to the right, +b up in the crop. */
  readonly right: Vec3;
  readonly up: Vec3;
  /** tan(fov/2): the half extent of the crop on the image plane at distance 1. */
  readonly tanHalf: number;
  /** Crop side in pixels (square). */
  readonly size: number;
}

export interface CropPixel {
  x: number;
  y: number;
}

function normalize(v: Vec3): Vec3 {
  const l = Math.hypot(v.x, v.y, v.z);
  if (!(l > 0) || !Number.isFinite(l)) throw new RangeError('Gnomonic crop: the gaze direction must be a non-zero finite vector.');
  return { x: v.x / l, y: v.y / l, z: v.z / l };
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return { x: a.y * b.z - a.z * b.y, y: a.z * b.x - a.x * b.z, z: a.x * b.y - a.y * b.x };
}

/**
 * A roll-free crop looking along `forward`: its right axis is horizontal, its up axis as close to
 * world up as the gaze allows. Looking (nearly) straight up or down there is no horizon to keep
 * level; `rightHint` (a horizontal direction, e.g. the head's right) decides the roll there.
 */
export function makeCropBasis(forward: Vec3, fovRadians: number, size: number, rightHint: Vec3 = { x: 1, y: 0, z: 0 }): CropBasis {
  if (!(fovRadians > 0 && fovRadians < Math.PI * 0.9)) {
    throw new RangeError(`Gnomonic crop: field of view must be in (0°, 162°), got ${(fovRadians * 180) / Math.PI}°.`);
  }
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`Gnomonic crop: size must be an integer ≥ 2, got ${size}.`);
  const f = normalize(forward);
  let r = cross(f, { x: 0, y: 1, z: 0 });
  // Within ~0.06° of a pole the cross product is too short to trust: take the hint instead.
  if (Math.hypot(r.x, r.y, r.z) < 1e-3) {
    const h = normalize({ x: rightHint.x, y: 0, z: rightHint.z });
    // Remove any component along f (f is ±Y here, so h is already orthogonal up to the 1e-3 slack).
    const d = h.x * f.x + h.y * f.y + h.z * f.z;
    r = { x: h.x - d * f.x, y: h.y - d * f.y, z: h.z - d * f.z };
  }
  const right = normalize(r);
  const up = cross(right, f);
  return { forward: f, right, up, tanHalf: Math.tan(fovRadians / 2), size };
}

/**
 * The field of view at which one crop pixel at the centre spans 1/scale of an equirect pixel at the
 * equator of a `panoWidth`-wide panorama: sampling a `size` crop at this fov and running SR ×scale
 * gives detail `scale` times finer than the base.
 */
export function fovForScale(panoWidth: number, size: number, scale: number): number {
  const tanHalf = (size * Math.PI) / (panoWidth * scale);
  return 2 * Math.atan(tanHalf);
}

/** Unit direction through continuous crop pixel coordinates (x, y) (centres at i + 0.5). */
export function cropPixelToDirection(basis: CropBasis, x: number, y: number, out: Vec3 = { x: 0, y: 0, z: 0 }): Vec3 {
  const a = ((2 * x) / basis.size - 1) * basis.tanHalf;
  const b = (1 - (2 * y) / basis.size) * basis.tanHalf;
  const { forward: f, right: r, up: u } = basis;
  const dx = f.x + a * r.x + b * u.x;
  const dy = f.y + a * r.y + b * u.y;
  const dz = f.z + a * r.z + b * u.z;
  const l = Math.hypot(dx, dy, dz);
  out.x = dx / l;
  out.y = dy / l;
  out.z = dz / l;
  return out;
}

/**
 * Continuous crop pixel coordinates of a direction (inverse of cropPixelToDirection), or null when
 * the direction is not in front of the image plane. The result may lie outside [0, size].
 */
export function directionToCropPixel(basis: CropBasis, dir: Vec3, out: CropPixel = { x: 0, y: 0 }): CropPixel | null {
  const { forward: f, right: r, up: u } = basis;
  const z = dir.x * f.x + dir.y * f.y + dir.z * f.z;
  if (!(z > 1e-9)) return null;
  const a = (dir.x * r.x + dir.y * r.y + dir.z * r.z) / z;
  const b = (dir.x * u.x + dir.y * u.y + dir.z * u.z) / z;
  out.x = ((a / basis.tanHalf + 1) * basis.size) / 2;
  out.y = ((1 - b / basis.tanHalf) * basis.size) / 2;
  return out;
}

// ------------------------------------------------------------------------------------------------
// Sampling
// ------------------------------------------------------------------------------------------------

/** Depth taps further apart than this (in [0,1] inverse depth) are an edge: take the nearest tap. */
export const DEPTH_EDGE_THRESHOLD = 0.05;

interface Taps {
  i00: number;
  i10: number;
  i01: number;
  i11: number;
  fx: number;
  fy: number;
}

/** Bilinear taps of equirect (u, v): x wraps across the 360° seam, y clamps at the poles. */
function equirectTaps(u: number, v: number, width: number, height: number, t: Taps): Taps {
  const px = wrapU(u) * width - 0.5;
  let py = v * height - 0.5;
  if (py < 0) py = 0;
  else if (py > height - 1) py = height - 1;
  const x0f = Math.floor(px);
  const y0 = Math.floor(py);
  const y1 = y0 + 1 < height ? y0 + 1 : y0;
  const x0 = ((x0f % width) + width) % width;
  const x1 = x0 + 1 === width ? 0 : x0 + 1;
  t.fx = px - x0f;
  t.fy = py - y0;
  t.i00 = y0 * width + x0;
  t.i10 = y0 * width + x1;
  t.i01 = y1 * width + x0;
  t.i11 = y1 * width + x1;
  return t;
}

function edgeAwareDepth(d00: number, d10: number, d01: number, d11: number, fx: number, fy: number): number {
  const lo = Math.min(d00, d10, d01, d11);
  const hi = Math.max(d00, d10, d01, d11);
  if (hi - lo > DEPTH_EDGE_THRESHOLD) {
    // nearest tap: never invent a depth between two surfaces
    return fx < 0.5 ? (fy < 0.5 ? d00 : d01) : fy < 0.5 ? d10 : d11;
  }
  return (d00 * (1 - fx) + d10 * fx) * (1 - fy) + (d01 * (1 - fx) + d11 * fx) * fy;
}

function dirToUV(x: number, y: number, z: number): { u: number; v: number } {
  const horizontal = Math.hypot(x, z);
  const lat = Math.atan2(y, horizontal);
  const lon = horizontal === 0 ? 0 : Math.atan2(x, -z);
  return { u: wrapU(lon / TWO_PI + 0.5), v: 0.5 - lat / Math.PI };
}

export interface RGBDCrop {
  readonly size: number;
  /** size·size·3, row-major from the top-left, sRGB-encoded values in [0, 1]. */
  readonly rgb: Float32Array;
  /** size·size relative inverse depth in [0, 1]. */
  readonly depth: Float32Array;
}

/** The gnomonic crop of `pano` described by `basis`, at basis.size × basis.size. */
export function cropPanorama(pano: RGBDPanorama, basis: CropBasis): RGBDCrop {
  const { width, height, rgba, depth } = pano;
  if (rgba.length !== width * height * 4 || depth.length !== width * height) {
    throw new RangeError(`Gnomonic crop: panorama buffers do not match ${width} × ${height}.`);
  }
  const n = basis.size;
  const rgb = new Float32Array(n * n * 3);
  const dOut = new Float32Array(n * n);
  const dir: Vec3 = { x: 0, y: 0, z: 0 };
  const t: Taps = { i00: 0, i10: 0, i01: 0, i11: 0, fx: 0, fy: 0 };
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      cropPixelToDirection(basis, i + 0.5, j + 0.5, dir);
      const { u, v } = dirToUV(dir.x, dir.y, dir.z);
      equirectTaps(u, v, width, height, t);
      const w00 = (1 - t.fx) * (1 - t.fy);
      const w10 = t.fx * (1 - t.fy);
      const w01 = (1 - t.fx) * t.fy;
      const w11 = t.fx * t.fy;
      const o = (j * n + i) * 3;
      for (let c = 0; c < 3; c++) {
        rgb[o + c] =
          (rgba[t.i00 * 4 + c] * w00 + rgba[t.i10 * 4 + c] * w10 + rgba[t.i01 * 4 + c] * w01 + rgba[t.i11 * 4 + c] * w11) / 255;
      }
      dOut[j * n + i] = edgeAwareDepth(depth[t.i00], depth[t.i10], depth[t.i01], depth[t.i11], t.fx, t.fy);
    }
  }
  return { size: n, rgb, depth: dOut };
}

// ------------------------------------------------------------------------------------------------
// Depth agreement
// ------------------------------------------------------------------------------------------------

export interface DepthAffine {
  readonly scale: number;
  readonly offset: number;
}

/**
 * Robust least squares for d_base ≈ scale·d_sr + offset over the crop (IRLS with Huber weights),
 * weighting a border ring more (`borderWeight`), since that is where a mismatch would show as a
 * step. SR depth is only affine-related to the base (both are relative inverse depth), so the fit is
 * what makes the patch agree with its surroundings.
 */
export function fitDepthAffine(
  srDepth: Float32Array,
  baseDepth: Float32Array,
  size: number,
  options: { borderWidth?: number; borderWeight?: number; huber?: number; iterations?: number } = {},
): DepthAffine {
  const n = size * size;
  if (srDepth.length !== n || baseDepth.length !== n) throw new RangeError('fitDepthAffine: buffers do not match size².');
  const bw = options.borderWidth ?? Math.max(1, Math.round(size / 16));
  const bWeight = options.borderWeight ?? 4;
  const huber = options.huber ?? 0.02;
  const iterations = options.iterations ?? 8;
  const prior = new Float32Array(n);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const edge = Math.min(i, j, size - 1 - i, size - 1 - j);
      prior[j * size + i] = edge < bw ? bWeight : 1;
    }
  }
  let scale = 1;
  let offset = 0;
  for (let it = 0; it < iterations; it++) {
    let sw = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let k = 0; k < n; k++) {
      const x = srDepth[k];
      const y = baseDepth[k];
      let w = prior[k];
      if (it > 0) {
        const r = Math.abs(scale * x + offset - y);
        if (r > huber) w *= huber / r;
      }
      sw += w;
      sx += w * x;
      sy += w * y;
      sxx += w * x * x;
      sxy += w * x * y;
    }
    const mx = sx / sw;
    const my = sy / sw;
    const vxx = sxx / sw - mx * mx;
    const vxy = sxy / sw - mx * my;
    // A flat SR depth carries no scale information: keep its level only.
    scale = vxx > 1e-10 ? vxy / vxx : 0;
    offset = my - scale * mx;
  }
  return { scale, offset };
}

export function applyDepthAffine(depth: Float32Array, fit: DepthAffine): Float32Array {
  const out = new Float32Array(depth.length);
  for (let k = 0; k < depth.length; k++) {
    const d = fit.scale * depth[k] + fit.offset;
    out[k] = d < 0 ? 0 : d > 1 ? 1 : d;
  }
  return out;
}

export interface BorderStats {
  readonly mean: number;
  readonly p95: number;
  readonly max: number;
}

/** |a − b| over the outermost `ring` pixels of a size×size crop: the step a patch border would show. */
export function borderDifference(a: Float32Array, b: Float32Array, size: number, ring = 1): BorderStats {
  const diffs: number[] = [];
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      if (Math.min(i, j, size - 1 - i, size - 1 - j) >= ring) continue;
      diffs.push(Math.abs(a[j * size + i] - b[j * size + i]));
    }
  }
  diffs.sort((x, y) => x - y);
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  return { mean, p95: diffs[Math.min(diffs.length - 1, Math.floor(diffs.length * 0.95))], max: diffs[diffs.length - 1] };
}

// ------------------------------------------------------------------------------------------------
// Back into the panorama: the detail layer
// ------------------------------------------------------------------------------------------------

/**
 * A higher-resolution equirect layer over the base panorama. rgba's alpha is the blend weight
 * (0 = show the base); depth is relative inverse depth, meaningful where alpha > 0.
 */
export interface DetailLayer {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
  readonly depth: Float32Array;
}

export function createDetailLayer(width = 4096, height = width / 2): DetailLayer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width !== 2 * height || height < 2) {
    throw new RangeError(`Detail layer: size must be 2:1 integers, got ${width} × ${height}.`);
  }
  return { width, height, rgba: new Uint8ClampedArray(width * height * 4), depth: new Float32Array(width * height) };
}

/** Rows y0..y1 (inclusive) and, per row, columns x0..x0+count−1 modulo width: what a patch touched. */
export interface LayerRegion {
  readonly y0: number;
  readonly y1: number;
  readonly x0: number;
  readonly count: number;
}

/**
 * Feather weight of crop pixel coordinates: 1 inside, falling smoothly to 0 at the crop edge over
 * `feather` pixels (smoothstep), 0 outside.
 */
export function featherWeight(x: number, y: number, size: number, feather: number): number {
  const e = Math.min(x, y, size - x, size - y);
  if (e <= 0) return 0;
  if (e >= feather) return 1;
  const s = e / feather;
  return s * s * (3 - 2 * s);
}

/** The equirect pixel rows and columns a crop can touch (with its seam and pole cases). */
export function cropRegion(basis: CropBasis, width: number, height: number): LayerRegion {
  const dir: Vec3 = { x: 0, y: 0, z: 0 };
  const centre = dirToUV(basis.forward.x, basis.forward.y, basis.forward.z);
  let vMin = Infinity;
  let vMax = -Infinity;
  let duMin = Infinity;
  let duMax = -Infinity;
  const steps = 64;
  const n = basis.size;
  for (let k = 0; k <= steps; k++) {
    const s = (k / steps) * n;
    for (const [x, y] of [
      [s, 0],
      [s, n],
      [0, s],
      [n, s],
    ] as const) {
      cropPixelToDirection(basis, x, y, dir);
      const { u, v } = dirToUV(dir.x, dir.y, dir.z);
      vMin = Math.min(vMin, v);
      vMax = Math.max(vMax, v);
      let du = u - centre.u;
      du -= Math.round(du);
      duMin = Math.min(duMin, du);
      duMax = Math.max(duMax, du);
    }
  }
  // A pole inside the crop: every longitude is touched, rows run to the image edge.
  let full = false;
  const north = directionToCropPixel(basis, { x: 0, y: 1, z: 0 });
  if (north && north.x >= 0 && north.x <= n && north.y >= 0 && north.y <= n) {
    vMin = 0;
    full = true;
  }
  const south = directionToCropPixel(basis, { x: 0, y: -1, z: 0 });
  if (south && south.x >= 0 && south.x <= n && south.y >= 0 && south.y <= n) {
    vMax = 1;
    full = true;
  }
  const y0 = Math.max(0, Math.floor(vMin * height) - 1);
  const y1 = Math.min(height - 1, Math.ceil(vMax * height) + 1);
  if (full || duMax - duMin >= 0.999) return { y0, y1, x0: 0, count: width };
  const x0 = Math.floor((centre.u + duMin) * width) - 1;
  const count = Math.min(width, Math.ceil((duMax - duMin) * width) + 3);
  return { y0, y1, x0: ((x0 % width) + width) % width, count };
}

export interface Patch {
  readonly size: number;
  /** size·size·3 sRGB values in [0, 1]. */
  readonly rgb: Float32Array;
  /** size·size relative inverse depth in [0, 1], already fitted to the base (fitDepthAffine). */
  readonly depth: Float32Array;
}

/**
 * Composites a patch (SR output of the crop `basis`, any size: its pixels span the same field of
 * view) over the layer with feathered borders: layer = layer·(1−w) + patch·w, alpha = 1−(1−a)(1−w).
 * Returns the region touched (for partial texture uploads).
 */
export function reprojectPatch(layer: DetailLayer, basis: CropBasis, patch: Patch, featherFraction = 0.125): LayerRegion {
  const { width, height, rgba, depth } = layer;
  const ps = patch.size;
  if (patch.rgb.length !== ps * ps * 3 || patch.depth.length !== ps * ps) throw new RangeError('reprojectPatch: patch buffers do not match its size.');
  // Crop coordinates scaled to the patch's resolution.
  const pb: CropBasis = { ...basis, size: ps };
  const feather = Math.max(1, featherFraction * ps);
  const region = cropRegion(basis, width, height);
  const dir: Vec3 = { x: 0, y: 0, z: 0 };
  const cp: CropPixel = { x: 0, y: 0 };
  for (let y = region.y0; y <= region.y1; y++) {
    const lat = (0.5 - (y + 0.5) / height) * Math.PI;
    const cl = Math.cos(lat);
    const sl = Math.sin(lat);
    for (let k = 0; k < region.count; k++) {
      const x = (region.x0 + k) % width;
      const lon = ((x + 0.5) / width - 0.5) * TWO_PI;
      dir.x = Math.sin(lon) * cl;
      dir.y = sl;
      dir.z = -Math.cos(lon) * cl;
      if (!directionToCropPixel(pb, dir, cp)) continue;
      const w = featherWeight(cp.x, cp.y, ps, feather);
      if (w <= 0) continue;
      // bilinear in the patch (pixel centres at i + 0.5), clamped at its edges
      let fx = cp.x - 0.5;
      let fy = cp.y - 0.5;
      fx = fx < 0 ? 0 : fx > ps - 1 ? ps - 1 : fx;
      fy = fy < 0 ? 0 : fy > ps - 1 ? ps - 1 : fy;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = x0 + 1 < ps ? x0 + 1 : x0;
      const y1 = y0 + 1 < ps ? y0 + 1 : y0;
      const ax = fx - x0;
      const ay = fy - y0;
      const i00 = y0 * ps + x0;
      const i10 = y0 * ps + x1;
      const i01 = y1 * ps + x0;
      const i11 = y1 * ps + x1;
      const w00 = (1 - ax) * (1 - ay);
      const w10 = ax * (1 - ay);
      const w01 = (1 - ax) * ay;
      const w11 = ax * ay;
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const v =
          (patch.rgb[i00 * 3 + c] * w00 + patch.rgb[i10 * 3 + c] * w10 + patch.rgb[i01 * 3 + c] * w01 + patch.rgb[i11 * 3 + c] * w11) * 255;
        rgba[o + c] = rgba[o + c] * (1 - w) + v * w;
      }
      const d = edgeAwareDepth(patch.depth[i00], patch.depth[i10], patch.depth[i01], patch.depth[i11], ax, ay);
      const a = rgba[o + 3] / 255;
      // depth blends like colour, but where nothing was there before, take the patch's as is
      depth[y * width + x] = a > 0 ? depth[y * width + x] * (1 - w) + d * w : d;
      rgba[o + 3] = (1 - (1 - a) * (1 - w)) * 255;
    }
  }
  return region;
}
