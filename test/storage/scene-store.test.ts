import { afterEach, describe, expect, it } from 'vitest';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { SavedSceneStore, type NewScene } from '../../src/storage/scene-store';
import {
  QuotaExceededError,
  SceneStoreError,
  StorageUnavailableError,
  StorageWriteError,
} from '../../src/storage/errors';
import { encodeDepth16Png, encodeRgbPng, encodeThumbnailPng } from '../../src/export/png';

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
    const layer = { kind: 'ldm3d-sr' as const, x: 2, y: 1, width: 4, height: 2, rgbPng: s.rgbPng, depthPng: s.depthPng };
    const saved = await store.save({ ...s, detailLayers: [layer] });
    expect(saved.detailLayerCount).toBe(1);
    const got = await store.get(saved.id);
    expect(got!.detailLayers).toHaveLength(1);
    expect(got!.detailLayers[0]).toMatchObject({ kind: 'ldm3d-sr', x: 2, y: 1, width: 4, height: 2 });
    expect(Array.from(got!.detailLayers[0].depthPng)).toEqual(Array.from(s.depthPng));
    store.close();
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
