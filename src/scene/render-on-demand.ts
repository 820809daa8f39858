/**
 * The desktop view renders on demand (`<Canvas frameloop="demand">`): a still panorama costs no
 * frames, so a laptop stays cool and a generation or a sharpen running on the same GPU has it to
 * itself (an idle page drew 3.7 frames/s on two cores of headless Chromium, with 1.8 cores busy).
 * Whatever changes what the canvas shows asks for a frame: the stores that feed the mesh, here;
 * looking around and recenter, through ViewerRig. In a headset the XR session drives every frame.
 */
import { useThree } from '@react-three/fiber';
import { useEffect } from 'react';

interface Subscribable {
  subscribe(listener: () => void): () => void;
}

/** Requests a frame after every change of `stores` (the viewer store, the sharpen store). */
export function useRenderOnChange(...stores: readonly Subscribable[]): void {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => {
    const unsubscribes = stores.map((store) => store.subscribe(() => invalidate()));
    return () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
    // The stores are created once by the composition root; their identities are the dependencies.
  }, [invalidate, ...stores]);
}
