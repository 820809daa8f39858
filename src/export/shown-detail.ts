/**
 * The detail layer (Sharpen) drawn with the scene on screen, for the export buttons. The Viewer,
 * which owns the PanoramaMesh, publishes the mesh's own `detailLayer` whenever it hands the mesh
 * a new layer or new texels, so an export takes exactly what is drawn, however the layer got there
 * (a sharpen, or one restored with a saved scene).
 *
 * A vanilla zustand store, one per app (src/app/services.ts): views select `layer` (it changes
 * object only when a scene gets its first layer or loses it), code reads getState().
 */
import { createStore } from 'zustand/vanilla';
import type { DetailLayer } from '../panorama/gnomonic';

export interface ShownDetailState {
  readonly layer: DetailLayer | null;
  /** Bumped at every publish: the layer's texels change in place. */
  readonly version: number;
}

export function createShownDetailStore() {
  return createStore<ShownDetailState>()(() => ({ layer: null, version: 0 }));
}

export type ShownDetailStore = ReturnType<typeof createShownDetailStore>;

export function publishShownDetail(store: ShownDetailStore, layer: DetailLayer | null): void {
  store.setState((s) => ({ layer, version: s.version + 1 }));
}
