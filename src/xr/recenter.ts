/**
 * Recentering: put the panorama's centre at the viewer's head and its front (the image's centre
 * column) where the viewer is looking, keeping up = up. Only yaw is taken from the head: pitch
 * and roll would tilt the horizon.
 */
import { Vector3, type Object3D } from 'three';

interface Quat {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly w: number;
}
interface Vec {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

const forward = new Vector3();

/**
 * Heading of an orientation: the angle about +Y that turns −Z (straight ahead) toward the
 * horizontal part of where the rotated −Z points. 0 = ahead, +π/2 = looking left (−X).
 * Looking straight up or down has no heading; 0 is returned.
 */
export function yawOf(q: Quat): number {
  // Rotated −Z = −(third column of the rotation matrix).
  forward.set(-2 * (q.x * q.z + q.w * q.y), -2 * (q.y * q.z - q.w * q.x), -(1 - 2 * (q.x * q.x + q.y * q.y)));
  if (forward.x * forward.x + forward.z * forward.z < 1e-12) return 0;
  return Math.atan2(-forward.x, -forward.z);
}

/** Moves `rig` (the group holding the panorama) so its centre is `head` and its front faces the head's heading. */
export function recenterRig(rig: Object3D, head: Vec, orientation: Quat): void {
  rig.position.set(head.x, head.y, head.z);
  rig.rotation.set(0, yawOf(orientation), 0);
  rig.updateMatrixWorld();
}

/** Desktop and after a session: the panorama centred on the origin, front along −Z. */
export function resetRig(rig: Object3D): void {
  rig.position.set(0, 0, 0);
  rig.rotation.set(0, 0, 0);
  rig.updateMatrixWorld();
}
