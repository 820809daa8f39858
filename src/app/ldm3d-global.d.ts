// What the app exposes on `window` for the end-to-end tests and for debugging in the console.
// Read-only observations; nothing here is needed by the app itself.
interface Ldm3dDebugHandle {
  /** Id of the newest panorama that has been drawn in at least one completed frame (0 = none). */
  sceneReady: number;
  /** Frames rendered since start (desktop and XR), counted after each render. */
  frames: number;
  /**
   * Asks for `count` more frames. The desktop view renders only when something changes
   * (src/scene/render-on-demand.ts); a test that waits for frames asks for them, as a resize would.
   */
  requestFrames?: (count: number) => void;
  /** True while an immersive XR session is running. */
  xrSession: boolean;
  /** Mode of the running session ("immersive-vr"), or null. */
  xrMode: string | null;
  /** The shown panorama's size and label. */
  panorama: { width: number; height: number; label: string } | null;
  /** Triangles in the panorama mesh and how many the current depth map hides as edges. */
  triangles: number;
  /** The GPU's MAX_TEXTURE_SIZE as three.js reports it. */
  maxTextureSize: number;
  /** Current depth mapping in metres. */
  depthMapping: { near: number; far: number };
  /** The desktop XR emulator's device (IWER) when one is installed (tests read its fovy); null on a headset. */
  emulator: { readonly fovy: number } | null;
  /** Current desktop view direction, radians. */
  look: { yaw: number; pitch: number };
  /** The shown scene's detail layer (Sharpen): size, regions sharpened, touched rectangles (texels), sum of alpha; null: none. */
  detail?: {
    width: number;
    height: number;
    regions: number;
    rects: { x: number; y: number; width: number; height: number }[];
    alphaSum: number;
    /** |fitted SR depth − base depth| on the last patch's crop border (inverse depth units). */
    border: { mean: number; p95: number; max: number } | null;
  } | null;
  /**
   * The refined mesh under sharpened regions (src/scene/detail-mesh.ts): tiles drawn, triangles
   * they add (edge triangles among them), tiles the triangle budget refused.
   */
  detailMesh?: { tiles: number; triangles: number; edgeTriangles: number; skippedTiles: number };
  /** The sharpen store's status ('idle', 'sharpening', 'cancelling', 'unloading'). */
  sharpenStatus?: string;
}

interface Window {
  __ldm3d?: Ldm3dDebugHandle;
}
