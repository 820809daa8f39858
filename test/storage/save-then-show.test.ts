import { seamRatio } from '../../src/panorama/seam';
import { describe, expect, it } from 'vitest';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { SavedSceneStore } from '../../src/storage/gallery-db';
import { createCurrentSceneStore } from '../../src/storage/shown-scene-files';
import {
  clearSavedDetail,
  saveDetailPatch,
  saveThenShow,
  saveThenShowPublisher,
  sceneMetadataOf,
  showImportedPanorama,
  showImportedScene,
  showSavedScene,
  showUnsavedScene,
  type GenerationInfo,
  type SceneServices,
} from '../../src/storage/save-then-show';
import { QuotaExceededError, StorageUnavailableError, StorageWriteError } from '../../src/storage/errors';
import { importSceneFiles } from '../../src/import/import';
import { stringifyMetadata } from '../../src/export/metadata';
import { depthToUint16, encodeDepth16Png, encodeRgbPng } from '../../src/export/png';
import type { DepthMapping, RGBDPanorama } from '../../src/panorama/types';
import { DEFAULT_DEPTH_MAPPING } from '../../src/panorama/depth-mapping';
import { makePanorama } from '../export/fixtures';
import { toPanorama } from '../../src/export/scene-files';
import type { GenerationDeps } from '../../src/state/generation';
import type { GenerationResult } from '../../src/workers/client';
import { compositeRegion } from '../../src/panorama/detail-layer';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { depthErrorBound, encodeDetailPatch, type RestoredDetail } from '../../src/storage/detail-patches';
import { sharpenedPatch } from './detail-fixtures';

const info: GenerationInfo = {
  prompt: 'a lighthouse on a cliff',
  negativePrompt: '',
  steps: 4,
  guidance: 7,
  scheduler: 'ddim',
  seed: 42,
  modelId: 'test/tiny',
  testWeights: true,
  createdAt: '2026-06-01T00:00:00.000Z',
};

function result() {
  const p = makePanorama(64, 32);
  return { width: 64, height: 32, rgba: p.rgba, depth: p.depth, depth16: depthToUint16(p.depth) };
}

function harness(store: () => Promise<SavedSceneStore>, log: string[] = []) {
  const shown: RGBDPanorama[] = [];
  /** The depth mapping each show asked for (undefined: keep the viewer's). */
  const mappings: (DepthMapping | undefined)[] = [];
  const said: string[] = [];
  const details: { panoramaId: number; detail: RestoredDetail }[] = [];
  let nextId = 1;
  const services: SceneServices = {
    detail: {
      show(panoramaId, detail) {
        log.push('detail');
        details.push({ panoramaId, detail });
      },
    },
    viewer: {
      show(panorama, _label, mapping) {
        log.push('show');
        shown.push(panorama);
        mappings.push(mapping);
        return nextId++;
      },
      say(kind, text) {
        said.push(`${kind}: ${text}`);
      },
      // What the previous scene was left at (the test room's own near/far, or the user's sliders):
      // a new generated or imported scene must not inherit it (issue 14 item 4).
      depthMapping: () => ({ near: 1.5, far: 30 }),
    },
    current: createCurrentSceneStore(),
    store,
  };
  return { services, log, shown, mappings, said, details };
}

/** A store whose save logs when the transaction has committed. */
async function loggingStore(log: string[], factory = new IDBFactory()) {
  const store = await SavedSceneStore.open(factory);
  const save = store.save.bind(store);
  store.save = async (...args) => {
    const r = await save(...args);
    log.push('committed');
    return r;
  };
  return store;
}

describe('saveThenShow', () => {
  it('commits the scene before showing it, and records it as the current scene', async () => {
    const log: string[] = [];
    const store = await loggingStore(log);
    const h = harness(async () => store, log);
    const outcome = await saveThenShow(result(), info, h.services);
    expect(log).toEqual(['committed', 'show']);
    expect(outcome.error).toBeNull();
    expect(outcome.savedId).toEqual(expect.any(String));

    const listed = await store.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: outcome.savedId,
      prompt: 'a lighthouse on a cliff',
      settings: { steps: 4, guidance: 7, scheduler: 'ddim', seed: 42 },
      modelId: 'test/tiny',
      testWeights: true,
      createdAt: '2026-06-01T00:00:00.000Z',
      depthMapping: DEFAULT_DEPTH_MAPPING,
      width: 64,
      height: 32,
    });
    // Shown at the documented 1 m / 20 m (README), not at the viewer's previous 1.5 m / 30 m.
    expect(h.mappings).toEqual([{ near: 1, far: 20 }]);
    const current = h.services.current.getState().scene!;
    expect(current.savedId).toBe(outcome.savedId);
    expect(current.panoramaId).toBe(outcome.panoramaId);
    expect(current.files.rgbPng.length).toBeGreaterThan(0);
    expect(h.said).toEqual([]);
    store.close();
  });

  it("records the generated pixels' seam metric (issue 12) with the saved scene", async () => {
    const r = result();
    const store = await SavedSceneStore.open(new IDBFactory());
    const h = harness(async () => store);
    await saveThenShow(r, info, h.services);
    const saved = (await store.get((await store.list())[0]!.id))!;
    // The same numbers as the metric on those pixels; a scene with a hard step at the seam reads high.
    expect(saved.seam).toEqual({ rgb: seamRatio(r.rgba, 64, 32, 4, 3), depth: seamRatio(r.depth, 64, 32) });
    const stepped = { ...r, depth: r.depth.map((d, i) => (i % 64 === 63 ? d + 5 : d)) };
    expect(sceneMetadataOf(stepped, info, { near: 1, far: 20 }).seam!.depth).toBeGreaterThan(10);
    store.close();
  });

  it('records the generation preset and DeepCache interval of a worker result, and leaves them out when unknown', async () => {
    const mapping = { near: 1, far: 20 };
    const meta = sceneMetadataOf({ width: 64, height: 32 }, { ...info, preset: 'headset', deepCacheInterval: 1 }, mapping);
    expect(meta.settings).toEqual({ steps: 4, guidance: 7, scheduler: 'ddim', seed: 42, preset: 'headset', deepCacheInterval: 1 });
    expect(sceneMetadataOf({ width: 64, height: 32 }, info, mapping).settings).toEqual({ steps: 4, guidance: 7, scheduler: 'ddim', seed: 42 });
    // Saved and listed with them.
    const store = await SavedSceneStore.open(new IDBFactory());
    const h = harness(async () => store);
    await saveThenShow(result(), { ...info, preset: 'headset', deepCacheInterval: 1 }, h.services);
    expect((await store.list())[0]!.settings).toMatchObject({ preset: 'headset', deepCacheInterval: 1 });
    store.close();
  });

  it('storage full: still shows the scene, says why, keeps it exportable, writes nothing', async () => {
    const factory = new IDBFactory();
    const store = await SavedSceneStore.open(factory);
    const original = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    const h = harness(async () => store);
    try {
      const outcome = await saveThenShow(result(), info, h.services);
      expect(outcome.error).toBeInstanceOf(QuotaExceededError);
      expect(outcome.savedId).toBeNull();
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(h.shown).toHaveLength(1);
    expect(Array.from(h.shown[0].rgba.subarray(0, 8))).toEqual(Array.from(result().rgba.subarray(0, 8)));
    expect(h.said).toHaveLength(1);
    expect(h.said[0]).toMatch(/^error: Browser storage is full.*still shown and can be exported/);
    const current = h.services.current.getState().scene!;
    expect(current.savedId).toBeNull();
    expect(current.storageError).toBeInstanceOf(QuotaExceededError);
    expect(current.files.depthPng.length).toBeGreaterThan(0);
    expect(await store.list()).toEqual([]);
    store.close();
  });

  it('no IndexedDB (private browsing): still shows the scene with a clear message', async () => {
    const h = harness(() => SavedSceneStore.open(undefined));
    const outcome = await saveThenShow(result(), info, h.services);
    expect(outcome.error).toBeInstanceOf(StorageUnavailableError);
    expect(h.shown).toHaveLength(1);
    expect(h.said[0]).toMatch(/IndexedDB is not available/);
    expect(h.services.current.getState().scene?.files.rgbPng.length).toBeGreaterThan(0);
  });

  it('metadata the store refuses (seed 1.5): still shown, with a message, nothing saved', async () => {
    const store = await SavedSceneStore.open(new IDBFactory());
    const h = harness(async () => store);
    const outcome = await saveThenShow(result(), { ...info, seed: 1.5 }, h.services);
    expect(outcome.error).toBeInstanceOf(StorageWriteError);
    expect(h.shown).toHaveLength(1);
    expect(h.said[0]).toMatch(/could not be saved.*settings\.seed.*still shown/);
    expect(await store.list()).toEqual([]);
    store.close();
  });

  it('bad input throws before anything is saved or shown', async () => {
    const store = await SavedSceneStore.open(new IDBFactory());
    const h = harness(async () => store);
    const bad = { ...result(), depth: new Float32Array(10) };
    await expect(saveThenShow(bad, info, h.services)).rejects.toThrow(/depth has 10 values/);
    expect(h.shown).toHaveLength(0);
    expect(await store.list()).toEqual([]);
    store.close();
  });
});

describe('showSavedScene / showImportedScene', () => {
  it('a saved scene comes back with the same pixels and depth codes (a reload)', async () => {
    const factory = new IDBFactory();
    const first = harness(() => SavedSceneStore.open(factory));
    const { savedId } = await saveThenShow(result(), info, first.services);

    const second = harness(() => SavedSceneStore.open(factory));
    await showSavedScene(savedId!, second.services);
    const p = second.shown[0];
    expect(Array.from(p.rgba)).toEqual(Array.from(result().rgba));
    expect(Array.from(depthToUint16(p.depth))).toEqual(Array.from(result().depth16));
    const current = second.services.current.getState().scene!;
    expect(current.savedId).toBe(savedId);
    expect(current.metadata.settings.seed).toBe(42);
    await expect(showSavedScene('gone', second.services)).rejects.toThrow(/no longer in storage/);
  });

  it('an import is saved as a new scene, keeping its metadata and PNGs', async () => {
    const factory = new IDBFactory();
    const a = harness(() => SavedSceneStore.open(factory));
    await saveThenShow(result(), info, a.services);
    const files = a.services.current.getState().scene!.files;
    const imported = await importSceneFiles([
      { name: 'x-rgb.png', bytes: files.rgbPng },
      { name: 'x-depth16.png', bytes: files.depthPng },
    ]);
    const other = new IDBFactory();
    const b = harness(() => SavedSceneStore.open(other));
    const outcome = await showImportedScene(imported, { label: 'x-rgb.png' }, b.services);
    const store = await b.services.store();
    const saved = await store.get(outcome.savedId!);
    expect(saved!.prompt).toBe(info.prompt);
    expect(saved!.settings.seed).toBe(42);
    expect(Array.from(saved!.rgbPng)).toEqual(Array.from(files.rgbPng));
  });
});

describe('scenes imported from plain images and the test room (issue 14: every scene on screen is exportable)', () => {
  it('an "RGB + depth…" pair is saved to the gallery, then shown, and is the current scene with its files', async () => {
    const log: string[] = [];
    const store = await loggingStore(log);
    const h = harness(async () => store, log);
    const pano = makePanorama(64, 32);
    const outcome = await showImportedPanorama(pano, 'room.png + room_depth.png', h.services);
    expect(log).toEqual(['committed', 'show']);
    expect(outcome.error).toBeNull();
    const current = h.services.current.getState().scene!;
    expect(current.panoramaId).toBe(outcome.panoramaId);
    expect(current.savedId).toBe(outcome.savedId);
    expect(current.metadata).toMatchObject({ prompt: 'room.png + room_depth.png', modelId: 'imported', depthMapping: { near: 1, far: 20 } });
    // Pixels say nothing about metres: the documented defaults, not the previous scene's mapping.
    expect(h.mappings).toEqual([{ near: 1, far: 20 }]);
    // No seed recorded, not a placeholder 0.
    expect(current.metadata.settings.seed).toBeUndefined();
    // The files are ours: they import back to the same pixels and metadata.
    const back = await importSceneFiles([
      { name: 'a-rgb.png', bytes: current.files.rgbPng },
      { name: 'a-depth16.png', bytes: current.files.depthPng },
    ]);
    expect(Array.from(back.panorama.rgba)).toEqual(Array.from(pano.rgba));
    expect(back.metadata?.prompt).toBe('room.png + room_depth.png');
    const listed = await store.list();
    expect(listed).toHaveLength(1);
    expect(listed[0].settings.seed).toBeUndefined();
  });

  it('a pair that cannot be saved is still shown and exportable, with the message', async () => {
    const h = harness(() => Promise.reject(new StorageUnavailableError('IndexedDB is off.')));
    const outcome = await showImportedPanorama(makePanorama(64, 32), 'pano.png', h.services);
    expect(outcome.savedId).toBeNull();
    expect(h.shown).toHaveLength(1);
    expect(h.services.current.getState().scene?.files.rgbPng.length).toBeGreaterThan(0);
    expect(h.said[0]).toMatch(/^error: /);
  });

  it('images without metadata imported with "Import scene…" get no seed either', async () => {
    const pano = makePanorama(64, 32);
    const rgbPng = encodeRgbPng(64, 32, pano.rgba);
    const depthPng = encodeDepth16Png(64, 32, depthToUint16(pano.depth));
    const imported = await importSceneFiles([
      { name: 'p.png', bytes: rgbPng },
      { name: 'p_depth.png', bytes: depthPng },
    ]);
    expect(imported.metadata).toBeNull();
    const h = harness(() => SavedSceneStore.open(new IDBFactory()));
    await showImportedScene(imported, { label: 'p.png' }, h.services);
    expect(h.services.current.getState().scene!.metadata.settings.seed).toBeUndefined();
    // Nor a near/far: the documented defaults (issue 14 item 4).
    expect(h.mappings).toEqual([{ near: 1, far: 20 }]);
  });

  it('a scene imported with its metadata opens at the near/far its metadata records (issue 14 item 4)', async () => {
    const pano = makePanorama(64, 32);
    const meta = sceneMetadataOf(pano, info, { near: 0.6, far: 12 });
    const imported = await importSceneFiles([
      { name: 'p-rgb.png', bytes: encodeRgbPng(64, 32, pano.rgba) },
      { name: 'p-depth16.png', bytes: encodeDepth16Png(64, 32, depthToUint16(pano.depth)) },
      { name: 'p-metadata.json', bytes: new TextEncoder().encode(stringifyMetadata(meta)) },
    ]);
    expect(imported.metadata?.depthMapping).toEqual({ near: 0.6, far: 12 });
    const h = harness(() => SavedSceneStore.open(new IDBFactory()));
    await showImportedScene(imported, { label: 'p.png' }, h.services);
    expect(h.mappings).toEqual([{ near: 0.6, far: 12 }]);
    expect(h.services.current.getState().scene!.metadata.depthMapping).toEqual({ near: 0.6, far: 12 });
  });

  it('the test room is the current scene without being saved; its files are encoded on first use only', async () => {
    const log: string[] = [];
    const store = await loggingStore(log);
    const h = harness(async () => store, log);
    const pano = makePanorama(64, 32);
    const meta = { ...sceneMetadataOf(pano, info, { near: 1, far: 6 }), prompt: 'Synthetic test room', modelId: 'synthetic-test-room' };
    let encodes = 0;
    const id = showUnsavedScene(pano, meta, { near: 1, far: 6 }, () => {
      encodes++;
      return { rgbPng: new Uint8Array([1]), depthPng: new Uint8Array([2]), thumbnail: { mimeType: 'image/png', width: 1, height: 1, bytes: new Uint8Array() } };
    }, h.services);
    const current = h.services.current.getState().scene!;
    expect(current).toMatchObject({ panoramaId: id, savedId: null, storageError: null });
    expect(encodes).toBe(0);
    expect(current.files.rgbPng).toEqual(new Uint8Array([1]));
    expect(current.files.depthPng).toEqual(new Uint8Array([2]));
    expect(encodes).toBe(1);
    expect(log).toEqual(['show']);
    expect(await store.list()).toHaveLength(0);
  });
});

describe('sharpened regions of a saved scene', () => {
  it('saves each patch with the shown scene; opening it after a reload rebuilds the same layer, after the show', async () => {
    const factory = new IDBFactory();
    const first = harness(() => SavedSceneStore.open(factory));
    const { savedId, panoramaId } = await saveThenShow(result(), info, first.services);
    const patches = [sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), sharpenedPatch(256, { x: 0, y: 0.2, z: 1 }, 2)];
    for (const p of patches) expect(await saveDetailPatch(panoramaId, p, first.services)).toBe('saved');
    const live = createDetailLayer(256, 128);
    for (const p of patches) compositeRegion(live, p);

    const log: string[] = [];
    const second = harness(() => SavedSceneStore.open(factory), log);
    const shownId = await showSavedScene(savedId!, second.services);
    expect(log).toEqual(['show', 'detail']);
    expect(second.details).toHaveLength(1);
    const { panoramaId: id, detail } = second.details[0];
    expect(id).toBe(shownId);
    expect(detail.regions).toBe(2);
    expect(detail.layer.rgba).toEqual(live.rgba);
    const bound = Math.max(...patches.map((p) => depthErrorBound(encodeDetailPatch(p))));
    let worst = 0;
    for (let i = 0; i < live.depth.length; i++) if (live.rgba[i * 4 + 3] > 0) worst = Math.max(worst, Math.abs(live.depth[i] - detail.layer.depth[i]));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(second.said).toEqual([]);

    // Undo: gone from storage; the next open shows the scene without detail.
    expect(await clearSavedDetail(shownId, second.services)).toBe('saved');
    const third = harness(() => SavedSceneStore.open(factory));
    await showSavedScene(savedId!, third.services);
    expect(third.shown).toHaveLength(1);
    expect(third.details).toEqual([]);
  });

  it('a scene that is not stored (storage failed, or another panorama) keeps its patches in memory only', async () => {
    const h = harness(() => SavedSceneStore.open(undefined));
    const { panoramaId, savedId } = await saveThenShow(result(), info, h.services);
    expect(savedId).toBeNull();
    expect(await saveDetailPatch(panoramaId, sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), h.services)).toBe('scene-not-saved');
    expect(await saveDetailPatch(panoramaId + 1, sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), h.services)).toBe('scene-not-saved');
  });

  it('a save that fails rejects with a message for the user; a bad patch is refused before anything is written', async () => {
    const factory = new IDBFactory();
    const h = harness(() => SavedSceneStore.open(factory));
    const { panoramaId, savedId } = await saveThenShow(result(), info, h.services);
    const store = await h.services.store();
    await store.delete(savedId!); // deleted in another tab while shown here
    await expect(saveDetailPatch(panoramaId, sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), h.services)).rejects.toThrow(/no longer in storage/);
    const bad = { ...sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1), layerWidth: 100 };
    await expect(saveDetailPatch(panoramaId, bad, h.services)).rejects.toThrow(/sharpened region could not be saved.*2:1/);
  });

  it('a corrupt stored patch: the base scene still opens, the good patches show, and the message says what is wrong', async () => {
    const factory = new IDBFactory();
    const first = harness(() => SavedSceneStore.open(factory));
    const { savedId } = await saveThenShow(result(), info, first.services);
    const store = await first.services.store();
    const good = encodeDetailPatch(sharpenedPatch(256, { x: 0, y: 0, z: -1 }, 1));
    const corrupt = encodeDetailPatch(sharpenedPatch(256, { x: 0, y: 0.2, z: 1 }, 2));
    const flipped = corrupt.depthPng.slice();
    flipped[flipped.length - 20] ^= 0xff;
    await store.addDetailLayers(savedId!, [good, { ...corrupt, depthPng: flipped }]);

    const second = harness(() => SavedSceneStore.open(factory));
    await showSavedScene(savedId!, second.services);
    expect(second.shown).toHaveLength(1);
    expect(second.details[0].detail.regions).toBe(1);
    expect(second.said).toHaveLength(1);
    expect(second.said[0]).toMatch(/^error: 1 of 2 sharpened regions of this scene could not be restored \(patch 2: its depth image is a damaged PNG .*\); the others are shown\.$/);

    // Only a corrupt one: the scene shows without detail.
    const only = await saveThenShow(result(), info, first.services);
    await store.addDetailLayers(only.savedId!, [{ ...corrupt, depthPng: flipped }]);
    const third = harness(() => SavedSceneStore.open(factory));
    await showSavedScene(only.savedId!, third.services);
    expect(third.shown).toHaveLength(1);
    expect(third.details).toEqual([]);
    expect(third.said[0]).toMatch(/1 of 1 sharpened regions .* the scene is shown without them\.$/);
  });
});

describe('saveThenShowPublisher', () => {
  it('fits the generation store’s publish hook and saves before showing', async () => {
    const log: string[] = [];
    const store = await loggingStore(log);
    const h = harness(async () => store, log);
    // Compile-time check against src/state/generation.ts: this line stops compiling if they drift.
    const publish: NonNullable<GenerationDeps['publish']> = saveThenShowPublisher(h.services);
    const r = result();
    const generated = {
      id: 1,
      ...r,
      metadata: {
        ...info,
        createdAt: info.createdAt!,
        scheduler: 'ddim' as const,
        backend: 'wasm' as const,
        width: 64,
        height: 32,
        tokens: { prompt: { count: 3, max: 77, truncated: false }, negative: { count: 2, max: 77, truncated: false } },
        timings: {},
      },
    } as unknown as GenerationResult;
    const id = await publish(toPanorama({ ...r, rgb: r.rgba }), generated, 'label');
    expect(log).toEqual(['committed', 'show']);
    expect(id).toBe(1);
    expect((await store.list())[0].settings.seed).toBe(42);
    store.close();
  });
});
