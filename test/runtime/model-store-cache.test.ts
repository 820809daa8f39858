import { describe, expect, it } from 'vitest';
import { CacheModelStorage } from '../../src/runtime/model-store-cache';
import { ModelStore } from '../../src/runtime/model-store';
import { BASE, FakeServer, makeManifest, standardFiles } from './model-store-fake-server';

/** Just enough of the Cache API (put/match/delete by URL) to run CacheModelStorage in Node. */
class FakeCache {
  readonly entries = new Map<string, ArrayBuffer>();
  quotaBytes = Number.POSITIVE_INFINITY;
  async put(req: RequestInfo | URL, res: Response): Promise<void> {
    const body = await res.arrayBuffer();
    const used = [...this.entries.values()].reduce((a, b) => a + b.byteLength, 0);
    if (used + body.byteLength > this.quotaBytes) throw new DOMException('quota', 'QuotaExceededError');
    this.entries.set(String(req), body);
  }
  async match(req: RequestInfo | URL): Promise<Response | undefined> {
    const b = this.entries.get(String(req));
    return b ? new Response(b.slice(0)) : undefined;
  }
  async delete(req: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(String(req));
  }
}

function fakeCaches(cache: FakeCache): CacheStorage {
  return { open: async () => cache } as unknown as CacheStorage;
}

describe('CacheModelStorage', () => {
  it('stores files as chunks, resumes after a drop and removes every chunk of a file', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const cache = new FakeCache();
    const storage = new CacheModelStorage(fakeCaches(cache));
    server.dropAfter.set('unet/model.onnx_data', 21_000);
    const store = await ModelStore.open(BASE, { fetch: server.fetch, storage, chunkBytes: 8192, retries: 0 });
    await expect(store.download()).rejects.toThrow(/unet\/model\.onnx_data: network error/);
    const key = BASE + 'unet/model.onnx_data';
    // Two full 8 KiB chunks and the flushed remainder of the third.
    expect(await storage.stat(key)).toEqual({ sha256: store.manifest.files[3]!.sha256, bytes: 21_000, complete: false });
    await store.download();
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    const chunkKeys = [...cache.entries.keys()].filter((k) => k.includes(encodeURIComponent(key)) && k.includes('/chunk/'));
    expect(chunkKeys.length).toBe(Math.ceil(21_000 / 8192) + Math.ceil((50_000 - 21_000) / 8192));
    await storage.remove(key);
    expect([...cache.entries.keys()].some((k) => k.includes(encodeURIComponent(key)))).toBe(false);
    // The manifest was kept for offline use.
    expect(await storage.readText(BASE + 'manifest.json')).toContain('ldm3d-xr-manifest@1');
  });

  it('turns a full cache into a quota error naming the file', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const cache = new FakeCache();
    cache.quotaBytes = 20_000;
    const store = await ModelStore.open(BASE, { fetch: server.fetch, storage: new CacheModelStorage(fakeCaches(cache)), chunkBytes: 8192, retries: 0 });
    await expect(store.download()).rejects.toMatchObject({ reason: 'quota', file: 'unet/model.onnx_data' });
  });
});
