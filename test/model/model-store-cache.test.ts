import { describe, expect, it } from 'vitest';
import { CacheModelStorage } from '../../src/model/model-store-cache';
import { ModelStore } from '../../src/model/model-store';
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
    expect(await storage.stat(key)).toEqual({ sha256: store.manifest.files[3]!.sha256, bytes: 21_000, complete: false, chunkSha256: [expect.stringMatching(/^[0-9a-f]{64}$/), expect.any(String), expect.any(String)] });
    await store.download();
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    const chunkKeys = [...cache.entries.keys()].filter((k) => k.includes(encodeURIComponent(key)) && k.includes('/chunk/'));
    expect(chunkKeys.length).toBe(Math.ceil(21_000 / 8192) + Math.ceil((50_000 - 21_000) / 8192));
    await storage.remove(key);
    expect([...cache.entries.keys()].some((k) => k.includes(encodeURIComponent(key)))).toBe(false);
    // The manifest was kept for offline use.
    expect(await storage.readText(BASE + 'manifest.json')).toContain('ldm3d-xr-manifest@1');
  });

  it('finds a chunk overwritten with other bytes of the same size, or missing, drops the file and downloads it again', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const cache = new FakeCache();
    const storage = new CacheModelStorage(fakeCaches(cache));
    const open = () => ModelStore.open(BASE, { fetch: server.fetch, storage, chunkBytes: 8192, retries: 0 });
    await (await open()).download();
    const key = encodeURIComponent(BASE + 'unet/model.onnx_data');
    const chunk = (i: number) => [...cache.entries.keys()].find((k) => k.includes(key) && k.endsWith(`/chunk/${i}`))!;
    // Chunk 2 (the third) replaced by the same number of other bytes: only its digest can tell.
    const old = new Uint8Array(cache.entries.get(chunk(2))!);
    const other = old.map((b) => b ^ 0x5a);
    cache.entries.set(chunk(2), other.buffer);
    let store = await open();
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    expect(store.repairs).toEqual([{ file: 'unet/model.onnx_data', detail: 'chunk 3 of 7 (bytes 16384–24575) does not match the sha256 recorded when it was stored' }]);
    expect(new Uint8Array(cache.entries.get(chunk(2))!)).toEqual(old);

    // A chunk gone from the cache.
    cache.entries.delete(chunk(5));
    store = await open();
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    expect(store.repairs).toEqual([{ file: 'unet/model.onnx_data', detail: expect.stringMatching(/could not be read back: storage: chunk 5 of .* is missing/) }]);
  });

  it('reads an entry whose meta predates chunk digests, checking it once against the whole-file sha256', async () => {
    const files = standardFiles();
    const server = new FakeServer(files, makeManifest(files));
    const cache = new FakeCache();
    const storage = new CacheModelStorage(fakeCaches(cache));
    const open = () => ModelStore.open(BASE, { fetch: server.fetch, storage, chunkBytes: 8192, retries: 0 });
    await (await open()).download();
    const metaKey = [...cache.entries.keys()].find((k) => k.includes(encodeURIComponent(BASE + 'unet/model.onnx_data')) && k.endsWith('/meta'))!;
    const meta = JSON.parse(new TextDecoder().decode(cache.entries.get(metaKey)!)) as Record<string, unknown>;
    delete meta.chunkSha256;
    cache.entries.set(metaKey, new TextEncoder().encode(JSON.stringify(meta)).buffer);
    expect((await storage.stat(BASE + 'unet/model.onnx_data'))!.chunkSha256).toEqual(Array(7).fill(null));
    const store = await open();
    const requests = server.requests.length;
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    expect(store.repairs).toEqual([]);
    expect(server.requests.length).toBe(requests);
    expect((await storage.stat(BASE + 'unet/model.onnx_data'))!.chunkSha256.every((d) => typeof d === 'string')).toBe(true);
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
