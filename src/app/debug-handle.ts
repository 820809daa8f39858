/**
 * `window.__ldm3d` and `document.body.dataset.sceneReady`: observations for the end-to-end tests
 * (and the console). Updated from store subscriptions and once per rendered frame by mutating one
 * object, never through React state.
 */
const handle: Ldm3dDebugHandle = {
  sceneReady: 0,
  frames: 0,
  xrSession: false,
  xrMode: null,
  panorama: null,
  triangles: 0,
  maxTextureSize: 0,
  depthMapping: { near: 0, far: 0 },
  emulator: null,
  look: { yaw: 0, pitch: 0 },
};

let pendingReady = 0;

export function debugHandle(): Ldm3dDebugHandle {
  if (typeof window !== 'undefined' && window.__ldm3d !== handle) window.__ldm3d = handle;
  return handle;
}

/** The scene now holds panorama `id`; it counts as ready after the next completed frame. */
export function panoramaApplied(id: number): void {
  pendingReady = Math.max(pendingReady, id);
}

/** Called after every rendered frame (R3F's addAfterEffect). */
export function frameRendered(): void {
  handle.frames++;
  if (pendingReady > handle.sceneReady) {
    handle.sceneReady = pendingReady;
    document.body.dataset.sceneReady = String(pendingReady);
  }
}
