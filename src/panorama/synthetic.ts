/**
 * A known 3-D scene ray-cast into an equirectangular RGB + depth panorama, with its ground truth.
 * The app opens on it (no model needed) and the tests reconstruct it: every distance is known, so
 * "the mesh lands within 2 % of the truth" and "the marker is straight ahead" can be measured.
 *
 * All coordinates are eye-relative metres in three.js axes (eye at the origin, +X right, +Y up,
 * −Z straight ahead). The room is deliberately off-centre so left/right or front/back mix-ups
 * change distances and fail tests.
 */
import { mappingForDistanceRange } from './depth-mapping';
import { pixelDirections, type Vec3 } from './equirect';
import type { DepthMapping, RGBDPanorama } from './types';

export type RGB = readonly [number, number, number];

export interface SceneBox {
  readonly min: Vec3;
  readonly max: Vec3;
  readonly colour: RGB;
}

export interface SceneSphere {
  readonly centre: Vec3;
  readonly radius: number;
  readonly colour: RGB;
}

export interface SyntheticScene {
  /** Interior of the room; the eye (origin) must be inside. */
  readonly room: { readonly min: Vec3; readonly max: Vec3 };
  /** Colours of floor, ceiling, front (−Z), back (+Z), left (−X), right (+X). */
  readonly roomColours: readonly [RGB, RGB, RGB, RGB, RGB, RGB];
  readonly boxes: readonly SceneBox[];
  readonly spheres: readonly SceneSphere[];
  /** A flat disc on the front wall, drawn unshaded in `colour`. */
  readonly marker: { readonly centre: Vec3; readonly radius: number; readonly colour: RGB };
}

/**
 * Surface ids in `SyntheticPanorama.surface`, one per flat face (so "same id" means "same plane"):
 * the six room faces, then six per box, then one per sphere.
 */
export const SURFACE_FLOOR = 0;
export const SURFACE_CEILING = 1;
export const SURFACE_FRONT = 2;
export const SURFACE_BACK = 3;
export const SURFACE_LEFT = 4;
export const SURFACE_RIGHT = 5;
/** The first object id: every id ≥ this is a box face or a sphere. */
export const SURFACE_FIRST_BOX = 6;
/**
 * Id of one face of box `boxIndex`, by its outward normal: 0 −X, 1 +X, 2 −Y, 3 +Y, 4 −Z, 5 +Z.
 */
export function boxSurfaceId(boxIndex: number, normal: number): number {
  return SURFACE_FIRST_BOX + 6 * boxIndex + normal;
}
export function sphereSurfaceId(scene: SyntheticScene, sphereIndex: number): number {
  return SURFACE_FIRST_BOX + 6 * scene.boxes.length + sphereIndex;
}

/** Pure magenta: appears nowhere else in the scene, so the marker is found by exact colour. */
export const MARKER_COLOUR: RGB = [255, 0, 255];

/**
 * A 6 m × 8 m × 3 m room, eye 1.6 m above the floor, 0.4 m left of the centre line and 0.5 m in
 * front of the middle. The marker (r = 0.25 m) is on the front wall 4.5 m straight ahead at eye
 * height; nothing stands between it and the eye. Nearest surface: the teal box ≈ 1.0 m to the
 * right; farthest: the far corners ≈ 5.9 m.
 */
export const SYNTHETIC_SCENE: SyntheticScene = {
  room: { min: { x: -2.6, y: -1.6, z: -4.5 }, max: { x: 3.4, y: 1.4, z: 3.5 } },
  roomColours: [
    [150, 110, 70], // floor: wood
    [235, 232, 222], // ceiling: off-white
    [120, 160, 210], // front: light blue
    [140, 190, 130], // back: pale green
    [225, 200, 120], // left: yellow
    [200, 120, 100], // right: terracotta
  ],
  boxes: [
    { min: { x: -2.0, y: -1.6, z: -2.6 }, max: { x: -1.0, y: -0.85, z: -1.6 }, colour: [200, 40, 40] }, // red table, front left
    { min: { x: 1.0, y: -1.6, z: -1.0 }, max: { x: 1.8, y: -0.2, z: 0.2 }, colour: [40, 170, 170] }, // teal cabinet, right
    { min: { x: -1.0, y: -1.6, z: 1.5 }, max: { x: 0.5, y: -1.1, z: 2.5 }, colour: [235, 140, 30] }, // orange crate, behind
  ],
  spheres: [{ centre: { x: 1.5, y: -0.6, z: -2.8 }, radius: 0.5, colour: [70, 80, 210] }], // blue ball, front right
  marker: { centre: { x: 0, y: 0, z: -4.5 }, radius: 0.25, colour: MARKER_COLOUR },
};

export interface SyntheticPanorama {
  /** Colour and relative inverse depth, exactly as an LDM3D output would be laid out. */
  readonly panorama: RGBDPanorama;
  /** Ground truth: metres from the eye to the first hit along each pixel-centre ray. */
  readonly distance: Float32Array;
  /** Ground truth: which flat face each pixel-centre ray hits (SURFACE_*, boxSurfaceId, sphereSurfaceId). */
  readonly surface: Uint8Array;
  /**
   * near = the smallest, far = the largest pixel distance: the depth is per-image min–max
   * normalised inverse depth (as MiDaS-style depth is), so under this mapping
   * inverseDepthToDistance(depth[i]) = distance[i] up to float32 rounding.
   */
  readonly mapping: DepthMapping;
  readonly scene: SyntheticScene;
}

export interface Hit {
  /** Metres along the ray (the direction must be unit length for this to be metres). */
  distance: number;
  surface: number;
}

/**
 * First hit of the ray from the eye along `dir` (any non-zero direction; distance is in units of
 * |dir|). Used per pixel by the renderer and per vertex by tests for exact ground truth.
 */
export function traceScene(dir: Vec3, scene: SyntheticScene = SYNTHETIC_SCENE, out: Hit = { distance: 0, surface: 0 }): Hit {
  return trace(dir.x, dir.y, dir.z, scene, out);
}

/**
 * Outward normal of the last hit as an axis code (0/1: −X/+X, 2/3: −Y/+Y, 4/5: −Z/+Z; −1 for a
 * sphere). Module scratch rather than a field of Hit: the renderer needs it per pixel, callers
 * of traceScene never do.
 */
let lastNormalAxis = -1;

function trace(dx: number, dy: number, dz: number, scene: SyntheticScene, out: Hit): Hit {
  const { min, max } = scene.room;
  // The eye is inside the room: the exit distance along each axis, nearest wins. Room faces
  // point inward, hence the "opposite" axis codes.
  let t = Infinity;
  let surface = 0;
  let axis = -1;
  if (dx !== 0) {
    const tx = (dx > 0 ? max.x : min.x) / dx;
    if (tx < t) {
      t = tx;
      surface = dx > 0 ? SURFACE_RIGHT : SURFACE_LEFT;
      axis = dx > 0 ? 0 : 1;
    }
  }
  if (dy !== 0) {
    const ty = (dy > 0 ? max.y : min.y) / dy;
    if (ty < t) {
      t = ty;
      surface = dy > 0 ? SURFACE_CEILING : SURFACE_FLOOR;
      axis = dy > 0 ? 2 : 3;
    }
  }
  if (dz !== 0) {
    const tz = (dz > 0 ? max.z : min.z) / dz;
    if (tz < t) {
      t = tz;
      surface = dz > 0 ? SURFACE_BACK : SURFACE_FRONT;
      axis = dz > 0 ? 4 : 5;
    }
  }
  const boxes = scene.boxes;
  for (let b = 0; b < boxes.length; b++) {
    const box = boxes[b];
    // Slab test from the origin (the eye is outside every box): the ray is inside the box for
    // t ∈ [max of the slabs' entries, min of their exits]. Written out per axis: it runs per pixel.
    let t0 = 0;
    let t1 = t;
    let enter = -1;
    if (dx !== 0) {
      const a = box.min.x / dx;
      const c = box.max.x / dx;
      const lo = a < c ? a : c;
      const hi = a < c ? c : a;
      if (lo > t0) {
        t0 = lo;
        enter = dx > 0 ? 0 : 1;
      }
      if (hi < t1) t1 = hi;
    } else if (box.min.x > 0 || box.max.x < 0) continue;
    if (dy !== 0) {
      const a = box.min.y / dy;
      const c = box.max.y / dy;
      const lo = a < c ? a : c;
      const hi = a < c ? c : a;
      if (lo > t0) {
        t0 = lo;
        enter = dy > 0 ? 2 : 3;
      }
      if (hi < t1) t1 = hi;
    } else if (box.min.y > 0 || box.max.y < 0) continue;
    if (dz !== 0) {
      const a = box.min.z / dz;
      const c = box.max.z / dz;
      const lo = a < c ? a : c;
      const hi = a < c ? c : a;
      if (lo > t0) {
        t0 = lo;
        enter = dz > 0 ? 4 : 5;
      }
      if (hi < t1) t1 = hi;
    } else if (box.min.z > 0 || box.max.z < 0) continue;
    if (enter >= 0 && t0 <= t1 && t0 < t) {
      t = t0;
      surface = boxSurfaceId(b, enter);
      axis = enter;
    }
  }
  const spheres = scene.spheres;
  const dd = dx * dx + dy * dy + dz * dz;
  for (let s = 0; s < spheres.length; s++) {
    const { centre, radius } = spheres[s];
    // |t·d − c|² = r²  ⇒  dd·t² − 2(d·c)t + |c|² − r² = 0; the eye is outside, take the near root.
    const b = dx * centre.x + dy * centre.y + dz * centre.z;
    const c = centre.x * centre.x + centre.y * centre.y + centre.z * centre.z - radius * radius;
    const disc = b * b - dd * c;
    if (disc < 0 || b <= 0) continue;
    const ts = (b - Math.sqrt(disc)) / dd;
    if (ts > 0 && ts < t) {
      t = ts;
      surface = sphereSurfaceId(scene, s);
      axis = -1;
    }
  }
  out.distance = t;
  out.surface = surface;
  lastNormalAxis = axis;
  return out;
}

/**
 * Unit normal of surface `surface` at point p, facing the eye's side (room faces inward, objects
 * outward). For ground truth in tests, e.g. the angle a face is seen at.
 */
export function surfaceNormal(scene: SyntheticScene, surface: number, p: Vec3): Vec3 {
  const axis =
    surface < SURFACE_FIRST_BOX
      ? [3, 2, 5, 4, 1, 0][surface] // floor +Y, ceiling −Y, front +Z, back −Z, left +X, right −X
      : surface < sphereSurfaceId(scene, 0)
        ? (surface - SURFACE_FIRST_BOX) % 6
        : -1;
  if (axis >= 0) {
    const sign = axis % 2 === 0 ? -1 : 1;
    const k = axis >> 1;
    return { x: k === 0 ? sign : 0, y: k === 1 ? sign : 0, z: k === 2 ? sign : 0 };
  }
  const { centre, radius } = scene.spheres[surface - sphereSurfaceId(scene, 0)];
  return { x: (p.x - centre.x) / radius, y: (p.y - centre.y) / radius, z: (p.z - centre.z) / radius };
}

// A fixed key light from above-front-right plus ambient, so faces read apart without a renderer.
const LIGHT_X = 0.37;
const LIGHT_Y = 0.84;
const LIGHT_Z = 0.4;
/** Brightness of each axis-aligned normal (axis code order of lastNormalAxis). */
const AXIS_SHADE = [-LIGHT_X, LIGHT_X, -LIGHT_Y, LIGHT_Y, -LIGHT_Z, LIGHT_Z].map((l) => 0.7 + 0.3 * Math.max(0, l));

/** 1 m grid lines on the room's faces (2 cm wide) so the viewer can judge scale and parallax. */
function nearGridLine(c: number): boolean {
  const f = c - Math.floor(c);
  return f < 0.01 || f > 0.99;
}

/**
 * Ray-casts the scene into a width × height panorama (one ray per pixel centre, so colour, depth
 * and ground truth describe exactly the same point). width must be 2·height. ~40–100 ms for
 * 1024 × 512 in Node.
 */
export function renderSyntheticPanorama(
  width = 1024,
  height: number = width / 2,
  scene: SyntheticScene = SYNTHETIC_SCENE,
): SyntheticPanorama {
  if (!Number.isInteger(width) || !Number.isInteger(height) || height < 2 || width !== 2 * height) {
    throw new RangeError(`Synthetic panorama: size must be 2:1 integers, got ${width} × ${height}.`);
  }
  const n = width * height;
  const dirs = pixelDirections(width, height);
  const distance = new Float32Array(n);
  const surface = new Uint8Array(n);
  const rgba = new Uint8ClampedArray(n * 4);
  const hit: Hit = { distance: 0, surface: 0 };
  const firstSphere = sphereSurfaceId(scene, 0);
  const m = scene.marker;
  let minD = Infinity;
  let maxD = 0;

  for (let i = 0; i < n; i++) {
    const dx = dirs[i * 3];
    const dy = dirs[i * 3 + 1];
    const dz = dirs[i * 3 + 2];
    trace(dx, dy, dz, scene, hit);
    const t = hit.distance;
    distance[i] = t;
    surface[i] = hit.surface;
    if (distance[i] < minD) minD = distance[i];
    if (distance[i] > maxD) maxD = distance[i];

    const px = dx * t;
    const py = dy * t;
    const pz = dz * t;
    let colour: RGB;
    let k: number;
    if (
      hit.surface === SURFACE_FRONT &&
      (px - m.centre.x) ** 2 + (py - m.centre.y) ** 2 <= m.radius * m.radius
    ) {
      colour = m.colour;
      k = 1;
    } else {
      colour =
        hit.surface < SURFACE_FIRST_BOX
          ? scene.roomColours[hit.surface]
          : hit.surface < firstSphere
            ? scene.boxes[Math.floor((hit.surface - SURFACE_FIRST_BOX) / 6)].colour
            : scene.spheres[hit.surface - firstSphere].colour;
      if (lastNormalAxis >= 0) {
        k = AXIS_SHADE[lastNormalAxis];
      } else {
        const { centre, radius } = scene.spheres[hit.surface - firstSphere];
        const l = ((px - centre.x) * LIGHT_X + (py - centre.y) * LIGHT_Y + (pz - centre.z) * LIGHT_Z) / radius;
        k = 0.7 + 0.3 * Math.max(0, l);
      }
      if (hit.surface < SURFACE_FIRST_BOX) {
        // Floor-relative height, so the wall lines sit at whole metres above the floor.
        const h = py - scene.room.min.y;
        const line =
          hit.surface === SURFACE_FLOOR || hit.surface === SURFACE_CEILING
            ? nearGridLine(px) || nearGridLine(pz)
            : hit.surface === SURFACE_FRONT || hit.surface === SURFACE_BACK
              ? nearGridLine(px) || nearGridLine(h)
              : nearGridLine(pz) || nearGridLine(h);
        if (line) k *= 0.6;
      }
    }
    rgba[i * 4] = colour[0] * k;
    rgba[i * 4 + 1] = colour[1] * k;
    rgba[i * 4 + 2] = colour[2] * k;
    rgba[i * 4 + 3] = 255;
  }

  const mapping = mappingForDistanceRange(minD, maxD);
  const invFar = 1 / maxD;
  const invRange = 1 / minD - invFar;
  const depth = new Float32Array(n);
  for (let i = 0; i < n; i++) depth[i] = Math.min(1, Math.max(0, (1 / distance[i] - invFar) / invRange));

  return { panorama: { width, height, rgba, depth }, distance, surface, mapping, scene };
}
