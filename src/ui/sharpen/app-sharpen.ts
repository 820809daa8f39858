/**
 * The app's one sharpen store, on the same pipeline worker client as generation (one worker,
 * one job at a time: the panels disable Sharpen while a generation runs and the other way round).
 */
import { resolveModelBaseUrl } from '../../runtime/model-store';
import { createSharpenStore, type SharpenStore } from '../../state/sharpen';
import { sceneStore } from '../../state/scene-store';
import { generationStore, pipelineClient } from '../generate/app-generation';

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
  },
  settings.steps ? { steps: settings.steps } : {},
);
