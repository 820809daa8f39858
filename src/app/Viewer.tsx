/**
 * Everything inside the <Canvas>: the panorama mesh in its rig, the VR panel during a session,
 * the per-frame rig update and the frame signals. React renders this once per session change;
 * panoramas and sliders reach the mesh through store subscriptions, frames through useFrame.
 */
import { addAfterEffect, useFrame, useThree } from '@react-three/fiber';
import { useXR } from '@react-three/xr';
import { useEffect, useMemo, type ReactNode } from 'react';
import { Matrix4, Vector3 } from 'three';
import type { DepthMapping } from '../panorama/types';
import { PanoramaMesh } from '../scene/panorama-mesh';
import type { SceneState, SceneStore } from '../state/viewer';
import { generationStore } from '../ui/generate/app-generation';
import { sharpenStore } from '../ui/sharpen/app-sharpen';
import type { SharpenState } from '../state/sharpen';
import { sceneServices } from '../ui/gallery/app-gallery';
import { VRComfort } from '../ui/vr/VRComfort';
import { VRScene } from '../ui/vr/VRScene';
import { vrDebug } from '../ui/vr/vr-debug';
import { FadeMachine } from '../xr/comfort-fade';
import type { ViewerRig } from '../xr/viewer-rig';
import { debugHandle, frameRendered, panoramaApplied } from './debug-handle';
import { publishShownDetail } from '../export/shown-detail';

/**
 * Owns the PanoramaMesh for the lifetime of the canvas (drei's Fbo pattern: create in useMemo,
 * dispose in the effect cleanup) and feeds it from the store.
 */
/**
 * A scene swap waiting behind the VR fade. The sharpen store switches to the new scene's detail
 * layer at once, but the panorama changes only when the screen is black: the layer must wait for
 * the same moment, or the new scene's sharpened patches would be drawn over the old scene.
 */
interface SceneSwap {
  pending: boolean;
  afterSwap: (() => void) | null;
}
const sceneSwaps = new WeakMap<PanoramaMesh, SceneSwap>();

export function usePanoramaMesh(sceneStore: SceneStore, fader?: FadeMachine): PanoramaMesh {
  const gl = useThree((s) => s.gl);
  const pm = useMemo(
    () =>
      new PanoramaMesh(sceneStore.getState().depthMapping, {
        anisotropy: Math.min(8, gl.capabilities.getMaxAnisotropy()),
      }),
    [sceneStore, gl],
  );
  useEffect(() => {
    const debug = debugHandle();
    const swap: SceneSwap = { pending: false, afterSwap: null };
    sceneSwaps.set(pm, swap);
    const apply = (s: SceneState, prev: SceneState | null): void => {
      if (s.depthMapping !== prev?.depthMapping) {
        pm.setDepthMapping(s.depthMapping);
        debug.depthMapping = { near: s.depthMapping.near, far: s.depthMapping.far };
      }
      if (s.preview !== null && s.preview !== prev?.preview) {
        pm.setPanorama(s.preview); // a generation's preview: no id, no "scene ready"
      } else if (s.current !== null && (s.current !== prev?.current || (s.preview === null && prev?.preview))) {
        const current = s.current;
        const show = (): void => {
          pm.setPanorama(current.panorama);
          panoramaApplied(current.id);
          const { width, height } = current.panorama;
          debug.panorama = { width, height, label: current.label };
        };
        // In the headset a new scene (generated, opened, imported) comes behind a fade to black.
        if (fader && gl.xr.isPresenting && s.current !== prev?.current) {
          swap.pending = true;
          fader.request(() => {
            vrDebug().fades++;
            show();
            swap.pending = false;
            const after = swap.afterSwap;
            swap.afterSwap = null;
            after?.();
          });
        } else show();
      }
      debug.triangles = pm.stats.triangles;
    };
    apply(sceneStore.getState(), null);
    const unsubscribe = sceneStore.subscribe(apply);
    return () => {
      unsubscribe();
      sceneSwaps.delete(pm);
      pm.dispose();
    };
  }, [pm, sceneStore, fader, gl]);
  return pm;
}

/**
 * Connects the sharpen store to the mesh: the view direction it sharpens (camera or headset, in
 * the panorama's own frame, so recenter and snap turn are accounted for) and the detail layer's
 * uploads (whole on a new layer, the written rectangles after each sharpen).
 */
function useDetailLayer(pm: PanoramaMesh): void {
  const gl = useThree((s) => s.gl);
  const camera = useThree((s) => s.camera);
  useEffect(() => {
    const dir = new Vector3();
    const right = new Vector3();
    const inv = new Matrix4();
    sharpenStore.getState().setGazeSource(() => {
      const cam = gl.xr.isPresenting ? gl.xr.getCamera() : camera;
      cam.updateMatrixWorld();
      pm.mesh.updateMatrixWorld();
      cam.getWorldDirection(dir);
      right.setFromMatrixColumn(cam.matrixWorld, 0);
      inv.copy(pm.mesh.matrixWorld).invert();
      dir.transformDirection(inv);
      right.transformDirection(inv);
      return { gaze: { x: dir.x, y: dir.y, z: dir.z }, rightHint: { x: right.x, y: right.y, z: right.z } };
    });
    return () => sharpenStore.getState().setGazeSource(null);
  }, [gl, camera, pm]);
  useEffect(() => {
    const debug = debugHandle();
    // The layer the mesh shows; it lags the store's while a scene swap waits behind the VR fade.
    let shown: SharpenState['layer'] | undefined;
    const apply = (s: SharpenState, prev: SharpenState | null): void => {
      let changed = false;
      if (s.layer !== shown) {
        const swap = sceneSwaps.get(pm);
        if (swap?.pending) {
          swap.afterSwap = () => apply(sharpenStore.getState(), null);
        } else {
          pm.setDetailLayer(s.layer);
          shown = s.layer;
          changed = true;
        }
      } else if (s.lastRects !== prev?.lastRects) {
        pm.updateDetail(s.lastRects);
        changed = true;
      }
      if (changed) {
        publishShownDetail(pm.detailLayer); // what the export buttons take (src/export/shown-detail.ts)
        const layer = s.layer;
        let alphaSum = 0;
        if (layer) {
          for (const r of s.touched) {
            for (let y = r.y; y < r.y + r.height; y++) {
              for (let x = r.x; x < r.x + r.width; x++) alphaSum += layer.rgba[(y * layer.width + x) * 4 + 3];
            }
          }
        }
        const mesh = pm.stats.detail;
        debug.detailMesh = { tiles: mesh.tiles, triangles: mesh.triangles, edgeTriangles: mesh.edgeTriangles, skippedTiles: mesh.skippedTiles };
        debug.detail = layer ? { width: layer.width, height: layer.height, regions: s.regions, rects: s.touched.map((r) => ({ ...r })), alphaSum: alphaSum / 255, border: s.lastBorder } : null;
      }
      debug.sharpenStatus = s.status;
    };
    apply(sharpenStore.getState(), null);
    const unsubscribe = sharpenStore.subscribe(apply);
    // The mesh's dispose() (usePanoramaMesh) frees the detail textures.
    return unsubscribe;
  }, [pm]);
}

export interface ViewerProps {
  readonly sceneStore: SceneStore;
  readonly rig: ViewerRig;
  readonly baseMapping: DepthMapping;
}

export function Viewer({ sceneStore, rig, baseMapping }: ViewerProps): ReactNode {
  const fader = useMemo(() => new FadeMachine(), []);
  const pm = usePanoramaMesh(sceneStore, fader);
  useDetailLayer(pm);
  const gl = useThree((s) => s.gl);
  const inSession = useXR((s) => s.session != null);

  useEffect(() => rig.attachDesktopLook(gl.domElement), [rig, gl]);
  useEffect(() => addAfterEffect(frameRendered), []);
  useEffect(() => {
    const debug = debugHandle();
    debug.maxTextureSize = gl.capabilities.maxTextureSize;
  }, [gl]);

  useFrame((state, dt, frame?: XRFrame) => {
    rig.update(state.gl, state.camera, dt, frame);
    const look = debugHandle().look;
    look.yaw = rig.lookAngles.yaw;
    look.pitch = rig.lookAngles.pitch;
  });

  return (
    <>
      <primitive object={rig.group}>
        <primitive object={pm.mesh} />
        {inSession ? (
          <VRScene
            sceneStore={sceneStore}
            baseMapping={baseMapping}
            generation={generationStore}
            services={sceneServices}
            onRecenter={() => rig.requestRecenter()}
          />
        ) : null}
      </primitive>
      {inSession ? <VRComfort rig={rig} fader={fader} sceneStore={sceneStore} /> : null}
    </>
  );
}
