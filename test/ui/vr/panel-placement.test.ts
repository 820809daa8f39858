import { Group, Quaternion, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { defaultPanelPose, dragTo, PANEL_DISTANCE, PANEL_PITCH, placeAroundHead, placeInFront } from '../../../src/ui/vr/panel-placement';

/** Cosine between the panel's front (+Z) and the direction from its centre to `eye`. */
function facing(panel: Group, eye: Vector3): number {
  const centre = panel.getWorldPosition(new Vector3());
  const normal = new Vector3(0, 0, 1).applyQuaternion(panel.getWorldQuaternion(new Quaternion()));
  return normal.dot(eye.clone().sub(centre).normalize());
}

/** A rig moved and turned as recentering leaves it, with the panel inside. */
function rigWithPanel(): { rig: Group; panel: Group } {
  const rig = new Group();
  rig.position.set(0.3, 1.6, -0.2);
  rig.rotation.set(0, 0.7, 0);
  const panel = new Group();
  rig.add(panel);
  rig.updateMatrixWorld();
  return { rig, panel };
}

describe('VR panel placement', () => {
  it('stands PANEL_DISTANCE ahead, PANEL_PITCH below eye level, facing the eye', () => {
    const panel = new Group();
    defaultPanelPose(panel);
    expect(panel.position.length()).toBeCloseTo(PANEL_DISTANCE, 6);
    expect(Math.atan2(-panel.position.y, -panel.position.z)).toBeCloseTo(PANEL_PITCH, 6);
    expect(facing(panel, new Vector3())).toBeCloseTo(1, 6);
  });

  it('recall puts it in front of the head heading, whatever the rig, ignoring head pitch', () => {
    const { panel } = rigWithPanel();
    const head = new Vector3(0.5, 1.5, 0.4);
    // Heading 2 rad to the left, looking 0.5 rad down: the pitch must not lower the panel further.
    const q = new Quaternion().setFromAxisAngle(new Vector3(0, 1, 0), 2).multiply(new Quaternion().setFromAxisAngle(new Vector3(1, 0, 0), -0.5));
    placeInFront(panel, head, q);
    const at = panel.getWorldPosition(new Vector3()).sub(head);
    expect(at.length()).toBeCloseTo(PANEL_DISTANCE, 6);
    expect(Math.atan2(-at.x, -at.z)).toBeCloseTo(2, 6);
    expect(Math.atan2(-at.y, Math.hypot(at.x, at.z))).toBeCloseTo(PANEL_PITCH, 6);
    expect(facing(panel, head)).toBeCloseTo(1, 6);
  });

  it('the gallery keeps its place relative to the head heading on recall', () => {
    const { panel: gallery } = rigWithPanel();
    const head = new Vector3(0, 1.6, 0);
    const local = new Vector3(-0.62, -0.2, -0.45);
    placeAroundHead(gallery, local, 0.94, head, new Quaternion().setFromAxisAngle(new Vector3(0, 1, 0), Math.PI / 2));
    // Heading a quarter turn to the left: the gallery's place turns with it (ahead, −Z, becomes −X).
    const at = gallery.getWorldPosition(new Vector3()).sub(head);
    expect(at.x).toBeCloseTo(-0.45, 6);
    expect(at.y).toBeCloseTo(-0.2, 6);
    expect(at.z).toBeCloseTo(0.62, 6);
  });

  it('a drag puts the grabbed point on the ray and turns the panel to the head', () => {
    const { panel } = rigWithPanel();
    defaultPanelPose(panel);
    const head = new Vector3(0.3, 1.6, -0.2);
    const grabbed = new Vector3(0.1, 0.4, 0); // on the bar, right of the centre
    const target = new Vector3(1.2, 1.9, -0.9);
    dragTo(panel, grabbed, target, head);
    panel.updateMatrixWorld();
    expect(panel.localToWorld(grabbed.clone()).distanceTo(target)).toBeLessThan(1e-6);
    expect(facing(panel, head)).toBeGreaterThan(0.9999);
    // Up stays up: the panel's x axis is level (no roll).
    expect(new Vector3(1, 0, 0).applyQuaternion(panel.getWorldQuaternion(new Quaternion())).y).toBeCloseTo(0, 6);
  });
});
