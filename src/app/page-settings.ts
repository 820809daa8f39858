/**
 * What the page's address and device choose before anything runs: the generation settings a link
 * presets, the upscaler's model, and the preset a mobile GPU gets. Pure functions of the address
 * and device, so src/app/services.ts and its tests call them with any page.
 */
import { createGenerationStore, type GenerationStore } from '../state/generation';
import { defaultPreset, isHeadsetClass, isPresetName, type PresetName } from '../pipeline/presets';

export const DEFAULT_SR_MODEL_URL = './models/tiny/ldm3d-sr/';

/** `?preset=` of the page, if it names a preset: a link's choice beats the device's default. */
export function presetFromUrl(search: string): PresetName | null {
  const p = new URLSearchParams(search).get('preset');
  return isPresetName(p) ? p : null;
}

/**
 * `?model=<url or hf:owner/repo/subdir>` and `?backend=wasm|webgpu` preset the model settings, so
 * a link can point the app at a published export (and tests can pick the back end);
 * `?preset=headset|reference` picks the generation preset. Without it the preset is the device's
 * default (presets.ts defaultPreset): 'headset' in a headset or mobile browser, from its user agent.
 * `?wrap=0` turns seamless 360° off (zero padding, exactly diffusers; `?wrap=1` is the default).
 */
export function initialSettingsFromUrl(search: string, userAgent: string): Parameters<typeof createGenerationStore>[1] {
  const preset = presetFromUrl(search) ?? defaultPreset({ userAgent });
  const q = new URLSearchParams(search);
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

/** `?sr=<url or hf:…>` picks the LDM3D-SR export; `?srSteps=N` presets the SR step count. */
export function srSettingsFromUrl(search: string): { modelUrl: string; steps?: number } {
  const q = new URLSearchParams(search);
  const steps = Number(q.get('srSteps'));
  return { modelUrl: q.get('sr') || DEFAULT_SR_MODEL_URL, ...(Number.isInteger(steps) && steps > 0 ? { steps } : {}) };
}

/**
 * A mobile GPU in a browser whose user agent looks like a desktop's (a tablet in desktop mode, a
 * laptop with an ARM GPU) is known only from the WebGPU adapter, which is asked for asynchronously:
 * switch to 'headset' then, unless a link chose the preset or the settings were changed meanwhile.
 * Requesting an adapter creates no device; the pipeline worker requests its own.
 */
export function refineDefaultPreset(store: GenerationStore, search: string, gpu: GPU | undefined): void {
  if (presetFromUrl(search) !== null) return;
  const initial = store.getState().settings;
  if (initial.preset === 'headset' || !gpu) return;
  void gpu
    .requestAdapter()
    .then((adapter) => {
      const info = adapter?.info;
      if (!info) return;
      const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ');
      const s = store.getState();
      if (isHeadsetClass({ adapter: description }) && s.settings === initial && s.status === 'idle') s.choosePreset('headset');
    })
    .catch(() => undefined);
}
