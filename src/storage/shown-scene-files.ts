/**
 * The scene on screen as files: what the export buttons download and what "is it saved?" reads.
 * Set when a generated, saved or imported scene is shown (saveThenShow, the gallery's open);
 * keyed by the viewer's panorama id so a panorama shown some other way (the test room) is never
 * exported under another scene's name.
 *
 * A vanilla zustand store, like src/state: UI reads it with selectors, code with getState().
 */
import { createStore } from 'zustand/vanilla';
import type { SceneMetadata } from '../export/metadata';
import type { SceneFiles } from '../export/scene-files';
import type { RGBDPanorama } from '../panorama/types';
import type { SceneStoreError } from './errors';

export interface CurrentScene {
  /** The id the viewer's showPanorama returned for it. */
  readonly panoramaId: number;
  readonly panorama: RGBDPanorama;
  readonly metadata: SceneMetadata;
  readonly files: SceneFiles;
  /** Id in the scene store, or null when it could not be saved (see storageError). */
  readonly savedId: string | null;
  readonly storageError: SceneStoreError | null;
}

export interface CurrentSceneState {
  readonly scene: CurrentScene | null;
  set(scene: CurrentScene | null): void;
  /** Forget the scene if the viewer now shows another panorama (frees its pixels). */
  forgetUnless(panoramaId: number | null): void;
}

export function createCurrentSceneStore() {
  return createStore<CurrentSceneState>()((set, get) => ({
    scene: null,
    set(scene) {
      set({ scene });
    },
    forgetUnless(panoramaId) {
      const s = get().scene;
      if (s && s.panoramaId !== panoramaId) set({ scene: null });
    },
  }));
}

export type CurrentSceneStore = ReturnType<typeof createCurrentSceneStore>;
