import { describe, expect, it } from 'vitest';
import {
  NO_DEEPCACHE_REASON,
  currentPresetLabel,
  deepCacheControl,
  deepCacheOptions,
  presetOptions,
} from '../../../src/ui/generate/preset-controls';
import { DEFAULT_SETTINGS, applySettingsPatch, type GenerationSettings } from '../../../src/state/generation';
import { LDM3D_PANO_DEFAULTS } from '../../../src/pipeline/presets';
import type { LoadedMessage } from '../../../src/workers/protocol';

function loaded(over: { steps?: number; scheduler?: 'ddim' | 'pndm'; supportsDeepCache?: boolean } = {}): LoadedMessage {
  return {
    type: 'loaded',
    id: 1,
    summary: {
      modelId: 'test/tiny',
      license: 'apache-2.0',
      pipeline: 'StableDiffusionLDM3DPipeline',
      width: 128,
      height: 64,
      dtype: 'float32',
      defaults: { steps: over.steps ?? 50, guidance: 7, scheduler: over.scheduler ?? 'ddim' },
    },
    backend: 'webgpu',
    notices: [],
    testWeights: true,
    loadMs: 1,
    supportsDeepCache: over.supportsDeepCache ?? false,
  };
}

const settings = (patch: Partial<GenerationSettings>): GenerationSettings => applySettingsPatch(DEFAULT_SETTINGS, patch, LDM3D_PANO_DEFAULTS);

describe('preset selector', () => {
  it('offers both presets with what they mean; custom only while the settings are custom, and not pickable', () => {
    const ref = settings({});
    expect(presetOptions(ref, null)).toEqual([
      { value: 'headset', label: 'Headset — DPM-Solver++ 2M, 20 steps, feature cache (full UNet every 3rd step)', disabled: false },
      { value: 'reference', label: "Reference — DDIM, 50 steps (the model's defaults, as diffusers)", disabled: false },
    ]);
    const custom = settings({ preset: 'headset', steps: 12 });
    expect(custom.preset).toBe('custom');
    expect(presetOptions(custom, null).at(-1)).toEqual({ value: 'custom', label: 'Custom — DPM-Solver++ 2M, 12 steps, feature cache (full UNet every 3rd step)', disabled: true });
    expect(currentPresetLabel(custom)).toBe('Custom — DPM-Solver++ 2M, 12 steps, feature cache (full UNet every 3rd step)');
    expect(currentPresetLabel(settings({ preset: 'headset' }))).toBe('Headset — DPM-Solver++ 2M, 20 steps, feature cache (full UNet every 3rd step)');
  });

  it("'reference' reads the loaded model's defaults", () => {
    expect(presetOptions(settings({}), loaded({ steps: 3, scheduler: 'pndm' }))[1]!.label).toBe("Reference — PNDM, 3 steps (the model's defaults, as diffusers)");
  });
});

describe('feature cache control', () => {
  it('offers off, every 2nd, every 3rd step (and a recorded other interval)', () => {
    expect(deepCacheOptions(1)).toEqual([
      { value: 1, label: 'off' },
      { value: 2, label: 'every 2nd step' },
      { value: 3, label: 'every 3rd step' },
    ]);
    expect(deepCacheOptions(5).map((o) => o.value)).toEqual([1, 2, 3, 5]);
  });

  it('is enabled before a model is known and where it has the graphs; disabled with the reason otherwise, showing what runs', () => {
    expect(deepCacheControl({ deepCacheInterval: 2 }, null)).toEqual({ enabled: true, reason: null, shown: 2 });
    expect(deepCacheControl({ deepCacheInterval: 2 }, loaded({ supportsDeepCache: true }))).toEqual({ enabled: true, reason: null, shown: 2 });
    expect(deepCacheControl({ deepCacheInterval: 2 }, loaded({ supportsDeepCache: false }))).toEqual({ enabled: false, reason: NO_DEEPCACHE_REASON, shown: 1 });
    expect(NO_DEEPCACHE_REASON).toMatch(/no DeepCache graphs.*--deepcache/);
  });
});
