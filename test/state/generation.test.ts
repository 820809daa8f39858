import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  NO_DEEPCACHE_NOTICE,
  TEST_WEIGHTS_NOTICE,
  applySettingsPatch,
  createGenerationStore,
  labelOf,
  truncationNotice,
  type GenerationProgress,
  type GenerationSettings,
} from '../../src/state/generation';
import { HEADSET_DEEPCACHE_INTERVAL, LDM3D_PANO_DEFAULTS } from '../../src/pipeline/presets';
import { createSceneStore } from '../../src/state/viewer';
import { PipelineClient } from '../../src/workers/client';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { BASE, FakeServer, makeManifest, standardFiles } from '../model/model-store-fake-server';
import { fakeControls } from '../workers/fake-pipeline';
import { InProcessWorker } from '../workers/in-process-worker';

function setup(
  options: { confirmAboveBytes?: number; testWeights?: boolean; persistStorage?: () => Promise<unknown>; initial?: Partial<GenerationSettings> } = {},
) {
  const files = standardFiles();
  const server = new FakeServer(files, makeManifest(files, { test_weights: options.testWeights ?? true }));
  const storage = new MemoryModelStorage();
  const controls = fakeControls();
  const client = new PipelineClient({ createWorker: () => new InProcessWorker(server, controls, storage) });
  const scene = createSceneStore({ near: 1, far: 20 });
  const store = createGenerationStore(
    {
      client,
      scene,
      resolveModelUrl: () => BASE,
      confirmAboveBytes: options.confirmAboveBytes,
      previewIntervalMs: 0,
      randomSeed: () => 1234,
      persistStorage: options.persistStorage,
    },
    options.initial ?? { prompt: 'a lighthouse on a cliff', steps: 3 },
  );
  return { store, scene, client, controls, server };
}

describe('generation store', () => {
  it('loads on first use, generates, shows the result in the scene and keeps it', async () => {
    const { store, scene } = setup();
    const statuses: string[] = [];
    const progress: GenerationProgress[] = [];
    store.subscribe((s, prev) => {
      if (s.status !== prev.status) statuses.push(s.status);
      if (s.progress && s.progress !== prev.progress) progress.push(s.progress);
    });
    await store.getState().generate();
    const s = store.getState();
    expect(statuses).toEqual(['planning', 'loading', 'generating', 'idle']);
    expect(s.error).toBeNull();
    expect(s.notices).toContain(TEST_WEIGHTS_NOTICE);
    expect(s.settings.seed).toBe(1234); // the random seed used is kept, so the run can be repeated
    expect(s.last!.result.metadata).toMatchObject({ prompt: 'a lighthouse on a cliff', seed: 1234, steps: 3 });
    const shown = scene.getState().current!;
    expect(shown.id).toBe(s.last!.panoramaId);
    expect(shown.label).toBe('a lighthouse on a cliff');
    expect(shown.panorama.width).toBe(128);
    expect(shown.panorama.rgba[0]).toBe(1234 % 256);
    // Download, then steps with previews, then decode.
    expect(progress.some((p) => p.phase === 'download')).toBe(true);
    expect(progress.some((p) => p.phase === 'sessions')).toBe(true);
    expect(progress.filter((p) => p.phase === 'denoise' && p.preview).length).toBe(2);
    expect(progress.at(-1)!.phase).toBe('decode');
    expect(s.progress).toBeNull();
  });

  it("shows previews in the scene's preview slot while generating and clears them on cancel", async () => {
    const { store, scene, controls, client } = setup();
    const first = scene.getState().showPanorama({ width: 2, height: 1, rgba: new Uint8ClampedArray(8), depth: new Float32Array(2) }, 'before');
    const previews: (number | null)[] = [];
    scene.subscribe((s, prev) => {
      if (s.preview !== prev.preview) previews.push(s.preview ? s.preview.rgba[0] : null);
    });
    controls.onStep = (step) => {
      if (step === 3) store.getState().cancel();
    };
    store.getState().updateSettings({ steps: 10 });
    await store.getState().generate();
    expect(store.getState().status).toBe('idle');
    expect(store.getState().error).toBeNull();
    // The fake pipeline's preview of step k is filled with k; flat depth; then cleared.
    expect(previews).toEqual([1, 2, null]);
    expect(scene.getState().current!.id).toBe(first);
    // Usable afterwards; the result replaces the preview.
    controls.onStep = undefined;
    store.getState().updateSettings({ steps: 2 });
    await store.getState().generate();
    expect(store.getState().last).not.toBeNull();
    expect(scene.getState().preview).toBeNull();
    expect(scene.getState().current!.id).toBe(store.getState().last!.panoramaId);
    expect(client.loaded).not.toBeNull();
  });

  it('reports a missing model file as an error naming it, and recovers when it is back', async () => {
    const { store, server } = setup();
    server.missing.add('unet/model.onnx_data');
    await store.getState().generate();
    expect(store.getState().status).toBe('error');
    expect(store.getState().error).toMatchObject({ code: 'model-missing', file: 'unet/model.onnx_data' });
    server.missing.clear();
    await store.getState().generate();
    expect(store.getState().status).toBe('idle');
    expect(store.getState().last).not.toBeNull();
  });

  it('asks before a large download, and downloads once confirmed', async () => {
    let persisted = 0;
    const { store, server } = setup({ confirmAboveBytes: 1000, persistStorage: async () => persisted++ });
    await store.getState().generate();
    const s = store.getState();
    expect(s.status).toBe('idle');
    expect(s.awaitingConfirmation!.remainingBytes).toBeGreaterThan(1000);
    expect(server.requests.filter((r) => r.path !== 'manifest.json')).toHaveLength(0);
    expect(persisted).toBe(0);
    await store.getState().generate({ confirmDownload: true });
    // A confirmed large download asks the browser to keep the files (no eviction).
    expect(persisted).toBe(1);
    expect(store.getState().last).not.toBeNull();
    expect(store.getState().awaitingConfirmation).toBeNull();
  });

  it('tells when a prompt is truncated, and when the backend fell back to WASM', async () => {
    const { store, controls } = setup({ testWeights: false });
    controls.webgpu = false;
    store.getState().updateSettings({ prompt: Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ') });
    await store.getState().generate();
    const n = store.getState().notices;
    expect(n).toContain('WebGPU unavailable — running on WASM (slower)');
    expect(n).toContain(truncationNotice('Prompt', 92, 77));
    expect(n).not.toContain(TEST_WEIGHTS_NOTICE);
  });

  it('recovers from a lost device: error first, then the retry works', async () => {
    const { store, controls } = setup();
    await store.getState().generate();
    controls.loseDeviceAtStep = 1;
    await store.getState().generate();
    expect(store.getState().error).toMatchObject({ code: 'device-lost' });
    await store.getState().generate();
    expect(store.getState().status).toBe('idle');
    expect(controls.loads).toBe(2);
  });

  it('shortens labels', () => {
    expect(labelOf('  a   b ')).toBe('a b');
    expect(labelOf('x'.repeat(100))).toHaveLength(58);
    expect(labelOf('')).toBe('(empty prompt)');
  });
});

describe('generation presets in the store', () => {
  const headset = { scheduler: 'dpm', steps: 20, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL };

  it("starts on 'reference' (the model's defaults), or on the preset it is given", () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ preset: 'reference', scheduler: 'ddim', steps: 50, deepCacheInterval: 1 });
    expect(setup({ initial: {} }).store.getState().settings).toMatchObject({ preset: 'reference', scheduler: 'ddim', steps: 50, deepCacheInterval: 1 });
    expect(setup({ initial: { preset: 'headset' } }).store.getState().settings).toMatchObject({ preset: 'headset', ...headset });
    // Values given with a preset win, and then they are what the preset field says.
    expect(setup({ initial: { preset: 'headset', steps: 2 } }).store.getState().settings).toMatchObject({ preset: 'custom', scheduler: 'dpm', steps: 2 });
  });

  it("a hand edit makes it 'custom'; choosing a preset again restores its values", () => {
    const { store } = setup({ initial: {} });
    store.getState().choosePreset('headset');
    expect(store.getState().settings).toMatchObject({ preset: 'headset', ...headset });
    store.getState().updateSettings({ steps: 12 });
    expect(store.getState().settings).toMatchObject({ preset: 'custom', scheduler: 'dpm', steps: 12 });
    store.getState().choosePreset('headset');
    expect(store.getState().settings).toMatchObject({ preset: 'headset', steps: 20 });
    store.getState().updateSettings({ scheduler: 'euler' });
    expect(store.getState().settings.preset).toBe('custom');
    store.getState().updateSettings({ deepCacheInterval: 3 });
    expect(store.getState().settings).toMatchObject({ preset: 'custom', deepCacheInterval: 3 });
    store.getState().choosePreset('reference');
    expect(store.getState().settings).toMatchObject({ preset: 'reference', scheduler: 'ddim', steps: 50, deepCacheInterval: 1 });
    // Guidance, prompt and seed are not part of a preset.
    store.getState().updateSettings({ guidance: 3, prompt: 'x', seed: 5 });
    expect(store.getState().settings.preset).toBe('reference');
    // Typing a preset's values by hand is that preset.
    store.getState().updateSettings({ scheduler: 'dpm', steps: 20, deepCacheInterval: HEADSET_DEEPCACHE_INTERVAL });
    expect(store.getState().settings.preset).toBe('headset');
  });

  it('applySettingsPatch keeps the preset in step with the values it is given', () => {
    const cur = applySettingsPatch(DEFAULT_SETTINGS, {}, LDM3D_PANO_DEFAULTS);
    expect(cur.preset).toBe('reference');
    expect(applySettingsPatch(cur, { steps: 49 }, LDM3D_PANO_DEFAULTS).preset).toBe('custom');
    // 'custom' is not a preset one can pick: naming it changes nothing.
    expect(applySettingsPatch(cur, { preset: 'custom' }, LDM3D_PANO_DEFAULTS)).toEqual(cur);
    // The same values are 'reference' for a model whose defaults they are.
    expect(applySettingsPatch(cur, { steps: 3 }, { scheduler: 'ddim', steps: 3 }).preset).toBe('reference');
  });

  it("'reference' follows the loaded model's defaults; the metadata records the preset and the interval", async () => {
    // The fake model's manifest.defaults: DDIM, 3 steps.
    const { store } = setup({ initial: { prompt: 'a barn', preset: 'reference' } });
    expect(store.getState().settings.steps).toBe(50);
    await store.getState().generate();
    expect(store.getState().settings).toMatchObject({ preset: 'reference', steps: 3, scheduler: 'ddim' });
    expect(store.getState().last!.result.metadata).toMatchObject({ preset: 'reference', steps: 3, scheduler: 'ddim', deepCacheInterval: 1 });
    // Picking 'reference' again after an edit gives this model's defaults, not ldm3d-pano's.
    store.getState().updateSettings({ steps: 7 });
    store.getState().choosePreset('reference');
    expect(store.getState().settings.steps).toBe(3);
  });

  it("a 'headset' generation runs DPM-Solver++ 2M at 20 steps and says so in its metadata", async () => {
    const { store, controls } = setup({ initial: { prompt: 'a barn', preset: 'headset' } });
    await store.getState().generate();
    expect(store.getState().settings.preset).toBe('headset');
    expect(store.getState().settings.deepCacheInterval).toBe(HEADSET_DEEPCACHE_INTERVAL);
    // This fake export has no DeepCache graphs, so the preset's feature cache runs off (the next test
    // covers a model that has them).
    expect(controls.lastParams).toMatchObject({ scheduler: 'dpm', steps: 20, deepCacheInterval: 1 });
    expect(store.getState().last!.result.metadata).toMatchObject({ preset: 'headset', scheduler: 'dpm', steps: 20 });
  });

  it('runs the feature cache only where the model has the graphs, and says when it could not', async () => {
    const without = setup({ initial: { prompt: 'a barn', steps: 2, deepCacheInterval: 2 } });
    await without.store.getState().generate();
    expect(without.store.getState().model!.supportsDeepCache).toBe(false);
    expect(without.controls.lastParams!.deepCacheInterval).toBe(1);
    expect(without.store.getState().last!.result.metadata.deepCacheInterval).toBe(1);
    expect(without.store.getState().notices).toContain(NO_DEEPCACHE_NOTICE);
    // The setting itself is kept (another model may have the graphs).
    expect(without.store.getState().settings.deepCacheInterval).toBe(2);

    const withGraphs = setup({ initial: { prompt: 'a barn', steps: 2, deepCacheInterval: 2 } });
    withGraphs.controls.deepCache = true;
    await withGraphs.store.getState().generate();
    expect(withGraphs.controls.lastParams!.deepCacheInterval).toBe(2);
    expect(withGraphs.store.getState().last!.result.metadata).toMatchObject({ deepCacheInterval: 2, preset: 'custom' });
    expect(withGraphs.store.getState().notices).not.toContain(NO_DEEPCACHE_NOTICE);
  });
});
