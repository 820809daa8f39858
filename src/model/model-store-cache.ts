/**
 * ModelStorage on the Cache API: the browser back end of the model store.
 *
 * Why the Cache API and not OPFS: it exists on the main thread and in workers of every browser
 * the app targets (Quest Browser included), needs no file-handle locking, and with the chunking
 * below it has OPFS's one real advantage (partial files that survive a failed download).
 * Why chunks: one `cache.put` of a 3.4 GB body would need the body in one piece; entries of
 * `CHUNK` bytes let a download keep one chunk in memory, let a failed download keep everything
 * written so far, and let reading fill a single destination buffer piece by piece.
 *
 * Layout under the cache named CACHE_NAME, for a file URL `key`:
 *   https://model-store.invalid/v1/<encoded key>/meta      JSON {sha256, chunks: [bytes...], chunkSha256: [hex...], complete}
 *   https://model-store.invalid/v1/<encoded key>/chunk/<i> the i-th chunk's bytes
 *   https://model-store.invalid/v1/<encoded key>/text      a text blob (manifests)
 * The `.invalid` origin (reserved, RFC 6761) keeps these keys from ever matching a real request.
 * A chunk is written before the meta that counts it, so a crash between the two leaves an
 * orphan chunk that the next append overwrites, never a meta pointing at missing bytes.
 * `chunkSha256` (each chunk's digest, recorded as it is written) is absent from entries written
 * before it existed; the model store then checks the whole file once and records them.
 */
import { type ModelStorage, type StoredFileState } from './model-store-storage';

export const CACHE_NAME = 'ldm3d-xr-models-v1';
const ORIGIN = 'https://model-store.invalid/v1/';

interface Meta {
  sha256: string;
  chunks: number[];
  /** Absent (or shorter than `chunks`) in entries stored before per-chunk digests were kept. */
  chunkSha256?: (string | null)[];
  complete: boolean;
}

export class CacheModelStorage implements ModelStorage {
  readonly kind = 'cache-api';
  private cachePromise: Promise<Cache> | null = null;

  constructor(
    private readonly caches: CacheStorage,
    private readonly cacheName = CACHE_NAME,
  ) {}

  async stat(key: string): Promise<StoredFileState | null> {
    const m = await this.readMeta(key);
    if (!m) return null;
    const digests = m.chunks.map((_, i) => m.chunkSha256?.[i] ?? null);
    return { sha256: m.sha256, bytes: sum(m.chunks), complete: m.complete, chunkSha256: digests };
  }

  async begin(key: string, sha256: string): Promise<void> {
    await this.remove(key);
    await this.writeMeta(key, { sha256, chunks: [], chunkSha256: [], complete: false });
  }

  async append(key: string, bytes: Uint8Array, sha256: string): Promise<void> {
    const m = await this.mustMeta(key);
    if (m.complete) throw new Error(`storage: ${key} is complete; begin() it again to rewrite`);
    const cache = await this.cache();
    // The Response constructor copies the bytes (Fetch "extract a body"), so the caller may reuse them.
    await cache.put(chunkUrl(key, m.chunks.length), new Response(bytes as Uint8Array<ArrayBuffer>));
    m.chunkSha256 = [...m.chunks.map((_, i) => m.chunkSha256?.[i] ?? null), sha256];
    m.chunks.push(bytes.length);
    await this.writeMeta(key, m);
  }

  async setChunkSha256(key: string, digests: readonly string[]): Promise<void> {
    const m = await this.mustMeta(key);
    if (digests.length !== m.chunks.length) throw new Error(`storage: ${key} has ${m.chunks.length} chunks, got ${digests.length} digests`);
    m.chunkSha256 = [...digests];
    await this.writeMeta(key, m);
  }

  async markComplete(key: string): Promise<void> {
    const m = await this.mustMeta(key);
    m.complete = true;
    await this.writeMeta(key, m);
  }

  async *readChunks(key: string): AsyncIterable<Uint8Array> {
    const m = await this.mustMeta(key);
    const cache = await this.cache();
    for (let i = 0; i < m.chunks.length; i++) {
      const r = await cache.match(chunkUrl(key, i));
      if (!r) throw new Error(`storage: chunk ${i} of ${key} is missing from the cache`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.length !== m.chunks[i]) {
        throw new Error(`storage: chunk ${i} of ${key} has ${bytes.length} bytes, expected ${m.chunks[i]}`);
      }
      yield bytes;
    }
  }

  async remove(key: string): Promise<void> {
    const cache = await this.cache();
    const m = await this.readMeta(key);
    await cache.delete(metaUrl(key));
    if (!m) return;
    // One past the recorded chunks too: it may be an orphan from a crash between chunk and meta.
    for (let i = 0; i <= m.chunks.length; i++) await cache.delete(chunkUrl(key, i));
  }

  async writeText(key: string, text: string): Promise<void> {
    const cache = await this.cache();
    await cache.put(textUrl(key), new Response(text));
  }

  async readText(key: string): Promise<string | null> {
    const cache = await this.cache();
    const r = await cache.match(textUrl(key));
    return r ? r.text() : null;
  }

  private cache(): Promise<Cache> {
    this.cachePromise ??= this.caches.open(this.cacheName);
    return this.cachePromise;
  }

  private async readMeta(key: string): Promise<Meta | null> {
    const cache = await this.cache();
    const r = await cache.match(metaUrl(key));
    if (!r) return null;
    try {
      const m = (await r.json()) as Meta;
      const digestsOk = m.chunkSha256 === undefined || Array.isArray(m.chunkSha256);
      if (typeof m.sha256 === 'string' && Array.isArray(m.chunks) && typeof m.complete === 'boolean' && digestsOk) return m;
    } catch {
      // A meta that does not parse is treated as absent: the file is downloaded again.
    }
    return null;
  }

  private async mustMeta(key: string): Promise<Meta> {
    const m = await this.readMeta(key);
    if (!m) throw new Error(`storage: nothing stored under ${key}`);
    return m;
  }

  private async writeMeta(key: string, m: Meta): Promise<void> {
    const cache = await this.cache();
    await cache.put(metaUrl(key), new Response(JSON.stringify(m), { headers: { 'content-type': 'application/json' } }));
  }
}

function base(key: string): string {
  return ORIGIN + encodeURIComponent(key);
}
function metaUrl(key: string): string {
  return `${base(key)}/meta`;
}
function chunkUrl(key: string, i: number): string {
  return `${base(key)}/chunk/${i}`;
}
function textUrl(key: string): string {
  return `${base(key)}/text`;
}
function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** The storage the browser build uses, or null where there is no Cache API (Node, insecure origins). */
export function browserModelStorage(): CacheModelStorage | null {
  const c = (globalThis as { caches?: CacheStorage }).caches;
  return c ? new CacheModelStorage(c) : null;
}
