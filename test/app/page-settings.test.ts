import { describe, expect, it } from 'vitest';
import { DEFAULT_SR_MODEL_URL, initialSettingsFromUrl, presetFromUrl, refineDefaultPreset, srSettingsFromUrl } from '../../src/app/page-settings';
import { createAppServices } from '../../src/app/services';
import { testEnvironment } from './app-fakes';

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130';
const QUEST = 'Mozilla/5.0 (X11; Linux x86_64; Quest 3) OculusBrowser/36';

function fakeGpu(description: string): GPU {
  const adapter = { info: { vendor: '', architecture: '', device: '', description } };
  // Only requestAdapter().info is read.
  return { requestAdapter: () => Promise.resolve(adapter) } as unknown as GPU;
}

describe('page settings', () => {
  it('reads the preset, model, back end and wrap from the address; the device picks the preset otherwise', () => {
    expect(presetFromUrl('?preset=reference')).toBe('reference');
    expect(presetFromUrl('?preset=fast')).toBeNull();
    expect(initialSettingsFromUrl('', DESKTOP)).toEqual({ preset: 'reference' });
    expect(initialSettingsFromUrl('', QUEST)).toEqual({ preset: 'headset' });
    expect(initialSettingsFromUrl('?preset=reference&wrap=false&backend=webgpu&model=./m/', QUEST)).toEqual({
      preset: 'reference',
      wrap: false,
      backend: 'webgpu',
      modelUrl: './m/',
    });
    expect(initialSettingsFromUrl('?wrap=1&backend=cuda', DESKTOP)).toEqual({ preset: 'reference', wrap: true });
  });

  it('reads the upscaler and its steps', () => {
    expect(srSettingsFromUrl('')).toEqual({ modelUrl: DEFAULT_SR_MODEL_URL });
    expect(srSettingsFromUrl('?sr=hf:o/r/sr&srSteps=5')).toEqual({ modelUrl: 'hf:o/r/sr', steps: 5 });
    expect(srSettingsFromUrl('?srSteps=-2')).toEqual({ modelUrl: DEFAULT_SR_MODEL_URL });
  });

  it('a mobile GPU behind a desktop user agent switches to the headset preset, unless a link chose one', async () => {
    const app = createAppServices(testEnvironment({ userAgent: DESKTOP }).env);
    refineDefaultPreset(app.generation, '', fakeGpu('Qualcomm Adreno 740'));
    await new Promise((r) => setTimeout(r, 0));
    expect(app.generation.getState().settings.preset).toBe('headset');
    app.destroy();

    const linked = createAppServices(testEnvironment({ userAgent: DESKTOP, search: '?preset=reference' }).env);
    refineDefaultPreset(linked.generation, '?preset=reference', fakeGpu('Qualcomm Adreno 740'));
    await new Promise((r) => setTimeout(r, 0));
    expect(linked.generation.getState().settings.preset).toBe('reference');
    linked.destroy();

    const desktop = createAppServices(testEnvironment({ userAgent: DESKTOP, gpu: fakeGpu('NVIDIA GeForce RTX 4090') }).env);
    await new Promise((r) => setTimeout(r, 0));
    expect(desktop.generation.getState().settings.preset).toBe('reference');
    desktop.destroy();
  });
});
