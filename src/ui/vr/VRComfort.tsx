/**
 * Comfort in the headset, wired per frame: the fade veil (src/xr/comfort-fade.ts), snap turn on
 * either thumbstick, and the movement limit (src/xr/comfort-bounds.ts). Mounted only during an XR
 * session. The safe radius is recomputed on a panorama or depth-mapping change, never per frame;
 * useFrame allocates nothing.
 */
import { useFrame } from '@react-three/fiber';
import { useXRInputSourceState } from '@react-three/xr';
import { useEffect, useMemo, useRef, type ReactNode } from 'react';
import type { SceneState, SceneStore } from '../../state/viewer';
import { clampCentreToHead, safeRadius } from '../../xr/comfort-bounds';
import { FadeVeil, type FadeMachine } from '../../xr/comfort-fade';
import { SnapTurn, turnRigAboutHead } from '../../xr/comfort-snap-turn';
import type { ViewerRig } from '../../xr/viewer-rig';
import { vrDebug } from './vr-debug';

export interface VRComfortProps {
  readonly rig: ViewerRig;
  readonly fader: FadeMachine;
  readonly sceneStore: SceneStore;
}

/** xr-standard gamepad mapping: axes[2] is the thumbstick's x. */
const THUMBSTICK_X = 2;

export function VRComfort({ rig, fader, sceneStore }: VRComfortProps): ReactNode {
  const veil = useMemo(() => new FadeVeil(), []);
  const radius = useRef(Infinity);
  const left = useXRInputSourceState('controller', 'left');
  const right = useXRInputSourceState('controller', 'right');
  const snapLeft = useMemo(() => new SnapTurn(), []);
  const snapRight = useMemo(() => new SnapTurn(), []);

  useEffect(() => () => veil.dispose(), [veil]);
  // Leaving VR: a swap waiting behind the veil happens now, not never.
  useEffect(() => () => fader.flush(), [fader]);

  useEffect(() => {
    const compute = (s: SceneState, prev: SceneState | null): void => {
      if (prev && s.current === prev.current && s.depthMapping === prev.depthMapping) return;
      radius.current = s.current ? safeRadius(s.current.panorama, s.depthMapping) : Infinity;
      vrDebug().safeRadius = radius.current;
    };
    compute(sceneStore.getState(), null);
    return sceneStore.subscribe(compute);
  }, [sceneStore]);

  useFrame((state) => {
    const debug = vrDebug();
    const head = state.camera.position;
    const now = performance.now();
    const yaw = snapLeft.update(left?.inputSource.gamepad?.axes[THUMBSTICK_X] ?? 0, now) + snapRight.update(right?.inputSource.gamepad?.axes[THUMBSTICK_X] ?? 0, now);
    const g = rig.group;
    if (yaw !== 0) {
      g.rotation.y += turnRigAboutHead(g.position, head.x, head.z, yaw);
      debug.snapTurns++;
    }
    const moved = clampCentreToHead(g.position, head, radius.current);
    if (yaw !== 0 || moved) g.updateMatrixWorld();
    const opacity = fader.update(now / 1000);
    debug.fadeOpacity = opacity;
    veil.update(state.camera, opacity);
  });

  return <primitive object={veil.mesh} />;
}
