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
    controller: { model: false, teleportPointer: false, grabPointer: false },
    hand: { model: false, teleportPointer: false, grabPointer: false },
  });
}
