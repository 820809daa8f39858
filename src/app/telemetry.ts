/**
 * The one writer of the test handle (`window.__ldm3d`, src/app/debug-handle.ts): it subscribes to
 * the stores and takes the scene hooks' reports of what the mesh draws, so components hold no
 * debug calls. `sceneReady` (also `document.body.dataset.sceneReady`) counts a scene as ready
 * after the first frame completed with it.
 */
import type { XRStore } from '@react-three/xr';
import type { SharpenState, SharpenStore } from '../state/sharpen';
import type { SceneStore } from '../state/viewer';
import type { PanoramaMesh } from '../scene/panorama-mesh';
import type { PanoramaMeshEvents } from '../scene/use-panorama-mesh';
import type { DetailLayerEvents } from '../scene/use-detail-layer';
import { vrDebug } from '../ui/vr/vr-debug';

export interface TelemetrySources {
  readonly xr?: XRStore;
  readonly viewer: SceneStore;
  readonly sharpen: SharpenStore;
}

export interface Telemetry {
  readonly mesh: Required<PanoramaMeshEvents>;
  readonly detail: Required<DetailLayerEvents>;
  /** The renderer is up: its texture limit, and how to ask it for frames (it renders on demand). */
  renderer(maxTextureSize: number, requestFrames?: (count: number) => void): void;
  /** After every rendered frame (desktop and XR), with the desktop view direction. */
  frameRendered(look: { readonly yaw: number; readonly pitch: number }): void;
  stop(): void;
}

/** Where `sceneReady` and `xrSession` are mirrored as data attributes (tests wait on them). */
export interface DatasetTarget {
  readonly dataset: DOMStringMap;
}

/** Sum of the layer's alpha over the touched rectangles, in units of full opacity. */
export function detailAlphaSum(s: Pick<SharpenState, 'layer' | 'touched'>): number {
  const { layer } = s;
  if (!layer) return 0;
  let sum = 0;
  for (const r of s.touched) {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) sum += layer.rgba[(y * layer.width + x) * 4 + 3];
    }
  }
  return sum / 255;
}

export function startTelemetry(sources: TelemetrySources, handle: Ldm3dDebugHandle, body: DatasetTarget | null = null): Telemetry {
  const unsubscribes: (() => void)[] = [];
  let pendingReady = 0;

  if (sources.xr) {
    const xr = sources.xr;
    const sync = (s: ReturnType<typeof xr.getState>): void => {
      handle.xrSession = s.session != null;
      handle.xrMode = s.session != null ? s.mode : null;
      if (body) body.dataset.xrSession = s.session != null ? 'active' : 'none';
      handle.emulator = s.emulator ?? null;
    };
    sync(xr.getState());
    unsubscribes.push(xr.subscribe(sync));
  }

  const mapping = (s: ReturnType<SceneStore['getState']>, prev?: ReturnType<SceneStore['getState']>): void => {
    if (s.depthMapping !== prev?.depthMapping) handle.depthMapping = { near: s.depthMapping.near, far: s.depthMapping.far };
  };
  mapping(sources.viewer.getState());
  unsubscribes.push(sources.viewer.subscribe(mapping));

  const status = (s: SharpenState): void => {
    handle.sharpenStatus = s.status;
  };
  status(sources.sharpen.getState());
  unsubscribes.push(sources.sharpen.subscribe(status));

  return {
    mesh: {
      changed(mesh: PanoramaMesh) {
        handle.triangles = mesh.stats.triangles;
      },
      shown(scene, faded) {
        if (faded) vrDebug().fades++;
        pendingReady = Math.max(pendingReady, scene.id);
        const { width, height } = scene.panorama;
        handle.panorama = { width, height, label: scene.label };
      },
    },
    detail: {
      shown(mesh, s) {
        const m = mesh.stats.detail;
        handle.detailMesh = { tiles: m.tiles, triangles: m.triangles, edgeTriangles: m.edgeTriangles, skippedTiles: m.skippedTiles };
        const layer = s.layer;
        handle.detail = layer
          ? { width: layer.width, height: layer.height, regions: s.regions, rects: s.touched.map((r) => ({ ...r })), alphaSum: detailAlphaSum(s), border: s.lastBorder }
          : null;
      },
    },
    renderer(maxTextureSize, requestFrames) {
      handle.maxTextureSize = maxTextureSize;
      if (requestFrames) handle.requestFrames = requestFrames;
    },
    frameRendered(look) {
      handle.frames++;
      handle.look.yaw = look.yaw;
      handle.look.pitch = look.pitch;
      if (pendingReady > handle.sceneReady) {
        handle.sceneReady = pendingReady;
        if (body) body.dataset.sceneReady = String(pendingReady);
      }
    },
    stop() {
      for (const u of unsubscribes.splice(0)) u();
    },
  };
}
