import { describe, expect, it } from 'vitest';
import {
  ModelFileError,
  ModelStore,
  filesForSessions,
  normalizeBaseUrl,
  parseManifest,
  repairNotice,
  resolveModelBaseUrl,
  type DownloadProgress,
} from '../../src/model/model-store';
import { MemoryModelStorage } from '../../src/model/model-store-storage';
import { BASE, FakeServer, bytesOf, makeManifest, standardFiles } from './model-store-fake-server';

function setup(options: { ranges?: boolean; quota?: number; chunkBytes?: number; retries?: number } = {}) {
  const files = standardFiles();
  const manifest = makeManifest(files);
  const server = new FakeServer(files, manifest, { ranges: options.ranges ?? true, pieceBytes: 1000 });
  const storage = new MemoryModelStorage(options.quota);
  const open = () =>
    ModelStore.open(BASE, {
      fetch: server.fetch,
      storage,
      chunkBytes: options.chunkBytes ?? 8192,
      retries: options.retries ?? 0,
      retryDelayMs: () => 0,
    });
  return { files, manifest, server, storage, open };
}

const totalOf = (files: Map<string, Uint8Array>) => [...files.values()].reduce((a, b) => a + b.length, 0);

async function failure(p: Promise<unknown>): Promise<ModelFileError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ModelFileError) return e;
    throw e;
  }
  throw new Error('expected a ModelFileError, got success');
}

describe('ModelStore', () => {
  it('plans sizes before downloading anything', async () => {
    const { open, server, files } = setup();
    const store = await open();
    const plan = await store.plan();
    expect(plan.totalBytes).toBe(totalOf(files));
    expect(plan.cachedBytes).toBe(0);
    expect(plan.remainingBytes).toBe(plan.totalBytes);
    expect(plan.files.map((f) => f.path)).toEqual([...files.keys()]);
    expect(plan.files[0]!.url).toBe(BASE + 'tokenizer/tokenizer.json');
    expect(server.requests.map((r) => r.path)).toEqual(['manifest.json']);
  });

  it('downloads every file with per-file and overall progress, and reads back the exact bytes', async () => {
    const { open, files } = setup();
    const store = await open();
    const events: DownloadProgress[] = [];
    await store.download({ onProgress: (p) => events.push(p) });
    const total = totalOf(files);
    for (const [path, bytes] of files) {
      const mine = events.filter((e) => e.file === path);
      expect(mine.length, path).toBeGreaterThan(0);
      // Monotonic, ends at the file's size, and every event reports the right total.
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.loaded).toBeGreaterThanOrEqual(mine[i - 1]!.loaded);
      expect(mine.at(-1)).toMatchObject({ loaded: bytes.length, total: bytes.length, phase: 'done' });
      expect(mine.every((e) => e.overallTotal === total)).toBe(true);
      expect(await store.read(path)).toEqual(bytes);
    }
    // The 50 kB file streamed in 1 kB pieces gives many intermediate events.
    expect(events.filter((e) => e.file === 'unet/model.onnx_data' && e.phase === 'downloading').length).toBeGreaterThanOrEqual(50);
    expect(events.at(-1)!.overallLoaded).toBe(total);
    const plan = await store.plan();
    expect(plan.cachedBytes).toBe(total);
    expect(plan.files.every((f) => f.complete)).toBe(true);
  });

  it('skips files already stored and verified', async () => {
    const { open, server } = setup();
    await (await open()).download();
    const sentBefore = server.bodyBytesSent;
    const store = await open();
    const events: DownloadProgress[] = [];
    await store.download({ onProgress: (p) => events.push(p) });
    expect(server.bodyBytesSent).toBe(sentBefore);
    expect(events.every((e) => e.phase === 'cached')).toBe(true);
    expect(server.requests.filter((r) => r.path !== 'manifest.json').length).toBe(6);
  });

  it('downloads only the files of the sessions asked for', async () => {
    const { open, manifest, server } = setup();
    const paths = filesForSessions(manifest, ['text_encoder', 'unet', 'vae_decoder']);
    expect(paths).toEqual(['tokenizer/tokenizer.json', 'text_encoder/model.onnx', 'unet/model.onnx', 'unet/model.onnx_data', 'vae_decoder/model.onnx']);
    await (await open()).download({ paths });
    expect(server.requests.some((r) => r.path === 'vae_encoder/model.onnx')).toBe(false);
  });

  it('names the file on a 404 and keeps the files that did arrive', async () => {
    const { open, server, storage } = setup();
    server.missing.add('unet/model.onnx_data');
    const store = await open();
    const e = await failure(store.download());
    expect(e.file).toBe('unet/model.onnx_data');
    expect(e.reason).toBe('missing');
    expect(e.message).toMatch(/unet\/model\.onnx_data: missing on the server — HTTP 404/);
    expect((await storage.stat(BASE + 'unet/model.onnx'))?.complete).toBe(true);
  });

  it('rejects a sha256 mismatch, removes the bad copy, and succeeds once the server is fixed', async () => {
    const { open, server, storage, files } = setup();
    const good = files.get('vae_decoder/model.onnx')!;
    const bad = good.slice();
    bad[100] ^= 1;
    server.replaced.set('vae_decoder/model.onnx', bad);
    const store = await open();
    const e = await failure(store.download());
    expect(e).toMatchObject({ file: 'vae_decoder/model.onnx', reason: 'sha256-mismatch' });
    expect(e.message).toMatch(/sha256 mismatch — expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(await storage.stat(BASE + 'vae_decoder/model.onnx')).toBeNull();
    server.replaced.clear();
    await store.download();
    expect(await store.read('vae_decoder/model.onnx')).toEqual(good);
  });

  it('resumes a dropped download with a Range request and verifies the whole file', async () => {
    const { open, server, storage, files } = setup({ chunkBytes: 8192 });
    server.dropAfter.set('unet/model.onnx_data', 20_500);
    const store = await open();
    const e = await failure(store.download());
    expect(e).toMatchObject({ file: 'unet/model.onnx_data', reason: 'network' });
    expect(e.message).toMatch(/connection lost after/);
    // Everything received before the drop was kept, including the partly filled chunk.
    expect((await storage.stat(BASE + 'unet/model.onnx_data'))?.bytes).toBe(20_500);
    const plan = await store.plan();
    expect(plan.files.find((f) => f.path === 'unet/model.onnx_data')).toMatchObject({ cachedBytes: 20_500, complete: false });

    const events: DownloadProgress[] = [];
    await store.download({ onProgress: (p) => events.push(p) });
    const resumed = server.requests.filter((r) => r.path === 'unet/model.onnx_data');
    expect(resumed.map((r) => r.range)).toEqual([null, 'bytes=20500-']);
    expect(events.find((p) => p.file === 'unet/model.onnx_data')).toMatchObject({ phase: 'resuming', loaded: 20_500 });
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
  });

  it('restarts the file when the server ignores Range', async () => {
    const { open, server, files } = setup({ ranges: false });
    server.dropAfter.set('unet/model.onnx_data', 30_000);
    const store = await open();
    await failure(store.download());
    await store.download();
    expect(server.requests.filter((r) => r.path === 'unet/model.onnx_data').map((r) => r.range)).toEqual([null, 'bytes=30000-']);
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
  });

  it('resumes by itself after a network error when retries are allowed', async () => {
    const { server, storage, files } = setup();
    server.dropAfter.set('unet/model.onnx_data', 10_000);
    const store = await ModelStore.open(BASE, { fetch: server.fetch, storage, chunkBytes: 4096, retries: 2, retryDelayMs: () => 0 });
    await store.download();
    expect(server.requests.filter((r) => r.path === 'unet/model.onnx_data').map((r) => r.range)).toEqual([null, 'bytes=10000-']);
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
  });

  it('detects a resumed prefix that does not belong to the file (sha256 over the whole file)', async () => {
    const { open, server, storage } = setup();
    server.dropAfter.set('unet/model.onnx_data', 10_000);
    const store = await open();
    await failure(store.download());
    storage.corrupt(BASE + 'unet/model.onnx_data', 5);
    const e = await failure(store.download());
    expect(e).toMatchObject({ file: 'unet/model.onnx_data', reason: 'sha256-mismatch' });
    expect(await storage.stat(BASE + 'unet/model.onnx_data')).toBeNull();
  });

  it('drops a stored copy with a corrupted chunk (same size), downloads it again with a notice, and reads the original bytes', async () => {
    const { open, server, storage, files } = setup({ chunkBytes: 8192 });
    await (await open()).download();
    const key = BASE + 'unet/model.onnx_data';
    // One byte of the third 8 KiB chunk flipped in place: sizes and the "complete" record unchanged.
    storage.corrupt(key, 20_000);
    expect(await storage.stat(key)).toMatchObject({ complete: true, bytes: 50_000 });
    const before = server.requests.length;
    // A new page: a new store over the same browser storage.
    const store = await open();
    const events: DownloadProgress[] = [];
    expect(await store.read('unet/model.onnx_data', { onProgress: (p) => events.push(p) })).toEqual(files.get('unet/model.onnx_data'));
    expect(store.repairs).toEqual([{ file: 'unet/model.onnx_data', detail: 'chunk 3 of 7 (bytes 16384–24575) does not match the sha256 recorded when it was stored' }]);
    expect(repairNotice(store.repairs[0]!)).toBe(
      'unet/model.onnx_data: the copy stored in this browser was damaged (chunk 3 of 7 (bytes 16384–24575) does not match the sha256 recorded when it was stored), so it was removed and downloaded again.',
    );
    // Downloaded again from the start, with progress; the other files were not touched.
    expect(server.requests.slice(before).map((r) => [r.path, r.range])).toEqual([['manifest.json', null], ['unet/model.onnx_data', null]]);
    expect(events.at(-1)).toMatchObject({ file: 'unet/model.onnx_data', phase: 'done', loaded: 50_000 });
    // The stored copy is good again: the next page reads it without a repair or a request.
    const next = await open();
    expect(await next.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    expect(next.repairs).toEqual([]);
    expect(server.requests.at(-1)!.path).toBe('manifest.json');
  });

  it('says the stored copy was damaged when downloading it again fails (offline), and repairs it once the network is back', async () => {
    const { open, server, storage, files } = setup({ chunkBytes: 8192 });
    await (await open()).download();
    storage.corrupt(BASE + 'unet/model.onnx_data', 0);
    server.offline = true;
    const store = await open();
    expect(store.offline).toBe(true);
    const e = await failure(store.read('unet/model.onnx_data'));
    expect(e).toMatchObject({ file: 'unet/model.onnx_data', reason: 'network' });
    expect(e.message).toMatch(/^unet\/model\.onnx_data: network error — the copy stored in this browser was damaged \(chunk 1 of 7 \(bytes 0–8191\) does not match the sha256 recorded when it was stored\) and was removed; downloading it again failed: fetch failed/);
    server.offline = false;
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
  });

  it('checks an entry stored without chunk digests against the whole-file sha256, then records its digests', async () => {
    const { open, server, storage, files } = setup({ chunkBytes: 8192 });
    await (await open()).download();
    const good = BASE + 'unet/model.onnx';
    const bad = BASE + 'unet/model.onnx_data';
    storage.dropChunkSha256(good);
    storage.dropChunkSha256(bad);
    storage.corrupt(bad, 49_999);
    const store = await open();
    const before = server.requests.length;
    expect(await store.read('unet/model.onnx')).toEqual(files.get('unet/model.onnx'));
    expect(server.requests.length).toBe(before);
    expect((await storage.stat(good))!.chunkSha256.every((d) => typeof d === 'string')).toBe(true);
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
    expect(store.repairs).toEqual([{ file: 'unet/model.onnx_data', detail: expect.stringMatching(/^its sha256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}$/) }]);
  });

  it('reports a full disk as a quota error for the file', async () => {
    const { open } = setup({ quota: 30_000 });
    const store = await open();
    const e = await failure(store.download());
    expect(e).toMatchObject({ file: 'unet/model.onnx_data', reason: 'quota' });
    expect(e.message).toMatch(/quota exceeded/);
  });

  it('reports a network failure with the file name', async () => {
    const { open, server } = setup();
    const store = await open();
    server.offline = true;
    const e = await failure(store.download());
    expect(e).toMatchObject({ file: 'tokenizer/tokenizer.json', reason: 'network' });
    expect(e.message).toContain(BASE + 'tokenizer/tokenizer.json');
  });

  it('stops on abort and keeps the partial file for later', async () => {
    const { open, storage, files } = setup();
    const store = await open();
    const ac = new AbortController();
    const e = await failure(
      store.download({
        signal: ac.signal,
        onProgress: (p) => {
          if (p.file === 'unet/model.onnx_data' && p.loaded >= 12_000) ac.abort();
        },
      }),
    );
    expect(e).toMatchObject({ file: 'unet/model.onnx_data', reason: 'aborted' });
    const kept = (await storage.stat(BASE + 'unet/model.onnx_data'))!.bytes;
    expect(kept).toBeGreaterThanOrEqual(12_000);
    await store.download();
    expect(await store.read('unet/model.onnx_data')).toEqual(files.get('unet/model.onnx_data'));
  });

  it('rejects a server file of another size than the manifest says', async () => {
    const { open, server } = setup();
    server.replaced.set('text_encoder/model.onnx', bytesOf(2_000, 1));
    let e = await failure((await open()).download());
    expect(e).toMatchObject({ file: 'text_encoder/model.onnx', reason: 'size-mismatch' });
    server.replaced.set('text_encoder/model.onnx', bytesOf(3_500, 1));
    e = await failure((await open()).download());
    expect(e).toMatchObject({ file: 'text_encoder/model.onnx', reason: 'size-mismatch' });
  });

  it('re-downloads a file whose sha256 changed in a new manifest', async () => {
    const { open, server, storage, files, manifest } = setup();
    await (await open()).download();
    const newer = bytesOf(3_000, 99);
    files.set('text_encoder/model.onnx', newer);
    const updated = makeManifest(files);
    const server2 = new FakeServer(files, updated);
    const store = await ModelStore.open(BASE, { fetch: server2.fetch, storage, retries: 0 });
    const plan = await store.plan();
    expect(plan.files.find((f) => f.path === 'text_encoder/model.onnx')!.cachedBytes).toBe(0);
    await store.download();
    expect(server2.requests.filter((r) => r.path !== 'manifest.json').map((r) => r.path)).toEqual(['text_encoder/model.onnx']);
    expect(await store.read('text_encoder/model.onnx')).toEqual(newer);
    expect(manifest).not.toEqual(updated);
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it('opens from the stored manifest when offline, and names manifest.json when it cannot', async () => {
    const { open, server, files } = setup();
    await (await open()).download();
    server.offline = true;
    const store = await open();
    expect(store.offline).toBe(true);
    expect(await store.read('unet/model.onnx')).toEqual(files.get('unet/model.onnx'));

    const fresh = new MemoryModelStorage();
    const e = await failure(ModelStore.open(BASE, { fetch: server.fetch, storage: fresh }));
    expect(e).toMatchObject({ file: 'manifest.json', reason: 'network' });
  });

  it('names manifest.json when it is missing or invalid', async () => {
    const storage = new MemoryModelStorage();
    const e404 = await failure(ModelStore.open('https://models.example/nothing/', { fetch: async () => new Response('no', { status: 404 }), storage }));
    expect(e404).toMatchObject({ file: 'manifest.json', reason: 'missing' });
    const bad = await failure(ModelStore.open(BASE, { fetch: async () => new Response('{"format":"other"}'), storage }));
    expect(bad).toMatchObject({ file: 'manifest.json', reason: 'bad-manifest' });
  });

  it('reads a file that was not downloaded yet by downloading it first', async () => {
    const { open, files } = setup();
    const store = await open();
    expect(await store.read('vae_decoder/model.onnx')).toEqual(files.get('vae_decoder/model.onnx'));
  });
});

describe('manifest and URL helpers', () => {
  it('refuses paths that leave the model folder', () => {
    const m = makeManifest(standardFiles());
    for (const p of ['../secret', '/etc/passwd', 'https://evil.example/x', 'a/../../b']) {
      const text = JSON.stringify({ ...m, files: [{ path: p, bytes: 1, sha256: 'a'.repeat(64), kind: 'config' }] });
      expect(() => parseManifest(text), p).toThrow(/not a relative path/);
    }
    expect(() => parseManifest('not json')).toThrow(/manifest\.json: invalid manifest — not JSON/);
  });

  it('normalizes base URLs and resolves the Hugging Face shorthand', () => {
    expect(normalizeBaseUrl('https://h/x/models/tiny')).toBe('https://h/x/models/tiny/');
    expect(normalizeBaseUrl('https://h/x/manifest.json')).toBe('https://h/x/');
    expect(resolveModelBaseUrl('./models/tiny/ldm3d-pano/', 'http://127.0.0.1:5302/app/index.html')).toBe('http://127.0.0.1:5302/app/models/tiny/ldm3d-pano/');
    expect(resolveModelBaseUrl('hf:someone/ldm3d-pano-onnx/fp16', 'http://x/')).toBe('https://huggingface.co/someone/ldm3d-pano-onnx/resolve/main/fp16/');
    expect(resolveModelBaseUrl('hf:someone/repo@v2', 'http://x/')).toBe('https://huggingface.co/someone/repo/resolve/v2/');
    expect(() => normalizeBaseUrl('models/tiny')).toThrow(/not an absolute URL/);
  });
});

describe('ModelStore on the exported tiny models (models/tiny/ldm3d-pano)', () => {
  it('downloads and verifies every file the pipeline needs against the real manifest', async () => {
    const { readFile } = await import('node:fs/promises');
    const { resolve } = await import('node:path');
    const dir = resolve(import.meta.dirname, '../../models/tiny/ldm3d-pano');
    const base = 'http://127.0.0.1:5302/models/tiny/ldm3d-pano/';
    const served: string[] = [];
    const diskFetch: typeof fetch = async (input) => {
      const path = String(input).slice(base.length);
      served.push(path);
      try {
        return new Response(await readFile(resolve(dir, path)));
      } catch {
        return new Response('not found', { status: 404 });
      }
    };
    const store = await ModelStore.open(base, { fetch: diskFetch, storage: new MemoryModelStorage(), retries: 0 });
    expect(store.manifest.test_weights).toBe(true);
    const paths = filesForSessions(store.manifest, ['text_encoder', 'unet', 'vae_decoder']);
    expect(paths).toContain('unet/model.onnx_data');
    expect(paths).toContain('tokenizer/tokenizer.json');
    expect(paths).not.toContain('vae_encoder/model.onnx');
    const plan = await store.plan(paths);
    expect(plan.totalBytes).toBeGreaterThan(1_000_000);
    await store.download({ paths });
    const onnx = await store.read('unet/model.onnx');
    expect(onnx.length).toBe(store.manifest.files.find((f) => f.path === 'unet/model.onnx')!.bytes);
    expect(served).not.toContain('vae_encoder/model.onnx');
  });
});
