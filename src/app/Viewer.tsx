/**
 * Everything inside the <Canvas>: the panorama mesh in its rig, the VR panel during a session,
 * the per-frame rig update and the frame signals. React renders this once per session change;
 * panoramas and sliders reach the mesh through store subscriptions (src/scene's hooks), frames
 * through useFrame; what the mesh draws is reported to telemetry and the export buttons.
 */
import { addAfterEffect, useFrame, useThree } from '@react-three/fiber';
import { useXR } from '@react-three/xr';
import { useEffect, useMemo, type ReactNode } from 'react';
import type { DepthMapping } from '../panorama/types';
import type { SceneStore } from '../state/viewer';
import { publishShownDetail } from '../export/shown-detail';
import { usePanoramaMesh } from '../scene/use-panorama-mesh';
import { useDetailLayer, type DetailLayerEvents } from '../scene/use-detail-layer';
import { useRenderOnChange } from '../scene/render-on-demand';
import { VRComfort } from '../ui/vr/VRComfort';
import { VRScene } from '../ui/vr/VRScene';
import { FadeMachine } from '../xr/comfort-fade';
import type { ViewerRig } from '../xr/viewer-rig';
import { useServices } from './services-context';

export interface ViewerProps {
  readonly sceneStore: SceneStore;
  readonly rig: ViewerRig;
  readonly baseMapping: DepthMapping;
}

export function Viewer({ sceneStore, rig, baseMapping }: ViewerProps): ReactNode {
  const { generation, sharpen, scenes, shownDetail, telemetry } = useServices();
  const fader = useMemo(() => new FadeMachine(), []);
  const viewerMesh = usePanoramaMesh(sceneStore, fader, telemetry.mesh);
  const detailEvents = useMemo<DetailLayerEvents>(
    () => ({
      shown(mesh, state) {
        publishShownDetail(shownDetail, mesh.detailLayer); // what the export buttons take
        telemetry.detail.shown(mesh, state);
      },
    }),
    [shownDetail, telemetry],
  );
  useDetailLayer(viewerMesh, sharpen, detailEvents);
  useRenderOnChange(sceneStore, sharpen);
  const gl = useThree((s) => s.gl);
  const invalidate = useThree((s) => s.invalidate);
  const inSession = useXR((s) => s.session != null);

  useEffect(() => rig.attachDesktopLook(gl.domElement, () => invalidate()), [rig, gl, invalidate]);
  useEffect(() => addAfterEffect(() => telemetry.frameRendered(rig.lookAngles)), [telemetry, rig]);
  useEffect(() => telemetry.renderer(gl.capabilities.maxTextureSize, (count) => invalidate(count)), [telemetry, gl, invalidate]);

  useFrame((state, dt, frame?: XRFrame) => {
    rig.update(state.gl, state.camera, dt, frame);
  });

  return (
    <>
      <primitive object={rig.group}>
        <primitive object={viewerMesh.mesh.mesh} />
        {inSession ? (
          <VRScene
            sceneStore={sceneStore}
            baseMapping={baseMapping}
            generation={generation}
            sharpen={sharpen}
            services={scenes}
            onRecenter={() => rig.requestRecenter()}
          />
        ) : null}
      </primitive>
      {inSession ? <VRComfort rig={rig} fader={fader} sceneStore={sceneStore} /> : null}
    </>
  );
}
