/**
 * `window.__ldm3dVR`: what the VR panels expose to the end-to-end tests (and the console). The
 * emulator's controller rays cannot be aimed from a test reliably on a loaded machine, so the
 * tests call the very handlers the keys and buttons call. Observations are written by mutation
 * (from store subscriptions and button handlers), never through React state.
 */

export interface VRDebugHandle {
  /** The prompt panel is mounted (inside an XR session). */
  panelMounted: boolean;
  /** Presses a virtual-keyboard key by name ("a", "Space", "Backspace", "Shift", "Clear", "123"). */
  pressKey: ((name: string) => boolean) | null;
  /** Which field the keyboard types into. */
  setField: ((field: 'prompt' | 'negative') => void) | null;
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
};

export function vrDebug(): VRDebugHandle {
  if (typeof window !== 'undefined' && window.__ldm3dVR !== handle) window.__ldm3dVR = handle;
  return handle;
}
