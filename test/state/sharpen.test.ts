import { describe, expect, it } from 'vitest';
import { createSharpenStore, loadedModelsText, type SharpenClient } from '../../src/state/sharpen';
import { createSceneStore } from '../../src/state/scene-store';
import { PipelineError, type SharpenParams, type SharpenResult } from '../../src/workers/client';

const pano = () => ({ width: 8, height: 4, rgba: new Uint8ClampedArray(8 * 4 * 4), depth: new Float32Array(32) });
const SR = { modelId: 'tiny-random/ldm3d-sr', testWeights: true, backend: 'wasm' as const };

function fakeClient(behaviour: (p: SharpenParams) => Promise<SharpenResult>) {
  const calls: SharpenParams[] = [];
  let cancelled = 0;
  const client: SharpenClient & { calls: SharpenParams[]; cancelled: () => number } = {
    srLoaded: null,
    calls,
    cancelled: () => cancelled,
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

function setup(client: SharpenClient) {
  const scene = createSceneStore({ near: 1, far: 10 });
  scene.getState().showPanorama(pano(), 'a');
  const store = createSharpenStore({ client, scene, modelUrl: () => 'http://x/sr/', backend: () => 'wasm', layerWidth: 16 }, { steps: 2 });
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

  it('says what is loaded', () => {
    expect(loadedModelsText(null, null)).toBe('Loaded: no models');
    expect(loadedModelsText({ modelId: 'tiny-random/ldm3d-pano', testWeights: true }, SR)).toBe(
      'Loaded: LDM3D-pano (tiny test weights) [tiny-random/ldm3d-pano], LDM3D-SR (tiny test weights) [tiny-random/ldm3d-sr]',
    );
  });
});
