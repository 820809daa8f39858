/**
 * The app's one generation store, bound to the app's scene store and a pipeline worker client.
 * The worker itself starts on the first plan/load/generate, not at import.
 */
import { resolveModelBaseUrl } from '../../runtime/model-store';
import { createGenerationStore, type GenerationStore } from '../../state/generation';
import { sceneStore } from '../../state/scene-store';
import { PipelineClient } from '../../workers/client';
import { saveThenShow } from '../../storage/save-then-show';
import '../gallery/app-gallery'; // connects the scene services saveThenShow uses

export const pipelineClient = new PipelineClient();

export const generationStore: GenerationStore = createGenerationStore(
  {
    client: pipelineClient,
    scene: sceneStore,
    // The worker resolves relative URLs against its own script, so resolve against the page here.
    resolveModelUrl: (input) => resolveModelBaseUrl(input, document.baseURI),
    // Without it the browser may evict gigabytes of weights under storage pressure.
    persistStorage: () => navigator.storage?.persist?.() ?? Promise.resolve(false),
    // Saved to the gallery (IndexedDB) before it is shown; a failed save still shows it, with a message.
    publish: async (_panorama, result) => (await saveThenShow(result, result.metadata)).panoramaId,
  },
  initialSettingsFromUrl(),
);

/**
 * `?model=<url or hf:owner/repo/subdir>` and `?backend=wasm|webgpu` preset the model settings, so
 * a link can point the app at a published export (and tests can pick the back end).
 */
function initialSettingsFromUrl(): Parameters<typeof createGenerationStore>[1] {
  if (typeof location === 'undefined') return {};
  const q = new URLSearchParams(location.search);
  const model = q.get('model');
  const backend = q.get('backend');
  return {
    ...(model ? { modelUrl: model } : {}),
    ...(backend === 'wasm' || backend === 'webgpu' || backend === 'auto' ? { backend } : {}),
  };
}
