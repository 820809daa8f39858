/**
 * React binding of the PanoramaMesh: created for the lifetime of the canvas (drei's Fbo pattern:
 * create in useMemo, dispose in the effect cleanup) and fed from the viewer store. What it now
 * draws is reported through `events` (telemetry, the export buttons), never written here.
 */
import { useThree } from '@react-three/fiber';
import { useEffect, useMemo, useRef } from 'react';
import type { SceneState, SceneStore, ShownPanorama } from '../state/viewer';
import type { FadeMachine } from '../xr/comfort-fade';
import { PanoramaMesh } from './panorama-mesh';

/**
 * A scene swap waiting behind the VR fade. The sharpen store switches to the new scene's detail
 * layer at once, but the panorama changes only when the screen is black: the layer must wait for
 * the same moment (useDetailLayer), or the new scene's sharpened patches would be drawn over the
 * old scene.
 */
export interface SceneSwap {
  pending: boolean;
  afterSwap: (() => void) | null;
}

export interface PanoramaMeshEvents {
  /** After every store change the mesh took (panorama, preview, depth mapping). */
  changed?(mesh: PanoramaMesh, state: SceneState): void;
  /** `scene` (not a preview) is drawn from the next frame on; `faded`: it came behind the VR fade. */
  shown?(scene: ShownPanorama, faded: boolean): void;
}

export interface ViewerMesh {
  readonly mesh: PanoramaMesh;
  readonly swap: SceneSwap;
}

/**
 * Feeds `pm` from the viewer store until the returned function is called: the depth mapping, a
 * generation's preview, and each new scene, behind the fade while `presenting()` (the headset).
 */
export function feedPanoramaMesh(
  { mesh: pm, swap }: ViewerMesh,
  sceneStore: SceneStore,
  fader: FadeMachine | undefined,
  presenting: () => boolean,
  events: () => PanoramaMeshEvents | undefined,
): () => void {
  const apply = (s: SceneState, prev: SceneState | null): void => {
    if (s.depthMapping !== prev?.depthMapping) pm.setDepthMapping(s.depthMapping);
    if (s.preview !== null && s.preview !== prev?.preview) {
      pm.setPanorama(s.preview); // a generation's preview: no id, no "scene ready"
    } else if (s.current !== null && (s.current !== prev?.current || (s.preview === null && prev?.preview))) {
      const current = s.current;
      const show = (faded: boolean): void => {
        pm.setPanorama(current.panorama);
        events()?.shown?.(current, faded);
      };
      // In the headset a new scene (generated, opened, imported) comes behind a fade to black.
      if (fader && presenting() && s.current !== prev?.current) {
        swap.pending = true;
        fader.request(() => {
          show(true);
          swap.pending = false;
          const after = swap.afterSwap;
          swap.afterSwap = null;
          after?.();
        });
      } else show(false);
    }
    events()?.changed?.(pm, s);
  };
  apply(sceneStore.getState(), null);
  const unsubscribe = sceneStore.subscribe(apply);
  return () => {
    unsubscribe();
    swap.pending = false;
    swap.afterSwap = null;
  };
}

export function usePanoramaMesh(sceneStore: SceneStore, fader?: FadeMachine, events?: PanoramaMeshEvents): ViewerMesh {
  const gl = useThree((s) => s.gl);
  // Read at call time: a new events object from a re-render must not rebuild the subscription.
  const eventsRef = useRef(events);
  eventsRef.current = events;
  const viewerMesh = useMemo<ViewerMesh>(
    () => ({
      mesh: new PanoramaMesh(sceneStore.getState().depthMapping, {
        anisotropy: Math.min(8, gl.capabilities.getMaxAnisotropy()),
      }),
      swap: { pending: false, afterSwap: null },
    }),
    [sceneStore, gl],
  );
  useEffect(() => {
    const stop = feedPanoramaMesh(viewerMesh, sceneStore, fader, () => gl.xr.isPresenting, () => eventsRef.current);
    return () => {
      stop();
      viewerMesh.mesh.dispose();
    };
  }, [viewerMesh, sceneStore, fader, gl]);
  return viewerMesh;
}
