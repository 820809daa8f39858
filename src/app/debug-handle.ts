/**
 * `window.__ldm3d`: observations for the end-to-end tests (and the console), written only by
 * src/app/telemetry.ts, by mutating one object, never through React state.
 */
export function createDebugHandle(): Ldm3dDebugHandle {
  return {
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
}

let pageHandle: Ldm3dDebugHandle | null = null;

/** The page's handle, installed as `window.__ldm3d` (one per page, whatever app instance writes it). */
export function debugHandle(): Ldm3dDebugHandle {
  pageHandle ??= createDebugHandle();
  if (typeof window !== 'undefined' && window.__ldm3d !== pageHandle) window.__ldm3d = pageHandle;
  return pageHandle;
}
