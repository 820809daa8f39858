/**
 * Desktop look-around: drag with the mouse (or a finger) to turn the view, arrow keys / WASD to
 * turn with the keyboard. Only rotation: the panorama is captured from one point, so the desktop
 * camera stays at its centre. Setup returns nothing allocated per frame; `update` mutates the
 * camera in place.
 */
import type { Camera } from 'three';

export interface LookAngles {
  /** Radians about +Y; positive turns the view to the left (three.js's right-handed frame). */
  yaw: number;
  /** Radians about the camera's X axis; positive looks up. Clamped short of the poles. */
  pitch: number;
}

export const MAX_PITCH = (85 * Math.PI) / 180;
/** Radians per CSS pixel of drag: a full-width drag of ~1000 px turns about 100°. */
export const DRAG_RADIANS_PER_PIXEL = 0.0018;
/** Radians per second while a key is held. */
export const KEY_RADIANS_PER_SECOND = 1.5;

export function clampPitch(p: number): number {
  return Math.max(-MAX_PITCH, Math.min(MAX_PITCH, p));
}

/**
 * Drag moves the picture with the pointer (as in panorama viewers): dragging right pulls the
 * scene right, i.e. turns the view left (yaw increases); dragging down looks up.
 */
export function applyDrag(a: LookAngles, dx: number, dy: number): void {
  a.yaw = wrapAngle(a.yaw + dx * DRAG_RADIANS_PER_PIXEL);
  a.pitch = clampPitch(a.pitch + dy * DRAG_RADIANS_PER_PIXEL);
}

/**
 * Longest frame time integrated at once: after a stall (tab in the background, a slow software
 * renderer) a held key must not spin the view by a large jump.
 */
export const MAX_KEY_DT = 0.05;

/** Keys held → turn rates; left/A turns left (yaw up), up/W looks up. */
export function applyKeys(a: LookAngles, keys: ReadonlySet<string>, frameDt: number): void {
  const dt = Math.min(Math.max(frameDt, 0), MAX_KEY_DT);
  let turn = 0;
  let tilt = 0;
  if (keys.has('ArrowLeft') || keys.has('KeyA')) turn += 1;
  if (keys.has('ArrowRight') || keys.has('KeyD')) turn -= 1;
  if (keys.has('ArrowUp') || keys.has('KeyW')) tilt += 1;
  if (keys.has('ArrowDown') || keys.has('KeyS')) tilt -= 1;
  if (turn === 0 && tilt === 0) return;
  a.yaw = wrapAngle(a.yaw + turn * KEY_RADIANS_PER_SECOND * dt);
  a.pitch = clampPitch(a.pitch + tilt * KEY_RADIANS_PER_SECOND * dt);
}

/** Keeps yaw in (−π, π] so it never loses precision after long spinning. */
export function wrapAngle(x: number): number {
  const t = (x + Math.PI) % (2 * Math.PI);
  return (t <= 0 ? t + 2 * Math.PI : t) - Math.PI;
}

const LOOK_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'KeyA', 'KeyD', 'KeyW', 'KeyS']);

function isTypingTarget(t: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(t instanceof HTMLElement)) return false;
  const tag = t.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || tag === 'BUTTON' || t.isContentEditable;
}

export class DesktopLook {
  readonly angles: LookAngles = { yaw: 0, pitch: 0 };
  private readonly keys = new Set<string>();
  private dragging: number | null = null;
  private lastX = 0;
  private lastY = 0;
  private readonly cleanups: Array<() => void> = [];

  /**
   * Listens on `surface` for drags and on `keyTarget` (the window) for keys. `onChange` asks for
   * a frame: the desktop view renders on demand, so a drag or a held key must request the frames
   * that show it.
   */
  constructor(surface: HTMLElement, keyTarget: Window = window, private readonly onChange: () => void = () => {}) {
    const down = (e: PointerEvent): void => {
      if (e.button !== 0) return;
      this.dragging = e.pointerId;
      this.lastX = e.clientX;
      this.lastY = e.clientY;
      surface.setPointerCapture?.(e.pointerId);
    };
    const move = (e: PointerEvent): void => {
      if (this.dragging !== e.pointerId) return;
      applyDrag(this.angles, e.clientX - this.lastX, e.clientY - this.lastY);
      this.lastX = e.clientX;
      this.lastY = e.clientY;
      this.onChange();
    };
    const up = (e: PointerEvent): void => {
      if (this.dragging === e.pointerId) this.dragging = null;
    };
    const keydown = (e: KeyboardEvent): void => {
      if (!LOOK_KEYS.has(e.code) || isTypingTarget(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
      this.keys.add(e.code);
      e.preventDefault();
      this.onChange();
    };
    const keyup = (e: KeyboardEvent): void => {
      this.keys.delete(e.code);
    };
    // Keys held while the window loses focus never see their keyup.
    const blur = (): void => this.keys.clear();
    surface.addEventListener('pointerdown', down);
    surface.addEventListener('pointermove', move);
    surface.addEventListener('pointerup', up);
    surface.addEventListener('pointercancel', up);
    keyTarget.addEventListener('keydown', keydown);
    keyTarget.addEventListener('keyup', keyup);
    keyTarget.addEventListener('blur', blur);
    // Touch drags must turn the view, not scroll the page.
    const previousTouchAction = surface.style.touchAction;
    surface.style.touchAction = 'none';
    this.cleanups.push(() => {
      surface.removeEventListener('pointerdown', down);
      surface.removeEventListener('pointermove', move);
      surface.removeEventListener('pointerup', up);
      surface.removeEventListener('pointercancel', up);
      keyTarget.removeEventListener('keydown', keydown);
      keyTarget.removeEventListener('keyup', keyup);
      keyTarget.removeEventListener('blur', blur);
      surface.style.touchAction = previousTouchAction;
    });
  }

  /** Per frame: integrate held keys and orient `camera` (no allocation); a held key asks for the next frame. */
  update(camera: Camera, dt: number): void {
    applyKeys(this.angles, this.keys, dt);
    camera.rotation.set(this.angles.pitch, this.angles.yaw, 0, 'YXZ');
    if (this.keys.size > 0) this.onChange();
  }

  recenter(): void {
    this.angles.yaw = 0;
    this.angles.pitch = 0;
    this.onChange();
  }

  dispose(): void {
    for (const c of this.cleanups.splice(0)) c();
    this.keys.clear();
  }
}
