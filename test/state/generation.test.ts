import { describe, expect, it } from 'vitest';
import { TEST_WEIGHTS_NOTICE, createGenerationStore, labelOf, truncationNotice, type GenerationProgress } from '../../src/state/generation';
import { createSceneStore } from '../../src/state/scene-store';
import { PipelineClient } from '../../src/workers/client';
import { MemoryModelStorage } from '../../src/runtime/model-store-storage';
import { BASE, FakeServer, makeManifest, standardFiles } from '../runtime/model-store-fake-server';
import { fakeControls } from '../workers/fake-pipeline';
import { InProcessWorker } from '../workers/in-process-worker';

function setup(options: { confirmAboveBytes?: number; testWeights?: boolean; persistStorage?: () => Promise<unknown> } = {}) {
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
    { prompt: 'a lighthouse on a cliff', steps: 3 },
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
