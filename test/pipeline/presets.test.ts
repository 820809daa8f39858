import { describe, expect, it } from 'vitest';
import {
  HEADSET_DEEPCACHE_INTERVAL,
  LDM3D_PANO_DEFAULTS,
  deepCacheIntervalError,
  deepCacheLabel,
  defaultPreset,
  isHeadsetClass,
  matchingPreset,
  presetLabel,
  presetValues,
} from '../../src/pipeline/presets';
import { chooseMemoryPolicy, lowMemoryAdvice } from '../../src/pipeline/pano/memory-policy';

/** Real user agents and adapter descriptions (as GPUAdapterInfo vendor/architecture/description read). */
const QUEST3_UA =
  'Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/36.2.0.1.62 SamsungBrowser/4.0 Chrome/130.0.6723.164 VR Safari/537.36';
const PICO_UA = 'Mozilla/5.0 (Linux; Android 10; Pico Neo 4) AppleWebKit/537.36 (KHTML, like Gecko) PicoBrowser/3.3.22 Chrome/105.0.5195.68 VR Safari/537.36';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const MAC_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe('presets', () => {
  it("headset = DPM-Solver++ 2M, 20 steps, the named DeepCache constant; reference = the model's defaults with the cache off", () => {
    expect(presetValues('headset')).toEqual({ scheduler: 'dpm', steps: 20, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL });
    expect(presetValues('reference')).toEqual({ scheduler: 'ddim', steps: 50, deepCacheInterval: 1 });
    // 'reference' follows the loaded model's manifest.defaults, whatever they are.
    expect(presetValues('reference', { scheduler: 'pndm', steps: 3 })).toEqual({ scheduler: 'pndm', steps: 3, deepCacheInterval: 1 });
    expect(LDM3D_PANO_DEFAULTS).toEqual({ scheduler: 'ddim', steps: 50 });
  });

  it('names the preset that given values are, else custom', () => {
    expect(matchingPreset({ scheduler: 'dpm', steps: 20, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL })).toBe('headset');
    expect(matchingPreset({ scheduler: 'ddim', steps: 50, deepCacheInterval: 1 })).toBe('reference');
    expect(matchingPreset({ scheduler: 'dpm', steps: 21, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL })).toBe('custom');
    expect(matchingPreset({ scheduler: 'euler', steps: 20, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL })).toBe('custom');
    expect(matchingPreset({ scheduler: 'ddim', steps: 50, deepCacheInterval: 3 })).toBe('custom');
    expect(matchingPreset({ scheduler: 'ddim', steps: 3, deepCacheInterval: 1 }, { scheduler: 'ddim', steps: 3 })).toBe('reference');
    expect(matchingPreset({ scheduler: 'ddim', steps: 50, deepCacheInterval: 1 }, { scheduler: 'ddim', steps: 3 })).toBe('custom');
  });

  it('labels say the name and what it means', () => {
    expect(presetLabel('headset', presetValues('headset'))).toBe('Headset — DPM-Solver++ 2M, 20 steps, feature cache (full UNet every 3rd step)');
    expect(presetLabel('reference', presetValues('reference'))).toBe("Reference — DDIM, 50 steps (the model's defaults, as diffusers)");
    expect(presetLabel('custom', { scheduler: 'euler', steps: 1, deepCacheInterval: 3 })).toBe('Custom — Euler, 1 step, feature cache (full UNet every 3rd step)');
    expect([1, 2, 3, 4, 11, 12, 21, 22].map(deepCacheLabel)).toEqual([
      'off',
      'every 2nd step',
      'every 3rd step',
      'every 4th step',
      'every 11th step',
      'every 12th step',
      'every 21st step',
      'every 22nd step',
    ]);
  });

  it('accepts DeepCache intervals 1…10 (whole numbers) only', () => {
    for (const ok of [1, 2, 3, 10]) expect(deepCacheIntervalError(ok)).toBeNull();
    for (const bad of [0, 11, 2.5, -1, Number.NaN, '2', null, undefined]) {
      expect(deepCacheIntervalError(bad)).toMatch(/deepCacheInterval must be a whole number from 1 to 10/);
    }
  });
});

describe('headset-class detection', () => {
  it('headset and mobile browsers, and mobile GPUs, are headset-class; desktops are not', () => {
    expect(isHeadsetClass({ userAgent: QUEST3_UA })).toBe(true);
    expect(isHeadsetClass({ userAgent: PICO_UA })).toBe(true);
    expect(isHeadsetClass({ userAgent: DESKTOP_UA, adapter: 'qualcomm adreno-7xx' })).toBe(true);
    expect(isHeadsetClass({ userAgent: DESKTOP_UA, adapter: 'arm valhall Mali-G710' })).toBe(true);
    expect(isHeadsetClass({ userAgent: DESKTOP_UA, adapter: 'nvidia hopper NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(isHeadsetClass({ userAgent: MAC_UA, adapter: 'apple metal-3 Apple M2' })).toBe(false);
    // "arm" only as a word: a desktop "Swarm"/"Charm" adapter name is no mobile GPU.
    expect(isHeadsetClass({ userAgent: DESKTOP_UA, adapter: 'charmed swarm' })).toBe(false);
    expect(isHeadsetClass({})).toBe(false);
  });

  it("the default preset is 'headset' exactly where the memory policy treats the device as mobile", () => {
    const cases = [
      { userAgent: QUEST3_UA, adapter: 'qualcomm adreno-7xx' },
      { userAgent: DESKTOP_UA, adapter: 'qualcomm adreno-7xx' },
      { userAgent: QUEST3_UA, adapter: '' },
      { userAgent: DESKTOP_UA, adapter: 'nvidia ada' },
      { userAgent: MAC_UA, adapter: 'apple metal-3' },
    ];
    for (const env of cases) {
      // A large WebGPU model on a device with plenty of memory: only the mobile test decides staging.
      const policy = chooseMemoryPolicy({ backend: 'webgpu', deviceMemoryGiB: 8, weightBytes: 4e9, ...env });
      expect(defaultPreset(env), JSON.stringify(env)).toBe(policy === 'staged' ? 'headset' : 'reference');
    }
    expect(defaultPreset({ userAgent: QUEST3_UA })).toBe('headset');
    expect(defaultPreset({ userAgent: DESKTOP_UA, adapter: 'nvidia ada' })).toBe('reference');
  });

  it('lowMemoryAdvice still speaks to headset-class devices only', () => {
    const manifest = {
      sessions: { unet: { file: 'unet/model.onnx', external_data: ['model.onnx_data'] } },
      files: [
        { path: 'unet/model.onnx', bytes: 1e6 },
        { path: 'unet/model.onnx_data', bytes: 3.4e9 },
      ],
    } as unknown as Parameters<typeof lowMemoryAdvice>[1];
    expect(lowMemoryAdvice({ backend: 'webgpu', userAgent: QUEST3_UA, weightBytes: 4e9 }, manifest)).toMatch(/int8 export/);
    expect(lowMemoryAdvice({ backend: 'webgpu', userAgent: DESKTOP_UA, adapter: 'nvidia ada', weightBytes: 4e9 }, manifest)).toBeNull();
  });
});
