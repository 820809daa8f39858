/**
 * The app's one sharpen store, on the same pipeline worker client as generation (one worker,
 * one job at a time: the panels disable Sharpen while a generation runs and the other way round).
 * Finished patches are saved with the shown scene; an opened scene's patches come back through
 * the gallery's detail sink.
 */
import { resolveModelBaseUrl } from '../../model/model-store';
import { createSharpenStore, type SharpenStore } from '../../state/sharpen';
import { sceneStore } from '../../state/viewer';
import { clearSavedDetail, saveDetailPatch } from '../../storage/save-then-show';
import { generationStore, modelHostGate, pipelineClient } from '../generate/app-generation';
import { connectDetailSink, sceneServices } from '../gallery/app-gallery';

export const DEFAULT_SR_MODEL_URL = './models/tiny/ldm3d-sr/';

/** `?sr=<url or hf:…>` picks the LDM3D-SR export; `?srSteps=N` presets the SR step count. */
function fromUrl(): { modelUrl: string; steps?: number } {
  if (typeof location === 'undefined') return { modelUrl: DEFAULT_SR_MODEL_URL };
  const q = new URLSearchParams(location.search);
  const steps = Number(q.get('srSteps'));
  return { modelUrl: q.get('sr') || DEFAULT_SR_MODEL_URL, ...(Number.isInteger(steps) && steps > 0 ? { steps } : {}) };
}

const settings = fromUrl();

export const sharpenStore: SharpenStore = createSharpenStore(
  {
    client: pipelineClient,
    scene: sceneStore,
    modelUrl: () => resolveModelBaseUrl(settings.modelUrl, document.baseURI),
    backend: () => generationStore.getState().settings.backend,
    // Sharpened regions are saved with the scene (IndexedDB) and come back when it is opened.
    savePatch: (sceneId, patch) => saveDetailPatch(sceneId, patch, sceneServices),
    clearSaved: (sceneId) => clearSavedDetail(sceneId, sceneServices),
    // As for the panorama model: keep a confirmed multi-gigabyte download from being evicted.
    persistStorage: () => navigator.storage?.persist?.() ?? Promise.resolve(false),
    // A ?sr= link on another site is fetched only after the user allows that host; a "no" uses the built-in one.
    hostGate: modelHostGate,
    fallbackModelUrl: () => resolveModelBaseUrl(DEFAULT_SR_MODEL_URL, document.baseURI),
  },
  settings.steps ? { steps: settings.steps } : {},
);

connectDetailSink({ show: (sceneId, detail) => sharpenStore.getState().adopt(sceneId, detail) });
