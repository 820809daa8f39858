/**
 * Snap turn: pushing the thumbstick left or right turns the view by a fixed angle at once, which
 * is far more comfortable than smooth turning. The stick must come back near the centre (or the
 * debounce time pass while it is held) before the next turn, so one push is one turn.
 */

export const SNAP_TURN_RADIANS = Math.PI / 6; // 30°
/** |x| above this turns. */
export const SNAP_ENGAGE = 0.6;
/** |x| below this re-arms. */
export const SNAP_RELEASE = 0.3;
/** Holding the stick turns again after this long. */
export const SNAP_REPEAT_MS = 400;
/** Ignore another engage this soon after a turn (jittery sticks crossing the threshold). */
export const SNAP_DEBOUNCE_MS = 150;

export class SnapTurn {
  private armed = true;
  private lastTurnAt = -Infinity;

  constructor(
    private readonly angle = SNAP_TURN_RADIANS,
    private readonly repeatMs = SNAP_REPEAT_MS,
    private readonly debounceMs = SNAP_DEBOUNCE_MS,
  ) {}

  /**
   * Feeds the stick's x axis (−1 left … 1 right) at time `nowMs`. Returns the yaw to add in
   * radians (positive turns the view left, as in three.js), or 0.
   */
  update(x: number, nowMs: number): number {
    if (!Number.isFinite(x)) return 0;
    const ax = Math.abs(x);
    if (ax < SNAP_RELEASE) {
      this.armed = true;
      return 0;
    }
    if (ax < SNAP_ENGAGE) return 0;
    const since = nowMs - this.lastTurnAt;
    if (since < this.debounceMs) return 0;
    if (!this.armed && since < this.repeatMs) return 0;
    this.armed = false;
    this.lastTurnAt = nowMs;
    // Stick right → turn right → yaw decreases.
    return x > 0 ? -this.angle : this.angle;
  }
}

interface MutableVec {
  x: number;
  y: number;
  z: number;
}

/**
 * Turning the viewer by `yaw` about the head is the same as turning the world (the rig) by −yaw
 * about the vertical line through the head: rotates `position` (the rig's origin) about
 * (headX, headZ) and returns the rig's new heading increment. Mutates `position` in place.
 */
export function turnRigAboutHead(position: MutableVec, headX: number, headZ: number, yaw: number): number {
  const a = -yaw;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const dx = position.x - headX;
  const dz = position.z - headZ;
  // Rotation about +Y: x' = x cos + z sin, z' = −x sin + z cos.
  position.x = headX + dx * c + dz * s;
  position.z = headZ - dx * s + dz * c;
  return a;
}
