/**
 * Everything inside the <Canvas>: the panorama mesh in its rig, the VR panel during a session,
 * the per-frame rig update and the frame signals. React renders this once per session change;
 * panoramas and sliders reach the mesh through store subscriptions, frames through useFrame.
 */
import { addAfterEffect, useFrame, useThree } from '@react-three/fiber';
import { useXR } from '@react-three/xr';
import { useEffect, useMemo, type ReactNode } from 'react';
import type { DepthMapping } from '../panorama/types';
import { PanoramaMesh } from '../scene/panorama-mesh';
import type { SceneState, SceneStore } from '../state/scene-store';
import { VRPanel } from '../ui/VRPanel';
import type { ViewerRig } from '../xr/viewer-rig';
import { debugHandle, frameRendered, panoramaApplied } from './debug-handle';

/**
 * Owns the PanoramaMesh for the lifetime of the canvas (drei's Fbo pattern: create in useMemo,
 * dispose in the effect cleanup) and feeds it from the store.
 */
export function usePanoramaMesh(sceneStore: SceneStore): PanoramaMesh {
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
    const apply = (s: SceneState, prev: SceneState | null): void => {
      if (s.depthMapping !== prev?.depthMapping) {
        pm.setDepthMapping(s.depthMapping);
        debug.depthMapping = { near: s.depthMapping.near, far: s.depthMapping.far };
      }
      if (s.preview !== null && s.preview !== prev?.preview) {
        pm.setPanorama(s.preview); // a generation's preview: no id, no "scene ready"
      } else if (s.current !== null && (s.current !== prev?.current || (s.preview === null && prev?.preview))) {
        pm.setPanorama(s.current.panorama);
        panoramaApplied(s.current.id);
        const { width, height } = s.current.panorama;
        debug.panorama = { width, height, label: s.current.label };
      }
      debug.triangles = pm.stats.triangles;
    };
    apply(sceneStore.getState(), null);
    const unsubscribe = sceneStore.subscribe(apply);
    return () => {
      unsubscribe();
      pm.dispose();
    };
  }, [pm, sceneStore]);
  return pm;
}

export interface ViewerProps {
  readonly sceneStore: SceneStore;
  readonly rig: ViewerRig;
  readonly baseMapping: DepthMapping;
}

export function Viewer({ sceneStore, rig, baseMapping }: ViewerProps): ReactNode {
  const pm = usePanoramaMesh(sceneStore);
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
    <primitive object={rig.group}>
      <primitive object={pm.mesh} />
      {inSession ? (
        // Below eye level and tilted toward the viewer, inside the nearest plausible surface.
        <group position={[0, -0.45, -0.7]} rotation={[-0.5, 0, 0]}>
          <VRPanel sceneStore={sceneStore} baseMapping={baseMapping} onRecenter={() => rig.requestRecenter()} />
        </group>
      ) : null}
    </primitive>
  );
}
