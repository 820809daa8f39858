import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { SavedSceneStore, type NewScene } from '../../src/storage/gallery-db';
import {
  QuotaExceededError,
  SceneStoreError,
  StorageUnavailableError,
  StorageWriteError,
} from '../../src/storage/errors';
import { encodeDepth16Png, encodeRgbPng, encodeThumbnailPng } from '../../src/export/png';
import { compositeRegion } from '../../src/panorama/detail-layer';
import { createDetailLayer } from '../../src/panorama/gnomonic';
import { depthErrorBound, encodeDetailPatch, restoreDetailLayer } from '../../src/storage/detail-patches';
import { sharpenedPatch } from './detail-fixtures';

const AHEAD = { x: 0, y: 0, z: -1 };
const SEAM = { x: 0, y: 0.2, z: 1 };

function makeScene(prompt: string, createdAt: string, seed = 1): NewScene {
  const w = 8;
  const h = 4;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 7 + seed) & 255);
  const depth16 = new Uint16Array(w * h).map((_, i) => (i * 2047 + seed) & 0xffff);
  return {
    prompt,
    negativePrompt: 'blurry',
    settings: { steps: 50, guidance: 7, scheduler: 'ddim', seed },
    modelId: 'test/ldm3d-pano-tiny',
    testWeights: true,
    createdAt,
    width: w,
    height: h,
    depthMapping: { near: 1, far: 20 },
    rgbPng: encodeRgbPng(w, h, rgb),
    depthPng: encodeDepth16Png(w, h, depth16),
    thumbnail: { mimeType: 'image/png', ...encodeThumbnailPng(w, h, rgb, 4) },
  };
}

type PutFn = IDBObjectStore['put'];
const originalPut: PutFn = IDBObjectStore.prototype.put;

/** Makes the n-th put (1-based, counted from now) fail; `mode` picks how the browser reports it. */
function failNthPut(n: number, mode: 'async-quota' | 'sync-quota' | 'sync-clone'): void {
  let calls = 0;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<PutFn>) {
    calls++;
    if (calls !== n) return originalPut.apply(this, args);
    if (mode === 'sync-quota') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    if (mode === 'sync-clone') throw new DOMException('could not be cloned', 'DataCloneError');
    // As browsers report a full disk: the request fails asynchronously, which aborts the
    // transaction. fake-indexeddb's internal request queue is the only way to inject that.
    const tx = this.transaction as IDBTransaction & {
      _execRequestAsync(op: { operation: () => never; source: unknown }): IDBRequest;
    };
    return tx._execRequestAsync({
      operation: () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      source: this,
    });
  } as PutFn;
}

async function rawCounts(factory: IDBFactory): Promise<{ scenes: number; parts: number }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = factory.open('ldm3d-xr-scenes');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(['scenes', 'parts'], 'readonly');
  const count = (name: string) =>
    new Promise<number>((resolve, reject) => {
      const r = tx.objectStore(name).count();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  const out = { scenes: await count('scenes'), parts: await count('parts') };
  db.close();
  return out;
}

/** Edits the database behind the store's back (old entries, lost parts). */
async function rawEdit(factory: IDBFactory, edit: (scenes: IDBObjectStore, parts: IDBObjectStore) => void): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = factory.open('ldm3d-xr-scenes');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(['scenes', 'parts'], 'readwrite');
  edit(tx.objectStore('scenes'), tx.objectStore('parts'));
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  db.close();
}

afterEach(() => {
  IDBObjectStore.prototype.put = originalPut;
});

describe('SavedSceneStore', () => {
  it('saves, lists newest first without full images, gets everything back byte for byte', async () => {
    const factory = new IDBFactory();
    const store = await SavedSceneStore.open(factory);
    const a = makeScene('a forest', '2026-01-01T10:00:00.000Z', 1);
    const b = makeScene('a beach at night', '2026-02-28T23:30:00.000Z', 2);
    // Ordered by instant, not text: as text this one sorts after b, but it is 30 minutes earlier.
    const c = makeScene('an old library', '2026-03-01T01:00:00+02:00', 3);
    const saved = [await store.save(a), await store.save(b), await store.save(c)];
    expect(new Set(saved.map((s) => s.id)).size).toBe(3);

    const list = await store.list();
    expect(list.map((s) => s.prompt)).toEqual(['a beach at night', 'an old library', 'a forest']);
    for (const s of list) {
      expect(s).not.toHaveProperty('rgbPng');
      expect(s).not.toHaveProperty('depthPng');
      expect(s.thumbnail.bytes).toBeInstanceOf(Uint8Array);
      expect(s.thumbnail.bytes.length).toBeGreaterThan(8);
    }

    const got = await store.get(saved[1].id);
    expect(got).toBeDefined();
    expect(got!.prompt).toBe('a beach at night');
    expect(got!.settings).toEqual({ steps: 50, guidance: 7, scheduler: 'ddim', seed: 2 });
    expect(got!.depthMapping).toEqual({ near: 1, far: 20 });
    expect(got!.testWeights).toBe(true);
    expect(Array.from(got!.rgbPng)).toEqual(Array.from(b.rgbPng));
    expect(Array.from(got!.depthPng)).toEqual(Array.from(b.depthPng));
    expect(Array.from(got!.thumbnail.bytes)).toEqual(Array.from(b.thumbnail.bytes));
    expect(got!.detailLayers).toEqual([]);
    expect(got!.byteSize).toBe(b.rgbPng.length + b.depthPng.length + b.thumbnail.bytes.length);
    store.close();

    // A reload: a new connection to the same database sees the same scenes.
    const reopened = await SavedSceneStore.open(factory);
    expect((await reopened.list()).map((s) => s.id)).toEqual([saved[1].id, saved[2].id, saved[0].id]);
    reopened.close();
  });

  it('stores only the bytes of a view, not its whole underlying buffer', async () => {
    const store = await SavedSceneStore.open(new IDBFactory());
    const s = makeScene('view', '2026-01-01T00:00:00Z');
    const big = new Uint8Array(s.rgbPng.length + 1000);
    big.set(s.rgbPng, 500);
    const saved = await store.save({ ...s, rgbPng: big.subarray(500, 500 + s.rgbPng.length) });
    const got = await store.get(saved.id);
    expect(Array.from(got!.rgbPng)).toEqual(Array.from(s.rgbPng));
    store.close();
  });

  it('keeps detail layers with their scene', async () => {
    const store = await SavedSceneStore.open(new IDBFactory());
    const s = makeScene('detail', '2026-01-01T00:00:00Z');
    const layer = encodeDetailPatch(sharpenedPatch(128, AHEAD, 1));
    const saved = await store.save({ ...s, detailLayers: [layer] });
    expect(saved.detailLayerCount).toBe(1);
    expect(saved.byteSize).toBe(s.rgbPng.length + s.depthPng.length + s.thumbnail.bytes.length + layer.rgbaPng.length + layer.depthPng.length);
    const got = await store.get(saved.id);
    expect(got!.detailLayers).toHaveLength(1);
    const { rgbaPng, depthPng, ...fields } = layer;
    expect(got!.detailLayers[0]).toMatchObject(fields);
    expect(Array.from(got!.detailLayers[0].rgbaPng)).toEqual(Array.from(rgbaPng));
    expect(Array.from(got!.detailLayers[0].depthPng)).toEqual(Array.from(depthPng));
    store.close();
  });

  describe('detail patches of a saved scene', () => {
    it('adds patches atomically, in order, updating count, size and listeners; a reopened store rebuilds the same layer', async () => {
      const factory = new IDBFactory();
      const store = await SavedSceneStore.open(factory);
      const scene = makeScene('sharpened', '2026-01-01T00:00:00Z');
      const saved = await store.save(scene);
      let notified = 0;
      store.subscribe(() => notified++);
      const patches = [sharpenedPatch(128, AHEAD, 1), sharpenedPatch(128, SEAM, 2), sharpenedPatch(128, AHEAD, 3)];
      const records = patches.map(encodeDetailPatch);
      const after1 = await store.addDetailLayers(saved.id, [records[0]]);
      const after3 = await store.addDetailLayers(saved.id, records.slice(1));
      expect(notified).toBe(2);
      expect(after1.detailLayerCount).toBe(1);
      expect(after3.detailLayerCount).toBe(3);
      const recordBytes = records.reduce((n, r) => n + r.rgbaPng.length + r.depthPng.length, 0);
      expect(after3.byteSize).toBe(saved.byteSize + recordBytes);
      expect((await store.list())[0]).toMatchObject({ id: saved.id, detailLayerCount: 3, byteSize: after3.byteSize });
      store.close();
      expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 2 + 6 });

      // A reload: what the viewer had in memory comes back (colour exactly, depth within the bound).
      const live = createDetailLayer(128, 64);
      for (const p of patches) compositeRegion(live, p);
      const reopened = await SavedSceneStore.open(factory);
      const got = (await reopened.get(saved.id))!;
      expect(got.detailLayers.map((l) => l.region)).toEqual(patches.map((p) => p.region));
      const { detail, problems } = restoreDetailLayer(got.detailLayers);
      expect(problems).toEqual([]);
      expect(detail!.regions).toBe(3);
      expect(detail!.layer.rgba).toEqual(live.rgba);
      const bound = Math.max(...records.map(depthErrorBound));
      let worst = 0;
      for (let i = 0; i < live.depth.length; i++) if (live.rgba[i * 4 + 3] > 0) worst = Math.max(worst, Math.abs(live.depth[i] - detail!.layer.depth[i]));
      expect(worst).toBeLessThanOrEqual(bound);
      expect(worst).toBeGreaterThan(0);
      reopened.close();
    });

    it('clears all patches of a scene (parts included) and can add again afterwards', async () => {
      const factory = new IDBFactory();
      const store = await SavedSceneStore.open(factory);
      const saved = await store.save(makeScene('undo', '2026-01-01T00:00:00Z'));
      await store.addDetailLayers(saved.id, [encodeDetailPatch(sharpenedPatch(128, AHEAD, 1)), encodeDetailPatch(sharpenedPatch(128, SEAM, 2))]);
      const cleared = await store.clearDetailLayers(saved.id);
      expect(cleared).toMatchObject({ detailLayerCount: 0, byteSize: saved.byteSize });
      expect((await store.get(saved.id))!.detailLayers).toEqual([]);
      expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 2 });
      const again = encodeDetailPatch(sharpenedPatch(128, SEAM, 3));
      await store.addDetailLayers(saved.id, [again]);
      const got = (await store.get(saved.id))!;
      expect(got.detailLayers).toHaveLength(1);
      expect(Array.from(got.detailLayers[0].rgbaPng)).toEqual(Array.from(again.rgbaPng));
      // Deleting the scene takes its patches with it.
      await store.delete(saved.id);
      store.close();
      expect(await rawCounts(factory)).toEqual({ scenes: 0, parts: 0 });
    });

    it('refuses an unknown scene id with a clear message, writing nothing', async () => {
      const factory = new IDBFactory();
      const store = await SavedSceneStore.open(factory);
      await store.save(makeScene('other', '2026-01-01T00:00:00Z'));
      const e = await store.addDetailLayers('gone', [encodeDetailPatch(sharpenedPatch(128, AHEAD, 1))]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StorageWriteError);
      expect((e as Error).message).toMatch(/no longer in storage/);
      await expect(store.clearDetailLayers('gone')).rejects.toBeInstanceOf(StorageWriteError);
      store.close();
      expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 2 });
    });

    for (const mode of ['async-quota', 'sync-quota'] as const) {
      it(`a full disk (${mode}) on the second part rolls the patch back and says so; the scene is unchanged`, async () => {
        const factory = new IDBFactory();
        const store = await SavedSceneStore.open(factory);
        const saved = await store.save(makeScene('full', '2026-01-01T00:00:00Z'));
        const first = encodeDetailPatch(sharpenedPatch(128, AHEAD, 1));
        await store.addDetailLayers(saved.id, [first]);
        let notified = 0;
        store.subscribe(() => notified++);
        const record = encodeDetailPatch(sharpenedPatch(128, SEAM, 2));
        failNthPut(2, mode);
        const e = await store.addDetailLayers(saved.id, [record]).catch((x: unknown) => x);
        IDBObjectStore.prototype.put = originalPut;
        expect(e).toBeInstanceOf(QuotaExceededError);
        expect((e as QuotaExceededError).bytesNeeded).toBe(record.rgbaPng.length + record.depthPng.length);
        expect((e as Error).message).toMatch(/storage is full: the sharpened region \(\d+\.\d MB\) was not saved with the scene/i);
        expect((e as Error).message).toMatch(/stays visible/);
        expect(notified).toBe(0);
        const got = (await store.get(saved.id))!;
        expect(got.detailLayerCount).toBe(1);
        expect(got.detailLayers).toHaveLength(1);
        store.close();
        expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 4 });
      });
    }

    it('reads entries written before patches were stored, and a patch whose parts are gone', async () => {
      const factory = new IDBFactory();
      const store = await SavedSceneStore.open(factory);
      const old = await store.save(makeScene('old', '2026-01-01T00:00:00Z'));
      const damaged = await store.save(makeScene('damaged', '2026-01-02T00:00:00Z'));
      await store.addDetailLayers(damaged.id, [encodeDetailPatch(sharpenedPatch(128, AHEAD, 1)), encodeDetailPatch(sharpenedPatch(128, SEAM, 2))]);
      store.close();
      // Session 1's entries have no detailLayers field; and a lost part of patch 2.
      await rawEdit(factory, (scenes, parts) => {
        const r = scenes.get(old.id);
        r.onsuccess = () => {
          const { detailLayers: _gone, ...entry } = r.result as Record<string, unknown>;
          scenes.put(entry);
        };
        parts.delete(`${damaged.id}/detail/1/depth16`);
      });
      const reopened = await SavedSceneStore.open(factory);
      const a = (await reopened.get(old.id))!;
      expect(a.detailLayers).toEqual([]);
      expect(Array.from(a.rgbPng).length).toBeGreaterThan(0);
      const b = (await reopened.get(damaged.id))!;
      expect(b.detailLayers).toHaveLength(2);
      const { detail, problems } = restoreDetailLayer(b.detailLayers);
      expect(detail!.regions).toBe(1);
      expect(problems).toEqual(['patch 2: its depth image is missing from storage']);
      // An old entry takes patches too.
      await reopened.addDetailLayers(old.id, [encodeDetailPatch(sharpenedPatch(128, AHEAD, 3))]);
      expect((await reopened.get(old.id))!.detailLayers).toHaveLength(1);
      reopened.close();
    });
  });

  it('deletes a scene with all its parts; deleting a missing id is harmless', async () => {
    const factory = new IDBFactory();
    const store = await SavedSceneStore.open(factory);
    const keep = await store.save(makeScene('keep', '2026-01-01T00:00:00Z'));
    const drop = await store.save(makeScene('drop', '2026-01-02T00:00:00Z'));
    let notified = 0;
    const unsubscribe = store.subscribe(() => notified++);
    await store.delete(drop.id);
    await store.delete('no-such-id');
    unsubscribe();
    expect(notified).toBe(2);
    expect((await store.list()).map((s) => s.id)).toEqual([keep.id]);
    expect(await store.get(drop.id)).toBeUndefined();
    store.close();
    expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 2 });
  });

  it('rejects a duplicate id without touching the existing scene', async () => {
    const store = await SavedSceneStore.open(new IDBFactory());
    const first = makeScene('first', '2026-01-01T00:00:00Z', 1);
    await store.save(first, 'same');
    await expect(store.save(makeScene('second', '2026-01-02T00:00:00Z', 2), 'same')).rejects.toBeInstanceOf(
      StorageWriteError,
    );
    const got = await store.get('same');
    expect(got!.prompt).toBe('first');
    expect(Array.from(got!.rgbPng)).toEqual(Array.from(first.rgbPng));
    store.close();
  });

  for (const mode of ['async-quota', 'sync-quota'] as const) {
    it(`is atomic: a quota failure on the second put (${mode}) leaves nothing written`, async () => {
      const factory = new IDBFactory();
      const store = await SavedSceneStore.open(factory);
      const before = await store.save(makeScene('already there', '2026-01-01T00:00:00Z'));
      const scene = makeScene('too big', '2026-01-02T00:00:00Z');
      let notified = 0;
      store.subscribe(() => notified++);
      failNthPut(2, mode);
      const error = await store.save(scene).then(
        () => null,
        (e: unknown) => e,
      );
      IDBObjectStore.prototype.put = originalPut;
      expect(error).toBeInstanceOf(QuotaExceededError);
      const quota = error as QuotaExceededError;
      expect(quota.bytesNeeded).toBe(scene.rgbPng.length + scene.depthPng.length + scene.thumbnail.bytes.length);
      expect(quota.message).toMatch(/storage is full/i);
      expect(quota.message).toMatch(/still shown and can be exported/);
      expect(notified).toBe(0);
      // The first put (RGB) was rolled back with the rest: only the earlier scene exists.
      expect((await store.list()).map((s) => s.id)).toEqual([before.id]);
      store.close();
      expect(await rawCounts(factory)).toEqual({ scenes: 1, parts: 2 });

      // And the store still works afterwards.
      const again = await SavedSceneStore.open(factory);
      await again.save(scene);
      expect(await again.list()).toHaveLength(2);
      again.close();
    });
  }

  it('maps any other failed write to StorageWriteError, also without partial data', async () => {
    const factory = new IDBFactory();
    const store = await SavedSceneStore.open(factory);
    failNthPut(2, 'sync-clone');
    await expect(store.save(makeScene('x', '2026-01-01T00:00:00Z'))).rejects.toBeInstanceOf(StorageWriteError);
    IDBObjectStore.prototype.put = originalPut;
    store.close();
    expect(await rawCounts(factory)).toEqual({ scenes: 0, parts: 0 });
  });

  it('refuses invalid metadata before writing anything', async () => {
    const factory = new IDBFactory();
    const store = await SavedSceneStore.open(factory);
    const bad = { ...makeScene('x', 'not a date') };
    await expect(store.save(bad)).rejects.toThrow(/createdAt/);
    store.close();
    expect(await rawCounts(factory)).toEqual({ scenes: 0, parts: 0 });
  });

  describe('without usable IndexedDB', () => {
    it('no factory at all (private browsing) → StorageUnavailableError', async () => {
      const e = await SavedSceneStore.open(undefined).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StorageUnavailableError);
      expect(e).toBeInstanceOf(SceneStoreError);
      expect((e as Error).message).toMatch(/IndexedDB is not available/);
      expect((e as Error).message).toMatch(/still shown and can be exported/);
    });

    it('open() throws synchronously → StorageUnavailableError', async () => {
      const factory = {
        open() {
          throw new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError');
        },
      } as unknown as IDBFactory;
      await expect(SavedSceneStore.open(factory)).rejects.toBeInstanceOf(StorageUnavailableError);
    });

    it('open request fails (Firefox private mode) → StorageUnavailableError', async () => {
      const factory = {
        open() {
          const req = {
            error: new DOMException('A mutation operation was attempted', 'InvalidStateError'),
          } as unknown as IDBOpenDBRequest;
          setTimeout(() => req.onerror?.call(req, { preventDefault() {} } as unknown as Event), 0);
          return req;
        },
      } as unknown as IDBFactory;
      await expect(SavedSceneStore.open(factory)).rejects.toBeInstanceOf(StorageUnavailableError);
    });

    it('a closed store fails with a clear error instead of hanging', async () => {
      const store = await SavedSceneStore.open(new IDBFactory());
      store.close();
      await expect(store.list()).rejects.toBeInstanceOf(StorageUnavailableError);
    });
  });
});
