import { describe, expect, it } from 'vitest';
import { createSharpenStore, loadedModelsText, type FinishedPatch, type SharpenClient, type SharpenDeps } from '../../src/state/sharpen';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { createSceneStore } from '../../src/state/viewer';
import { PipelineError, type SharpenParams, type SharpenResult } from '../../src/workers/client';
import type { PlanModels, PlanSummary } from '../../src/workers/protocol';
import { CONFIRM_DOWNLOAD_ABOVE_BYTES, downloadConfirmText } from '../../src/state/download-confirm';

const pano = () => ({ width: 8, height: 4, rgba: new Uint8ClampedArray(8 * 4 * 4), depth: new Float32Array(32) });
const SR = { modelId: 'tiny-random/ldm3d-sr', testWeights: true, backend: 'wasm' as const };

/** What the worker's plan says about the upscaler: by default everything is already stored. */
function srPlan(remainingBytes = 0, cachedBytes = 0): PlanSummary {
  const totalBytes = remainingBytes + cachedBytes;
  return {
    baseUrl: 'http://x/sr/',
    modelId: 'Intel/ldm3d-sr',
    testWeights: false,
    files: [{ path: 'unet/model.onnx', bytes: totalBytes, cachedBytes }],
    totalBytes,
    cachedBytes,
    remainingBytes,
    availableBytes: null,
  };
}

/**
 * Without `plan` the upscaler counts as loaded already (no size question: the sharpen job starts
 * at once); with it, nothing is loaded and `plan` answers the size question.
 */
function fakeClient(behaviour: (p: SharpenParams) => Promise<SharpenResult>, plan?: () => Promise<PlanSummary>) {
  const calls: SharpenParams[] = [];
  const plans: [string, PlanModels][] = [];
  let cancelled = 0;
  const client: SharpenClient & { calls: SharpenParams[]; plans: [string, PlanModels][]; cancelled: () => number } = {
    srLoaded: plan ? null : SR,
    calls,
    plans,
    cancelled: () => cancelled,
    plan: (baseUrl, models) => {
      plans.push([baseUrl, models]);
      return plan ? plan() : Promise.reject(new Error('not expected: the upscaler is loaded'));
    },
    sharpen: (p) => {
      calls.push(p);
      return behaviour(p);
    },
    unloadSr: async () => undefined,
    cancel: () => cancelled++,
  };
  return client;
}

/** A 2×2 fully opaque patch at columns 15..16 (wrapping at 16) of a 16 × 8 layer. */
function result(): SharpenResult {
  return {
    id: 1,
    layerWidth: 16,
    layerHeight: 8,
    region: { y0: 3, y1: 4, x0: 15, count: 2 },
    rgba: new Uint8ClampedArray(16).fill(255),
    depth: new Float32Array(4).fill(0.25),
    border: { mean: 0, p95: 0, max: 0 },
    sr: SR,
    timings: {},
  };
}

function setup(client: SharpenClient, extra: Partial<SharpenDeps> = {}) {
  const scene = createSceneStore({ near: 1, far: 10 });
  scene.getState().showPanorama(pano(), 'a');
  const store = createSharpenStore({ client, scene, modelUrl: () => 'http://x/sr/', backend: () => 'wasm', layerWidth: 16, ...extra }, { steps: 2 });
  store.getState().setGazeSource(() => ({ gaze: { x: 0, y: 0, z: -1 } }));
  return { scene, store };
}

describe('sharpen store', () => {
  it('sends a copy of the shown panorama with the gaze, composites the result, resets on a new scene', async () => {
    const client = fakeClient(async () => result());
    const { scene, store } = setup(client);
    await store.getState().sharpen();
    const sent = client.calls[0]!;
    expect(sent).toMatchObject({ baseUrl: 'http://x/sr/', backend: 'wasm', width: 8, height: 4, steps: 2, gaze: { x: 0, y: 0, z: -1 }, layerWidth: 16 });
    expect(sent.rgba).not.toBe(scene.getState().current!.panorama.rgba); // a copy: its buffer is transferred
    const s = store.getState();
    expect(s.status).toBe('idle');
    expect(s.regions).toBe(1);
    expect(s.srModel).toEqual(SR);
    expect(s.touched).toEqual([
      { x: 15, y: 3, width: 1, height: 2 },
      { x: 0, y: 3, width: 1, height: 2 },
    ]);
    expect(s.layer!.rgba[(3 * 16 + 15) * 4 + 3]).toBe(255);
    expect(s.layer!.depth[3 * 16]).toBeCloseTo(0.25);
    await store.getState().sharpen();
    expect(store.getState().regions).toBe(2);
    expect(store.getState().touched).toHaveLength(2); // merged, not duplicated

    scene.getState().showPanorama(pano(), 'b');
    expect(store.getState()).toMatchObject({ layer: null, regions: 0, touched: [] });
  });

  it("shows the result's notices (a damaged stored upscaler file downloaded again) in the messages", async () => {
    const notice = 'unet/model.onnx: the copy stored in this browser was damaged (…), so it was removed and downloaded again.';
    const client = fakeClient(async () => ({ ...result(), notices: [notice] }));
    const { scene, store } = setup(client);
    await store.getState().sharpen();
    expect(store.getState().regions).toBe(1);
    expect(scene.getState().messages.filter((m) => m.kind === 'notice').map((m) => m.text)).toEqual([notice]);
  });

  it('drops a result for a scene that is no longer shown; reports errors and cancel in the messages', async () => {
    let release: () => void = () => undefined;
    const client = fakeClient(() => new Promise((resolve) => (release = () => resolve(result()))));
    const { scene, store } = setup(client);
    const run = store.getState().sharpen();
    expect(store.getState().status).toBe('sharpening');
    scene.getState().showPanorama(pano(), 'b');
    release();
    await run;
    expect(store.getState().layer).toBeNull();
    expect(scene.getState().messages.at(-1)?.text).toMatch(/scene changed/);

    const failing = fakeClient(async () => {
      throw new PipelineError('model-missing', 'unet/model.onnx: missing on the server — HTTP 404');
    });
    const b = setup(failing);
    await b.store.getState().sharpen();
    expect(b.scene.getState().messages.at(-1)).toMatchObject({ kind: 'error', text: 'Sharpen failed: unet/model.onnx: missing on the server — HTTP 404' });

    const cancelling = fakeClient(async () => {
      throw new PipelineError('cancelled', 'cancelled');
    });
    const c = setup(cancelling);
    const p = c.store.getState().sharpen();
    c.store.getState().cancel();
    expect(cancelling.cancelled()).toBe(1);
    await p;
    expect(c.scene.getState().messages.at(-1)).toMatchObject({ kind: 'notice', text: 'Sharpen cancelled.' });
    expect(c.store.getState().status).toBe('idle');
  });

  it('saves a finished patch before showing it; a failed save is said and the patch shown anyway', async () => {
    const log: string[] = [];
    const saved: { sceneId: number; patch: FinishedPatch }[] = [];
    let fail = false;
    let release: () => void = () => undefined;
    const client = fakeClient(async () => result());
    const { scene, store } = setup(client, {
      savePatch: (sceneId, patch) => {
        log.push(`save (layer ${store.getState().layer === null ? 'empty' : 'set'})`);
        saved.push({ sceneId, patch });
        return new Promise<'saved'>((resolve, reject) => (release = () => (fail ? reject(new Error('Browser storage is full: …')) : resolve('saved'))));
      },
    });
    store.subscribe((s, prev) => {
      if (s.layer !== prev.layer) log.push('shown');
    });
    const run = store.getState().sharpen();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(store.getState().progress?.text).toMatch(/Saving/);
    // Too late to cancel: the worker is done.
    store.getState().cancel();
    expect(client.cancelled()).toBe(0);
    expect(store.getState().status).toBe('sharpening');
    release();
    await run;
    expect(log).toEqual(['save (layer empty)', 'shown']);
    expect(saved[0].sceneId).toBe(scene.getState().current!.id);
    expect(saved[0].patch).toMatchObject({ layerWidth: 16, layerHeight: 8, region: { y0: 3, y1: 4, x0: 15, count: 2 } });
    expect(store.getState()).toMatchObject({ regions: 1, unsaved: 0 });

    fail = true;
    const again = store.getState().sharpen();
    await new Promise((r) => setTimeout(r, 0));
    release();
    await again;
    expect(store.getState()).toMatchObject({ regions: 2, unsaved: 1 });
    expect(scene.getState().messages.at(-1)).toMatchObject({ kind: 'error', text: 'Browser storage is full: …' });
    expect(store.getState().status).toBe('idle');
  });

  it('a patch saved while the scene changed is kept with its scene, not shown on the new one', async () => {
    let release: () => void = () => undefined;
    const { scene, store } = setup(fakeClient(async () => result()), {
      savePatch: () => new Promise<'saved'>((resolve) => (release = () => resolve('saved'))),
    });
    const run = store.getState().sharpen();
    await new Promise((r) => setTimeout(r, 0));
    scene.getState().showPanorama(pano(), 'b');
    release();
    await run;
    expect(store.getState().layer).toBeNull();
    expect(scene.getState().messages.at(-1)?.text).toMatch(/kept with its scene/);
  });

  it('a scene that is not stored keeps its patches on screen, counted as unsaved, without a message', async () => {
    const { scene, store } = setup(fakeClient(async () => result()), { savePatch: async () => 'scene-not-saved' });
    await store.getState().sharpen();
    expect(store.getState()).toMatchObject({ regions: 1, unsaved: 1 });
    expect(store.getState().layer).not.toBeNull();
    expect(scene.getState().messages).toEqual([]);
  });

  it('adopts a restored layer for the scene on show only; undo clears storage first, then the view', async () => {
    const cleared: number[] = [];
    let clearFails = false;
    const { scene, store } = setup(fakeClient(async () => result()), {
      clearSaved: async (id) => {
        if (clearFails) throw new Error('The sharpened region could not be saved with the scene (x)');
        cleared.push(id);
      },
    });
    const id = scene.getState().current!.id;
    const layer = createDetailLayer(16, 8);
    store.getState().adopt(id + 1, { layer, rects: [{ x: 1, y: 1, width: 2, height: 2 }], regions: 3 });
    expect(store.getState().layer).toBeNull();
    store.getState().adopt(id, { layer, rects: [{ x: 1, y: 1, width: 2, height: 2 }, { x: 2, y: 2, width: 2, height: 2 }], regions: 3 });
    expect(store.getState()).toMatchObject({ layer, layerScene: id, regions: 3, touched: [{ x: 1, y: 1, width: 3, height: 3 }] });
    // A sharpen then adds to the restored layer.
    await store.getState().sharpen();
    expect(store.getState().layer).toBe(layer);
    expect(store.getState().regions).toBe(4);

    clearFails = true;
    await store.getState().clearAll();
    expect(store.getState().layer).toBe(layer);
    expect(scene.getState().messages.at(-1)?.kind).toBe('error');
    clearFails = false;
    await store.getState().clearAll();
    expect(cleared).toEqual([id]);
    expect(store.getState()).toMatchObject({ layer: null, regions: 0, touched: [], status: 'idle' });
  });

  it('asks before a large upscaler download, as the panorama model does (same threshold, same words); nothing downloads before yes', async () => {
    const big = srPlan(4.3e9, 0.5e9);
    const client = fakeClient(async () => result(), async () => big);
    let persisted = 0;
    const { store } = setup(client, { persistStorage: async () => persisted++ });
    await store.getState().sharpen();
    // Only the size was asked for (the upscaler's files: 'sr'); no sharpen job, so no download.
    expect(client.plans).toEqual([['http://x/sr/', 'sr']]);
    expect(client.calls).toHaveLength(0);
    expect(store.getState()).toMatchObject({ status: 'idle', awaitingConfirmation: big, regions: 0 });
    expect(downloadConfirmText(store.getState().awaitingConfirmation!)).toBe('This downloads 4.0 GB (477 MB already stored) and keeps it in this browser.');
    // "Not now" drops the question and downloads nothing.
    store.getState().cancel();
    expect(store.getState().awaitingConfirmation).toBeNull();
    expect(client.calls).toHaveLength(0);
    // Asked again, then yes: the sharpen (which downloads) runs, storage is made persistent.
    await store.getState().sharpen();
    expect(store.getState().awaitingConfirmation).toBe(big);
    await store.getState().sharpen({ confirmDownload: true });
    expect(client.calls).toHaveLength(1);
    expect(persisted).toBe(1);
    expect(store.getState()).toMatchObject({ awaitingConfirmation: null, regions: 1 });
  });

  it('does not ask at or below the threshold, nor once the upscaler is loaded', async () => {
    const client = fakeClient(async () => result(), async () => srPlan(CONFIRM_DOWNLOAD_ABOVE_BYTES));
    const { store } = setup(client);
    await store.getState().sharpen();
    expect(client.calls).toHaveLength(1);
    expect(store.getState().awaitingConfirmation).toBeNull();
    const loaded = fakeClient(async () => result());
    const second = setup(loaded);
    await second.store.getState().sharpen();
    expect(loaded.plans).toHaveLength(0);
    expect(loaded.calls).toHaveLength(1);
  });

  it('cancel while the size is being asked for stops before any download', async () => {
    let answer: (p: PlanSummary) => void = () => undefined;
    const client = fakeClient(async () => result(), () => new Promise((resolve) => (answer = resolve)));
    const { store } = setup(client);
    const run = store.getState().sharpen();
    await Promise.resolve();
    expect(store.getState().status).toBe('sharpening');
    store.getState().cancel();
    expect(store.getState().status).toBe('idle');
    answer(srPlan());
    await run;
    expect(client.calls).toHaveLength(0);
  });

  it('says what is loaded', () => {
    expect(loadedModelsText(null, null)).toBe('Loaded: no models');
    expect(loadedModelsText({ modelId: 'tiny-random/ldm3d-pano', testWeights: true }, SR)).toBe(
      'Loaded: LDM3D-pano (tiny test weights) [tiny-random/ldm3d-pano], LDM3D-SR (tiny test weights) [tiny-random/ldm3d-sr]',
    );
  });
});
