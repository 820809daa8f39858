import { describe, expect, it } from 'vitest';
import { createAppServices } from '../../src/app/services';
import { depthToUint16 } from '../../src/export/png';
import { saveDetailPatch, saveThenShow, showSavedScene, type GenerationInfo } from '../../src/storage/save-then-show';
import { makePanorama } from '../export/fixtures';
import { sharpenedPatch } from '../storage/detail-fixtures';
import { testEnvironment } from './app-fakes';

const info: GenerationInfo = {
  prompt: 'a lighthouse on a cliff',
  negativePrompt: '',
  steps: 4,
  guidance: 7,
  scheduler: 'ddim',
  seed: 42,
  modelId: 'test/tiny',
  testWeights: true,
};

function result() {
  const p = makePanorama(64, 32);
  return { width: 64, height: 32, rgba: p.rgba, depth: p.depth, depth16: depthToUint16(p.depth) };
}

describe('createAppServices (the composition root)', () => {
  it('presets the stores from the page address', () => {
    const { env } = testEnvironment({ search: '?preset=headset&wrap=0&backend=wasm&model=hf:a/b/c&srSteps=3' });
    const app = createAppServices(env);
    expect(app.generation.getState().settings).toMatchObject({ preset: 'headset', wrap: false, backend: 'wasm', modelUrl: 'hf:a/b/c' });
    expect(app.sharpen.getState().steps).toBe(3);
    app.destroy();
  });

  it('saves a result before showing it, and an opened scene brings its sharpened regions to the sharpen store', async () => {
    const { env } = testEnvironment();
    const app = createAppServices(env);
    const out = await saveThenShow(result(), info, app.scenes);
    expect(out.savedId).not.toBeNull();
    expect(app.viewer.getState().current?.id).toBe(out.panoramaId);
    expect(await saveDetailPatch(out.panoramaId, sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), app.scenes)).toBe('saved');
    expect(app.sharpen.getState().layer).toBeNull();

    const shownId = await showSavedScene(out.savedId!, app.scenes);
    expect(app.viewer.getState().current?.id).toBe(shownId);
    expect(app.sharpen.getState()).toMatchObject({ layerScene: shownId, regions: 1 });
    app.destroy();
  });

  it('forgets the scene files when the viewer shows a panorama that is not a saved scene', async () => {
    const { env } = testEnvironment();
    const app = createAppServices(env);
    await saveThenShow(result(), info, app.scenes);
    expect(app.scenes.current.getState().scene).not.toBeNull();
    app.viewer.getState().showPanorama(makePanorama(32, 16), 'test room');
    expect(app.scenes.current.getState().scene).toBeNull();
    app.destroy();
  });

  it('two instances share nothing (no module state)', async () => {
    const a = createAppServices(testEnvironment().env);
    const b = createAppServices(testEnvironment().env);
    await saveThenShow(result(), info, a.scenes);
    expect(a.viewer.getState().current).not.toBeNull();
    expect(b.viewer.getState().current).toBeNull();
    expect(await (await b.scenes.store()).list()).toHaveLength(0);
    a.destroy();
    b.destroy();
  });

  it('feeds the test handle from the stores', () => {
    const { env, xr, handle, body } = testEnvironment();
    const app = createAppServices(env);
    expect(handle.depthMapping).toEqual(app.viewer.getState().depthMapping);
    expect(handle.sharpenStatus).toBe('idle');
    expect(handle.emulator).toEqual({ fovy: 1.5 });
    app.viewer.getState().setDepthMapping({ near: 2, far: 40 });
    expect(handle.depthMapping).toEqual({ near: 2, far: 40 });
    xr.store.setState({ session: {}, mode: 'immersive-vr' });
    expect(handle).toMatchObject({ xrSession: true, xrMode: 'immersive-vr' });
    expect(body.dataset.xrSession).toBe('active');
    app.destroy();
  });

  it('destroy() ends the worker client, the XR store and every subscription', async () => {
    const { env, xr, handle } = testEnvironment();
    const app = createAppServices(env);
    app.destroy();
    app.destroy(); // twice is harmless
    expect(xr.destroyed()).toBe(1);
    await expect(Promise.resolve().then(() => app.pipeline.plan('http://127.0.0.1:5173/models/x/'))).rejects.toThrow(/disposed/);
    app.viewer.getState().setDepthMapping({ near: 3, far: 30 });
    expect(handle.depthMapping).not.toEqual({ near: 3, far: 30 });
    await saveThenShow(result(), info, app.scenes);
    app.viewer.getState().showPanorama(makePanorama(32, 16), 'test room');
    // The viewer → shown-scene subscription is gone too.
    expect(app.scenes.current.getState().scene).not.toBeNull();
  });
});
