/**
 * Where the VR main panel stands, and how it moves (issue 14 item 8). The panel's group origin is
 * the panel's centre; the panel always faces the head (its +Z toward the eye, up kept vertical, so
 * text never rolls).
 *
 * Placement at the emulator's default pose (Meta Quest 3 profile: vertical field of view 90°, head
 * level): the panel (about 0.85 m tall) subtends about 39° at PANEL_DISTANCE; with its centre
 * PANEL_PITCH (25°) below eye level its top is about 5° below the line of sight (clear of the 3.2°
 * marker straight ahead in the test room, viewer.e2e.ts) and its bottom about 44° below, inside the
 * view's lower half (45°), Generate / Cancel at about 37°. test/e2e/vr-pointer.e2e.ts projects them.
 */
import { Euler, Quaternion, Vector3, type Object3D } from 'three';
import { yawOf } from '../../xr/recenter';

/** Metres from the eye to the panel's centre. */
export const PANEL_DISTANCE = 1.2;
/** Radians below eye level of the panel's centre. */
export const PANEL_PITCH = 0.435;

const v = new Vector3();
const q = new Quaternion();
const e = new Euler(0, 0, 0, 'YXZ');

/** Local pose of the panel at the default placement, relative to a head-aligned parent (the rig). */
export function defaultPanelPose(target: Object3D): void {
  target.position.set(0, -Math.sin(PANEL_PITCH) * PANEL_DISTANCE, -Math.cos(PANEL_PITCH) * PANEL_DISTANCE);
  target.quaternion.setFromEuler(e.set(-PANEL_PITCH, 0, 0, 'YXZ'));
  target.updateMatrixWorld();
}

/**
 * Recall: the default placement, but in front of where the head looks now (its heading; the head's
 * pitch is ignored so the panel never ends up overhead). `panel`'s parent may be moved and turned
 * (the rig); the pose is computed in the world and converted.
 */
export function placeInFront(panel: Object3D, headPosition: Vector3, headQuaternion: Quaternion): void {
  const yaw = yawOf(headQuaternion);
  e.set(-PANEL_PITCH, yaw, 0, 'YXZ');
  const world = new Quaternion().setFromEuler(e);
  const at = new Vector3(0, 0, -PANEL_DISTANCE).applyQuaternion(world).add(headPosition);
  setWorldPose(panel, at, world);
}

/**
 * Places `target` (e.g. the gallery) at `local` pose relative to the head's heading, as it stands
 * relative to the rig at the start of a session: recall brings the gallery along to the main
 * panel's left, instead of leaving it where the recalled panel now stands.
 */
export function placeAroundHead(target: Object3D, localPosition: Vector3, localYaw: number, headPosition: Vector3, headQuaternion: Quaternion): void {
  const world = new Quaternion().setFromEuler(e.set(0, yawOf(headQuaternion), 0, 'YXZ'));
  const at = localPosition.clone().applyQuaternion(world).add(headPosition);
  world.multiply(new Quaternion().setFromEuler(e.set(0, localYaw, 0, 'YXZ')));
  setWorldPose(target, at, world);
}

/**
 * Grab-bar drag: moves the panel so that `grabbed` (a point of the panel in its own local frame,
 * recorded when the drag began) lies at `point` (world), with the panel facing `head`.
 */
export function dragTo(panel: Object3D, grabbed: Vector3, point: Vector3, head: Vector3): void {
  // The orientation depends on the centre and the centre on the orientation: a few fixed-point
  // rounds settle it (the grab offset is small next to the distance to the head).
  panel.updateWorldMatrix(true, false);
  const world = panel.getWorldQuaternion(new Quaternion());
  const centre = new Vector3();
  for (let i = 0; i < 3; i++) {
    centre.copy(grabbed).applyQuaternion(world).negate().add(point);
    facing(centre, head, world);
  }
  centre.copy(grabbed).applyQuaternion(world).negate().add(point);
  setWorldPose(panel, centre, world);
}

/** Orientation of a panel at `from` whose +Z points at `to`, up kept vertical. */
export function facing(from: Vector3, to: Vector3, target: Quaternion): Quaternion {
  v.subVectors(to, from);
  const yaw = Math.atan2(v.x, v.z);
  const pitch = Math.atan2(-v.y, Math.hypot(v.x, v.z));
  return target.setFromEuler(e.set(pitch, yaw, 0, 'YXZ'));
}

function setWorldPose(panel: Object3D, position: Vector3, orientation: Quaternion): void {
  const parent = panel.parent;
  if (parent) {
    parent.updateWorldMatrix(true, false);
    parent.worldToLocal(panel.position.copy(position));
    panel.quaternion.copy(parent.getWorldQuaternion(q).invert().multiply(orientation));
  } else {
    panel.position.copy(position);
    panel.quaternion.copy(orientation);
  }
  panel.updateMatrixWorld();
}
