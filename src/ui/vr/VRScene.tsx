/**
 * Where the VR panels stand around the viewer (inside the rig, so recenter and snap turn carry
 * them with the panorama): the main panel (prompt, keyboard, settings, progress) ahead and below
 * eye level, facing the eye (src/ui/vr/panel-placement.ts); the gallery to the left, turned to
 * face the viewer. The main panel moves with its grab bar, and B or Y on a controller brings it
 * (and the gallery at its left) back in front of the head without turning the panorama (issue 14
 * item 8).
 */
import { useFrame, useThree } from '@react-three/fiber';
import { useXRInputSourceState } from '@react-three/xr';
import { useCallback, useEffect, useLayoutEffect, useRef, type ReactNode } from 'react';
import { Quaternion, Vector3, type Group } from 'three';
import type { DepthMapping } from '../../panorama/types';
import type { SceneStore } from '../../state/viewer';
import type { GenerationStore } from '../../state/generation';
import type { SharpenStore } from '../../state/sharpen';
import type { SceneServices } from '../../storage/save-then-show';
import { VRPanel } from '../VRPanel';
import { VRGallery } from './VRGallery';
import { VRGrabBar } from './VRGrabBar';
import { defaultPanelPose, dragTo, placeAroundHead, placeInFront } from './panel-placement';
import { registerVRElement, vrDebug } from './vr-debug';

export interface VRSceneProps {
  readonly sceneStore: SceneStore;
  readonly baseMapping: DepthMapping;
  readonly generation: GenerationStore;
  readonly sharpen: SharpenStore;
  readonly services: SceneServices;
  onRecenter(): void;
}

/** xr-standard gamepad mapping: buttons[5] is B (right) / Y (left) on Quest controllers. */
const RECALL_BUTTON_INDEX = 5;

/** The gallery's place at the panel's left (rig-local at the session start; recall keeps it there relative to the head). */
const GALLERY_POSITION = new Vector3(-0.62, -0.2, -0.45);
const GALLERY_YAW = 0.94;
// Constants, so a re-render never re-applies them over a recalled pose.
const GALLERY_ROTATION: [number, number, number] = [0, GALLERY_YAW, 0];

const head = new Vector3();
const headQuaternion = new Quaternion();

export function VRScene({ sceneStore, baseMapping, generation, sharpen, services, onRecenter }: VRSceneProps): ReactNode {
  const panel = useRef<Group>(null);
  const gallery = useRef<Group>(null);
  const camera = useThree((s) => s.camera);
  const gl = useThree((s) => s.gl);
  const left = useXRInputSourceState('controller', 'left');
  const right = useXRInputSourceState('controller', 'right');
  const recallHeld = useRef(false);

  useLayoutEffect(() => {
    if (!panel.current) return;
    defaultPanelPose(panel.current);
    // The uikit root (the panel's whole area), for tests that check where it stands and faces.
    const root = panel.current.children[0];
    return root ? registerVRElement('panel', root) : undefined;
  }, []);

  useEffect(() => {
    const debug = vrDebug();
    debug.viewProjection = () => {
      // The eye the emulator shows (and the left eye on a headset); updated by three each XR frame.
      const eye = gl.xr.isPresenting ? gl.xr.getCamera().cameras[0] : undefined;
      if (!eye) return null;
      return eye.projectionMatrix.clone().multiply(eye.matrixWorldInverse).toArray();
    };
    return () => {
      debug.viewProjection = null;
    };
  }, [gl]);

  useFrame(() => {
    // B / Y: a press (not a hold) brings the panel back in front of the head.
    const down =
      left?.inputSource.gamepad?.buttons[RECALL_BUTTON_INDEX]?.pressed === true ||
      right?.inputSource.gamepad?.buttons[RECALL_BUTTON_INDEX]?.pressed === true;
    if (down === recallHeld.current) return;
    recallHeld.current = down;
    if (!down || !panel.current) return;
    camera.getWorldPosition(head);
    camera.getWorldQuaternion(headQuaternion);
    placeInFront(panel.current, head, headQuaternion);
    if (gallery.current) placeAroundHead(gallery.current, GALLERY_POSITION, GALLERY_YAW, head, headQuaternion);
    vrDebug().panelRecalls++;
  });

  const onDrag = useCallback(
    (grabbed: Vector3, point: Vector3) => {
      if (!panel.current) return;
      dragTo(panel.current, grabbed, point, camera.getWorldPosition(head));
    },
    [camera],
  );
  const onDragEnd = useCallback(() => {
    vrDebug().panelDrags++;
  }, []);

  return (
    <>
      <group ref={panel}>
        <VRPanel
          sceneStore={sceneStore}
          baseMapping={baseMapping}
          generation={generation}
          sharpen={sharpen}
          onRecenter={onRecenter}
          grabBar={<VRGrabBar panel={panel} onDrag={onDrag} onDragEnd={onDragEnd} />}
        />
      </group>
      <group ref={gallery} position={GALLERY_POSITION} rotation={GALLERY_ROTATION}>
        <group rotation={[-0.3, 0, 0]}>
          <VRGallery services={services} generation={generation} />
        </group>
      </group>
    </>
  );
}
