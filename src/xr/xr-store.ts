/**
 * The app's one XR store. On a desktop browser without WebXR devices @react-three/xr injects the
 * IWER emulator (Meta Quest 3 profile), so "Enter VR" works everywhere; on a headset the real
 * runtime is used and the emulator is never loaded.
 */
import { createXRStore, type XRStore } from '@react-three/xr';

/**
 * Controller layouts are looked up in a profiles list; the library's default is a CDN, which the
 * app must not depend on (offline use, tests). public/xr-input-profiles/ holds the small layout
 * files the Quest controllers need. Controller and hand *models* (glTF) are not shipped: rays are
 * enough to point at the panel, and the panorama should not be cluttered.
 */
function profilesBase(): string {
  return new URL('xr-input-profiles/', document.baseURI).href;
}

/**
 * A trigger press and release on the same panel button is a click if they are at most this far
 * apart (ms). The pointer library's default is 300 ms, measured between the select events, which
 * arrive at frame starts: when frames are slow (a generation busy on the GPU; the emulator under
 * SwiftShader draws a frame in 400-800 ms) a quick press and release one frame apart exceeded it
 * and the button silently ignored the press (issue 14 item 9). Releasing elsewhere is still no click.
 */
export const CLICK_THRESHOLD_MS = 2000;

export function createAppXRStore(): XRStore {
  return createXRStore({
    emulate: {
      type: 'metaQuest3',
      // The library only injects on "localhost" by default; the tests and `npm run dev` use
      // 127.0.0.1. The emulator is only installed where the browser has no immersive-vr support.
      inject: true,
      // IWER's synthetic rooms are for AR; loading one would fetch from the network.
      syntheticEnvironment: false,
      headset: { position: [0, 1.6, 0] },
    },
    // We never want the browser to start a session on its own (e.g. from a previous page).
    offerSession: false,
    // Features the viewer does not use; each one asks the runtime for more than we need.
    anchors: false,
    hitTest: false,
    planeDetection: false,
    meshDetection: false,
    layers: false,
    domOverlay: false,
    baseAssetPath: profilesBase(),
    controller: { model: false, teleportPointer: false, grabPointer: false, rayPointer: { clickThresholdMs: CLICK_THRESHOLD_MS } },
    hand: { model: false, teleportPointer: false, grabPointer: false, rayPointer: { clickThresholdMs: CLICK_THRESHOLD_MS } },
  });
}
