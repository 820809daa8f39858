import { PerspectiveCamera, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import {
  applyDrag,
  applyKeys,
  DesktopLook,
  KEY_RADIANS_PER_SECOND,
  MAX_KEY_DT,
  MAX_PITCH,
  wrapAngle,
  type LookAngles,
} from '../../src/xr/desktop-look';

const forwardOf = (yaw: number, pitch: number): Vector3 => {
  const cam = new PerspectiveCamera();
  cam.rotation.set(pitch, yaw, 0, 'YXZ');
  return cam.getWorldDirection(new Vector3());
};

describe('desktop look', () => {
  it('left arrow turns the view left (toward −X), up arrow looks up', () => {
    const a: LookAngles = { yaw: 0, pitch: 0 };
    applyKeys(a, new Set(['ArrowLeft']), 0.02);
    expect(a.yaw).toBeCloseTo(KEY_RADIANS_PER_SECOND * 0.02, 10);
    expect(forwardOf(a.yaw, a.pitch).x).toBeLessThan(0);
    applyKeys(a, new Set(['KeyW']), 0.02);
    expect(forwardOf(a.yaw, a.pitch).y).toBeGreaterThan(0);
    const b: LookAngles = { yaw: 0, pitch: 0 };
    applyKeys(b, new Set(['ArrowRight', 'KeyS']), 0.02);
    expect(forwardOf(b.yaw, b.pitch).x).toBeGreaterThan(0);
    expect(forwardOf(b.yaw, b.pitch).y).toBeLessThan(0);
  });

  it('never integrates more than MAX_KEY_DT per frame (no jump after a stall)', () => {
    const a: LookAngles = { yaw: 0, pitch: 0 };
    applyKeys(a, new Set(['ArrowLeft']), 5);
    expect(a.yaw).toBeCloseTo(KEY_RADIANS_PER_SECOND * MAX_KEY_DT, 10);
  });

  it('dragging right pulls the scene right (view turns left); pitch stops short of the poles', () => {
    const a: LookAngles = { yaw: 0, pitch: 0 };
    applyDrag(a, 100, 0);
    expect(a.yaw).toBeGreaterThan(0);
    applyDrag(a, 0, 100000);
    expect(a.pitch).toBe(MAX_PITCH);
    applyDrag(a, 0, -300000);
    expect(a.pitch).toBe(-MAX_PITCH);
  });

  it('wraps yaw into (−π, π]', () => {
    expect(wrapAngle(0)).toBeCloseTo(0, 12);
    expect(wrapAngle(Math.PI)).toBeCloseTo(Math.PI, 12);
    expect(wrapAngle(-Math.PI)).toBeCloseTo(Math.PI, 12);
    expect(wrapAngle(3 * Math.PI + 0.5)).toBeCloseTo(-Math.PI + 0.5, 12);
  });

  it('drives a camera from DOM events and cleans up its listeners', () => {
    // Minimal event targets: Node has EventTarget but no DOM.
    const surface = Object.assign(new EventTarget(), { style: { touchAction: '' }, setPointerCapture: () => {} });
    const win = new EventTarget();
    const look = new DesktopLook(surface as unknown as HTMLElement, win as unknown as Window);
    const key = (type: string, code: string): Event => Object.assign(new Event(type), { code });
    win.dispatchEvent(key('keydown', 'ArrowLeft'));
    const cam = new PerspectiveCamera();
    look.update(cam, 0.04);
    expect(cam.rotation.y).toBeCloseTo(KEY_RADIANS_PER_SECOND * 0.04, 10);
    win.dispatchEvent(key('keyup', 'ArrowLeft'));
    look.update(cam, 0.04);
    expect(cam.rotation.y).toBeCloseTo(KEY_RADIANS_PER_SECOND * 0.04, 10);
    expect(surface.style.touchAction).toBe('none');
    look.recenter();
    look.update(cam, 0.04);
    expect(cam.rotation.y).toBe(0);
    look.dispose();
    expect(surface.style.touchAction).toBe('');
    win.dispatchEvent(key('keydown', 'ArrowLeft'));
    look.update(cam, 0.04);
    expect(cam.rotation.y).toBe(0);
  });

  it('asks for frames while the view moves and never while it is still (the desktop renders on demand)', () => {
    const surface = Object.assign(new EventTarget(), { style: { touchAction: '' }, setPointerCapture: () => {} });
    const win = new EventTarget();
    let requests = 0;
    const look = new DesktopLook(surface as unknown as HTMLElement, win as unknown as Window, () => requests++);
    const cam = new PerspectiveCamera();
    const pointer = (type: string, x: number, y: number): Event => Object.assign(new Event(type), { button: 0, pointerId: 1, clientX: x, clientY: y });
    const key = (type: string, code: string): Event => Object.assign(new Event(type), { code });

    look.update(cam, 0.04);
    expect(requests).toBe(0);
    // A drag: each move asks for the frame that shows it; a move without a press does not.
    surface.dispatchEvent(pointer('pointermove', 10, 10));
    expect(requests).toBe(0);
    surface.dispatchEvent(pointer('pointerdown', 10, 10));
    surface.dispatchEvent(pointer('pointermove', 40, 10));
    surface.dispatchEvent(pointer('pointermove', 60, 20));
    expect(requests).toBe(2);
    surface.dispatchEvent(pointer('pointerup', 60, 20));
    surface.dispatchEvent(pointer('pointermove', 90, 20));
    expect(requests).toBe(2);
    // A held key: the press asks for a frame, and every frame while held asks for the next.
    win.dispatchEvent(key('keydown', 'ArrowLeft'));
    expect(requests).toBe(3);
    look.update(cam, 0.04);
    look.update(cam, 0.04);
    expect(requests).toBe(5);
    win.dispatchEvent(key('keyup', 'ArrowLeft'));
    look.update(cam, 0.04);
    expect(requests).toBe(5);
    // Recenter moves the view too.
    look.recenter();
    expect(requests).toBe(6);
    look.dispose();
  });
});
