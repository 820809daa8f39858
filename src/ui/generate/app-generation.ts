/**
 * The app's one generation store, bound to the app's scene store and a pipeline worker client.
 * The worker itself starts on the first plan/load/generate, not at import.
 */
import { resolveModelBaseUrl } from '../../model/model-store';
import { createGenerationStore, type GenerationStore } from '../../state/generation';
import { sceneStore } from '../../state/viewer';
import { PipelineClient } from '../../workers/client';
import { pageModelHostGate } from '../../state/model-hosts';
import { saveThenShow } from '../../storage/save-then-show';
import { defaultPreset, isHeadsetClass, isPresetName, type PresetName } from '../../pipeline/presets';
import '../gallery/app-gallery'; // connects the scene services saveThenShow uses

export const pipelineClient = new PipelineClient();

/** One for the page: a host allowed for the panorama model is allowed for the upscaler too. */
export const modelHostGate = pageModelHostGate();

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
    // A ?model= link (or a typed address) on another site is fetched only after the user allows that host.
    hostGate: modelHostGate,
  },
  initialSettingsFromUrl(),
);

refineDefaultPreset();

/** `?preset=` of the page, if it names a preset: a link's choice beats the device's default. */
function presetFromUrl(): PresetName | null {
  if (typeof location === 'undefined') return null;
  const p = new URLSearchParams(location.search).get('preset');
  return isPresetName(p) ? p : null;
}

/**
 * `?model=<url or hf:owner/repo/subdir>` and `?backend=wasm|webgpu` preset the model settings, so
 * a link can point the app at a published export (and tests can pick the back end);
 * `?preset=headset|reference` picks the generation preset. Without it the preset is the device's
 * default (presets.ts defaultPreset): 'headset' in a headset or mobile browser, from its user agent.
 * `?wrap=0` turns seamless 360° off (zero padding, exactly diffusers; `?wrap=1` is the default).
 */
function initialSettingsFromUrl(): Parameters<typeof createGenerationStore>[1] {
  const userAgent = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  const preset = presetFromUrl() ?? defaultPreset({ userAgent });
  if (typeof location === 'undefined') return { preset };
  const q = new URLSearchParams(location.search);
  const model = q.get('model');
  const backend = q.get('backend');
  const wrap = q.get('wrap');
  return {
    preset,
    ...(wrap === '0' || wrap === 'false' ? { wrap: false } : wrap === '1' || wrap === 'true' ? { wrap: true } : {}),
    ...(model ? { modelUrl: model } : {}),
    ...(backend === 'wasm' || backend === 'webgpu' || backend === 'auto' ? { backend } : {}),
  };
}

/**
 * A mobile GPU in a browser whose user agent looks like a desktop's (a tablet in desktop mode, a
 * laptop with an ARM GPU) is known only from the WebGPU adapter, which is asked for asynchronously:
 * switch to 'headset' then, unless a link chose the preset or the settings were changed meanwhile.
 * Requesting an adapter creates no device; the pipeline worker requests its own.
 */
function refineDefaultPreset(): void {
  if (typeof navigator === 'undefined' || presetFromUrl() !== null) return;
  const initial = generationStore.getState().settings;
  if (initial.preset === 'headset' || !navigator.gpu) return;
  void navigator.gpu
    .requestAdapter()
    .then((adapter) => {
      const info = adapter?.info;
      if (!info) return;
      const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ');
      const s = generationStore.getState();
      if (isHeadsetClass({ adapter: description }) && s.settings === initial && s.status === 'idle') s.choosePreset('headset');
    })
    .catch(() => undefined);
}
