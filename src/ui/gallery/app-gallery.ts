/**
 * The app's scene services: the gallery and "save, then show" bound to the app's scene store
 * (src/state) and the browser's IndexedDB, opened on first use. Like app-generation.ts, created
 * once per page at import.
 */
import { sceneStore } from '../../state/viewer';
import { createCurrentSceneStore } from '../../storage/shown-scene-files';
import { connectSceneServices, openSceneStoreOnce, watchDeletedScenes, type DetailSink, type SceneServices } from '../../storage/save-then-show';

export const currentScene = createCurrentSceneStore();

let detailSink: DetailSink | null = null;

/**
 * Where opened scenes' sharpened regions go: the sharpen store, connected by app-sharpen.ts
 * (importing it here would be a cycle: app-sharpen → app-generation → this module).
 */
export function connectDetailSink(sink: DetailSink): () => void {
  detailSink = sink;
  return () => {
    if (detailSink === sink) detailSink = null;
  };
}

export const sceneServices: SceneServices = {
  viewer: {
    show: (panorama, label, mapping) => sceneStore.getState().showPanorama(panorama, label, mapping),
    say: (kind, text) => void sceneStore.getState().say(kind, text),
    depthMapping: () => sceneStore.getState().depthMapping,
  },
  current: currentScene,
  store: () => openSceneStoreOnce(),
  detail: { show: (panoramaId, detail) => detailSink?.show(panoramaId, detail) },
};

connectSceneServices(sceneServices);

// Deleting the scene on screen (in this tab's gallery or another tab's) leaves it shown but no
// longer saved, instead of a "Saved" label over a record that is gone.
watchDeletedScenes(sceneServices);

// When the viewer shows a panorama that is not ours (test room, plain image import), drop our
// record of the previous scene so its pixels can be freed and it is not exported by mistake.
sceneStore.subscribe((s) => currentScene.getState().forgetUnless(s.current?.id ?? null));
