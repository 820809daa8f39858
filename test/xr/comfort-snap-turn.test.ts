import { describe, expect, it } from 'vitest';
import { SNAP_DEBOUNCE_MS, SNAP_REPEAT_MS, SNAP_TURN_RADIANS, SnapTurn, turnRigAboutHead } from '../../src/xr/comfort-snap-turn';

describe('SnapTurn', () => {
  it('one push is one 30 degree turn; right turns right (negative yaw)', () => {
    const s = new SnapTurn();
    expect(SNAP_TURN_RADIANS).toBeCloseTo(Math.PI / 6);
    expect(s.update(0.9, 0)).toBeCloseTo(-Math.PI / 6);
    expect(s.update(0.95, 16)).toBe(0);
    expect(s.update(1, 100)).toBe(0);
    expect(s.update(0, 120)).toBe(0); // released: re-armed
    expect(s.update(-0.8, 300)).toBeCloseTo(Math.PI / 6);
  });

  it('ignores small deflections and NaN', () => {
    const s = new SnapTurn();
    expect(s.update(0.5, 0)).toBe(0);
    expect(s.update(Number.NaN, 10)).toBe(0);
    expect(s.update(-0.55, 20)).toBe(0);
  });

  it('debounces a jittery stick that re-crosses the threshold right after a turn', () => {
    const s = new SnapTurn();
    expect(s.update(0.9, 0)).not.toBe(0);
    expect(s.update(0.1, 20)).toBe(0);
    expect(s.update(0.9, 40)).toBe(0); // within the debounce
    expect(s.update(0.9, SNAP_DEBOUNCE_MS + 1)).not.toBe(0); // still armed from the release
  });

  it('holding the stick repeats after SNAP_REPEAT_MS', () => {
    const s = new SnapTurn();
    expect(s.update(1, 0)).not.toBe(0);
    expect(s.update(1, SNAP_REPEAT_MS - 1)).toBe(0);
    expect(s.update(1, SNAP_REPEAT_MS)).not.toBe(0);
  });
});

describe('turnRigAboutHead', () => {
  it('keeps the head fixed and turns the world so that what was on the left is ahead', () => {
    // Rig centre at the origin, head 1 m to the right of it.
    const p = { x: 0, y: 0, z: 0 };
    const a = turnRigAboutHead(p, 1, 0, Math.PI / 2); // turn left 90°
    expect(a).toBeCloseTo(-Math.PI / 2);
    // The rig centre was 1 m left of the head; after turning left it is 1 m ahead (−Z).
    expect(p.x).toBeCloseTo(1);
    expect(p.z).toBeCloseTo(-1);
  });

  it('does not move a rig centred on the head', () => {
    const p = { x: 2, y: 1.6, z: -3 };
    turnRigAboutHead(p, 2, -3, 0.5);
    expect(p).toEqual({ x: 2, y: 1.6, z: -3 });
  });
});
