/**
 * Connects the sharpen store to the panorama mesh: the view direction it sharpens (camera or
 * headset, in the panorama's own frame, so recenter and snap turn are accounted for) and the
 * detail layer's uploads (whole on a new layer, the written rectangles after each sharpen). The
 * textures belong to the mesh, whose dispose() (usePanoramaMesh) frees them.
 */
import { useThree } from '@react-three/fiber';
import { useEffect, useRef } from 'react';
import { Matrix4, Vector3 } from 'three';
import type { SharpenState, SharpenStore } from '../state/sharpen';
import type { PanoramaMesh } from './panorama-mesh';
import type { ViewerMesh } from './use-panorama-mesh';

export interface DetailLayerEvents {
  /** The mesh now draws `state`'s layer (a new one, none, or new texels in it). */
  shown?(mesh: PanoramaMesh, state: SharpenState): void;
}

/**
 * Uploads the sharpen store's detail layer to `pm` until the returned function is called: the
 * whole layer when it changes (after a pending scene swap, if one waits behind the fade), the
 * written rectangles after each sharpen.
 */
export function feedDetailLayer({ mesh: pm, swap }: ViewerMesh, sharpen: SharpenStore, events: () => DetailLayerEvents | undefined): () => void {
  // The layer the mesh shows; it lags the store's while a scene swap waits behind the VR fade.
  let shown: SharpenState['layer'] | undefined;
  let stopped = false;
  const apply = (s: SharpenState, prev: SharpenState | null): void => {
    let changed = false;
    if (s.layer !== shown) {
      if (swap.pending) {
        swap.afterSwap = () => {
          if (!stopped) apply(sharpen.getState(), null);
        };
      } else {
        pm.setDetailLayer(s.layer);
        shown = s.layer;
        changed = true;
      }
    } else if (s.lastRects !== prev?.lastRects) {
      pm.updateDetail(s.lastRects);
      changed = true;
    }
    if (changed) events()?.shown?.(pm, s);
  };
  apply(sharpen.getState(), null);
  const unsubscribe = sharpen.subscribe(apply);
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/** The sharpen store's gaze source for as long as the component lives, and feedDetailLayer. */
export function useDetailLayer(viewerMesh: ViewerMesh, sharpen: SharpenStore, events?: DetailLayerEvents): void {
  const gl = useThree((s) => s.gl);
  const camera = useThree((s) => s.camera);
  const eventsRef = useRef(events);
  eventsRef.current = events;
  const pm = viewerMesh.mesh;
  useEffect(() => {
    const dir = new Vector3();
    const right = new Vector3();
    const inv = new Matrix4();
    sharpen.getState().setGazeSource(() => {
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
    return () => sharpen.getState().setGazeSource(null);
  }, [gl, camera, pm, sharpen]);
  useEffect(() => feedDetailLayer(viewerMesh, sharpen, () => eventsRef.current), [viewerMesh, sharpen]);
}
