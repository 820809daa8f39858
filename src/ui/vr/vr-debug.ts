/**
 * `window.__ldm3dVR`: what the VR panels expose to the end-to-end tests (and the console).
 * Elements' world corners and the eye camera let a test aim the emulated controller's ray at a
 * button and press it as a user does (test/e2e/vr-controller.ts); the handlers are kept for tests
 * that only need to get somewhere (e.g. setting steps). Observations are written by mutation
 * (from store subscriptions and button handlers), never through React state.
 */
import { Vector3, type Object3D } from 'three';

export interface VRDebugHandle {
  /** The prompt panel is mounted (inside an XR session). */
  panelMounted: boolean;
  /** Presses a virtual-keyboard key by name ("a", "Space", "Backspace", "Shift", "Clear", "123"). */
  pressKey: ((name: string) => boolean) | null;
  /** Which field the keyboard types into. */
  setField: ((field: 'prompt' | 'negativePrompt') => void) | null;
  /** The panel's Generate and Cancel buttons. */
  generate: (() => void) | null;
  cancel: (() => void) | null;
  /** Sets steps through the panel's own settings path. */
  setSteps: ((steps: number) => void) | null;
  /** The panel's preset buttons. */
  choosePreset: ((name: 'headset' | 'reference') => void) | null;
  /** Every distinct progress line written to the panel's progress text. */
  progressLog: string[];
  /** Thumbnails listed in the VR gallery (newest first) and its actions by index. */
  gallery: { id: string; prompt: string }[];
  openScene: ((index: number) => void) | null;
  deleteScene: ((index: number) => void) | null;
  regenerate: ((index: number, sameSeed: boolean) => void) | null;
  /** Fade state: how many swaps ran behind the veil, and the current opacity. */
  fades: number;
  fadeOpacity: number;
  /** Radius (m) the head may move from the panorama's centre, for the scene on show. */
  safeRadius: number;
  /** Snap turns applied. */
  snapTurns: number;
  /** The Sharpen view and its Cancel buttons' handlers; null while the button is disabled. */
  sharpen: (() => void) | null;
  cancelSharpen: (() => void) | null;
  /** Every distinct line written to the sharpen section's progress label. */
  sharpenProgressLog: string[];
  /** Detail-layer weight (0…255) at texture coordinates, 0 where there is no layer. */
  detailAlphaAt: ((uvs: readonly (readonly [number, number])[]) => number[]) | null;
  /**
   * World-space corners of a named panel element (registerVRElement: a button's label,
   * "prompt-field", "grab-bar", "thumb:<scene id>"), so a test can project them or aim the
   * controller at them; null when no such element is mounted.
   */
  corners: (name: string) => [number, number, number][] | null;
  /** The viewer's eye camera in XR: projection × view (column-major), null before an XR frame. */
  viewProjection: (() => number[] | null) | null;
  /** Times the panel was brought back in front of the head (B / Y) and moved with its grab bar. */
  panelRecalls: number;
  panelDrags: number;
}

declare global {
  interface Window {
    __ldm3dVR?: VRDebugHandle;
  }
}

const handle: VRDebugHandle = {
  panelMounted: false,
  pressKey: null,
  setField: null,
  generate: null,
  cancel: null,
  setSteps: null,
  choosePreset: null,
  progressLog: [],
  gallery: [],
  openScene: null,
  deleteScene: null,
  regenerate: null,
  fades: 0,
  fadeOpacity: 0,
  safeRadius: 0,
  snapTurns: 0,
  sharpen: null,
  cancelSharpen: null,
  sharpenProgressLog: [],
  detailAlphaAt: null,
  corners: (name) => {
    const el = elements.get(name);
    if (!el) return null;
    // uikit draws each element as a unit quad scaled and placed by its matrixWorld.
    el.updateWorldMatrix(true, false);
    return [
      [-0.5, -0.5],
      [0.5, -0.5],
      [0.5, 0.5],
      [-0.5, 0.5],
    ].map(([x, y]) => new Vector3(x, y, 0).applyMatrix4(el.matrixWorld).toArray());
  },
  viewProjection: null,
  panelRecalls: 0,
  panelDrags: 0,
};

/** Named panel elements for `corners` (the newest mount of a name wins). */
const elements = new Map<string, Object3D>();

/** Registers a mounted uikit element under `name`; the returned function removes it. */
export function registerVRElement(name: string, el: Object3D): () => void {
  elements.set(name, el);
  return () => {
    if (elements.get(name) === el) elements.delete(name);
  };
}

export function vrDebug(): VRDebugHandle {
  if (typeof window !== 'undefined' && window.__ldm3dVR !== handle) window.__ldm3dVR = handle;
  return handle;
}
