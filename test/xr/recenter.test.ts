import { Euler, Group, Quaternion, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { recenterRig, resetRig, yawOf } from '../../src/xr/recenter';

const q = (pitch: number, yaw: number, roll: number): Quaternion =>
  new Quaternion().setFromEuler(new Euler(pitch, yaw, roll, 'YXZ'));

describe('recenter', () => {
  it('takes only the heading of the head', () => {
    expect(yawOf(q(0, 0, 0))).toBeCloseTo(0, 12);
    expect(yawOf(q(0, 0.7, 0))).toBeCloseTo(0.7, 12);
    expect(yawOf(q(0.4, -1.2, 0.3))).toBeCloseTo(-1.2, 10);
    expect(yawOf(q(0, Math.PI - 0.01, 0))).toBeCloseTo(Math.PI - 0.01, 10);
    // Straight up: no heading.
    expect(yawOf(q(Math.PI / 2, 1, 0))).toBeCloseTo(0, 6);
  });

  it("puts the panorama's centre at the head and its front where the head looks, upright", () => {
    const rig = new Group();
    const head = new Vector3(0.3, 1.6, -0.2);
    recenterRig(rig, head, q(0.3, 0.9, 0.1));
    expect(rig.position.toArray()).toEqual([0.3, 1.6, -0.2]);
    // The panorama's front (−Z in the rig) now points along the head's horizontal heading.
    const front = new Vector3(0, 0, -1).applyQuaternion(rig.quaternion);
    const look = new Vector3(0, 0, -1).applyQuaternion(q(0.3, 0.9, 0.1));
    look.y = 0;
    look.normalize();
    expect(front.x).toBeCloseTo(look.x, 10);
    expect(front.z).toBeCloseTo(look.z, 10);
    expect(new Vector3(0, 1, 0).applyQuaternion(rig.quaternion).y).toBeCloseTo(1, 12);
    resetRig(rig);
    expect(rig.position.toArray()).toEqual([0, 0, 0]);
    expect(rig.rotation.y).toBe(0);
  });
});
