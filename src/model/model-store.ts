/**
 * The browser's model store: an exported pipeline (manifest.json + the files it lists) fetched
 * from a base URL, checked against the manifest's sha256 and kept in browser storage.
 *
 * Plain TypeScript with injected `fetch` and storage, so the same code runs in the worker, on the
 * main thread and in Node tests. It never imports onnxruntime-web: it hands bytes to the pipeline
 * through the ModelSource interface.
 *
 *   const store = await ModelStore.open('https://host/models/tiny/ldm3d-pano/');
 *   const plan = await store.plan(['text_encoder', 'unet', 'vae_decoder']); // sizes, before any download
 *   await store.download({ paths: plan.files.map((f) => f.path), onProgress });
 *   const bytes = await store.read('unet/model.onnx');
 *
 * Guarantees:
 * - Files already stored and verified are not downloaded again (a manifest with another sha256
 *   for the same path invalidates the stored copy).
 * - A failed download keeps the bytes written so far; the next attempt asks for the rest with an
 *   HTTP Range request and restarts the file only when the server ignores or rejects the range.
 * - Bytes are hashed as they arrive (model-store-sha256.ts); a mismatch removes the stored copy.
 * - A stored copy is checked again the first time this store reads it (see read()): a copy
 *   damaged on disk is removed and downloaded again, and `repairs` says so for a notice.
 * - Every failure is a ModelFileError naming the file and one reason.
 */
import type { Manifest, ManifestFile, ModelSource, SessionName } from './manifest';
import { Sha256, chunkSha256 } from './model-store-sha256';
import { MemoryModelStorage, isQuotaError, type ModelStorage, type StoredFileState } from './model-store-storage';
import { browserModelStorage } from './model-store-cache';

export type ModelErrorReason =
  | 'missing' // HTTP 404/410
  | 'network' // fetch failed, connection dropped, other HTTP status
  | 'sha256-mismatch'
  | 'size-mismatch' // the server's file is not the size the manifest says
  | 'quota' // browser storage is full
  | 'bad-manifest'
  | 'aborted'
  | 'damaged'; // the stored copy read back wrong even right after a fresh download

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
  constructor(
    /** Path relative to the manifest ("manifest.json" for the manifest itself). */
    readonly file: string,
    readonly reason: ModelErrorReason,
    /** The reason's particulars (the message is "file: reason — detail"). */
    readonly detail: string,
    readonly url?: string,
  ) {
    super(`${file}: ${REASON_TEXT[reason]} — ${detail}`);
  }
}

const REASON_TEXT: Record<ModelErrorReason, string> = {
  missing: 'missing on the server',
  network: 'network error',
  'sha256-mismatch': 'sha256 mismatch',
  'size-mismatch': 'size mismatch',
  quota: 'browser storage quota exceeded',
  'bad-manifest': 'invalid manifest',
  aborted: 'download cancelled',
  damaged: 'stored copy damaged',
};

/** A stored copy found damaged on read-back, removed and downloaded again. */
export interface StoredCopyRepair {
  readonly file: string;
  /** What was wrong, e.g. "chunk 2 of 4 (bytes 16777216–33554431) does not match the sha256 recorded when it was stored". */
  readonly detail: string;
}

/** The notice the user sees for a repair. */
export function repairNotice(r: StoredCopyRepair): string {
  return `${r.file}: the copy stored in this browser was damaged (${r.detail}), so it was removed and downloaded again.`;
}

export interface FilePlan {
  readonly path: string;
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Bytes already in storage for this file (all of them when `complete`). */
  readonly cachedBytes: number;
  readonly complete: boolean;
}

export interface DownloadPlan {
  readonly baseUrl: string;
  readonly files: readonly FilePlan[];
  readonly totalBytes: number;
  readonly cachedBytes: number;
  /** totalBytes − cachedBytes: what a download would fetch at most. */
  readonly remainingBytes: number;
  readonly storage: string;
}

export interface DownloadProgress {
  readonly file: string;
  /** Bytes of this file that are stored or received so far. */
  readonly loaded: number;
  readonly total: number;
  /** Across the whole download, cached files counted as loaded. */
  readonly overallLoaded: number;
  readonly overallTotal: number;
  /** 'cached': skipped, already verified. 'resuming': re-hashing the stored part before a Range request. */
  readonly phase: 'cached' | 'resuming' | 'downloading' | 'done';
}

export interface ModelStoreDeps {
  readonly fetch?: typeof fetch;
  readonly storage?: ModelStorage;
  /** Bytes per stored chunk (and the most a download holds in memory). Default 16 MiB. */
  readonly chunkBytes?: number;
  /** Automatic resumes after a network error, per file. Default 2. */
  readonly retries?: number;
  /** Waits between automatic resumes, in ms. Injected so tests do not sleep. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface DownloadOptions {
  /** Files to fetch, relative to the manifest; default every file in the manifest. */
  readonly paths?: readonly string[];
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
}

export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export class ModelStore implements ModelSource {
  private readonly fetchFn: typeof fetch;
  private readonly chunkBytes: number;
  private readonly retries: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly byPath: Map<string, ManifestFile>;
  /**
   * URLs whose stored bytes this store has hashed in full: checked on read-back, or downloaded
   * and hashed on the way in. In memory only, so each page (each worker) checks again.
   */
  private readonly verified = new Set<string>();
  /** Stored copies found damaged on read-back, removed and downloaded again (for notices). */
  readonly repairs: StoredCopyRepair[] = [];

  private constructor(
    readonly baseUrl: string,
    readonly manifest: Manifest,
    readonly storage: ModelStorage,
    deps: ModelStoreDeps,
    /** True when the network was unreachable and the manifest came from storage. */
    readonly offline: boolean,
  ) {
    this.fetchFn = deps.fetch ?? globalThis.fetch.bind(globalThis);
    this.chunkBytes = deps.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.retries = deps.retries ?? 2;
    this.retryDelayMs = deps.retryDelayMs ?? ((n) => 1000 * 2 ** n);
    this.byPath = new Map(manifest.files.map((f) => [f.path, f]));
  }

  /**
   * Fetches and checks manifest.json under `baseUrl` (an absolute URL; a worker cannot resolve
   * the page's relative URLs, so callers resolve them first). Falls back to the stored copy of
   * the manifest when the network is unreachable, so a downloaded model still opens offline.
   */
  static async open(baseUrl: string, deps: ModelStoreDeps = {}): Promise<ModelStore> {
    const base = normalizeBaseUrl(baseUrl);
    const storage = deps.storage ?? browserModelStorage() ?? new MemoryModelStorage();
    const fetchFn = deps.fetch ?? globalThis.fetch.bind(globalThis);
    const url = new URL('manifest.json', base).href;
    let text: string;
    let offline = false;
    let response: Response;
    try {
      // Revalidate: a re-export changes the manifest (and its hashes) under the same URL.
      response = await fetchFn(url, { cache: 'no-cache' });
    } catch (e) {
      const stored = await storage.readText(url).catch(() => null);
      if (stored === null) throw new ModelFileError('manifest.json', 'network', describe(e), url);
      response = new Response(stored);
      offline = true;
    }
    if (!response.ok) {
      if (response.status === 404 || response.status === 410) {
        throw new ModelFileError('manifest.json', 'missing', `HTTP ${response.status} for ${url}`, url);
      }
      throw new ModelFileError('manifest.json', 'network', `HTTP ${response.status} for ${url}`, url);
    }
    text = await response.text();
    const manifest = parseManifest(text);
    if (!offline) await storage.writeText(url, text).catch(() => undefined); // only an offline nicety
    return new ModelStore(base, manifest, storage, deps, offline);
  }

  /** URL of a manifest file. */
  urlOf(path: string): string {
    return new URL(path, this.baseUrl).href;
  }

  /** Sizes and what is already stored, without downloading anything. */
  async plan(paths: readonly string[] = this.manifest.files.map((f) => f.path)): Promise<DownloadPlan> {
    const files: FilePlan[] = [];
    for (const path of paths) {
      const f = this.fileOf(path);
      const url = this.urlOf(path);
      const s = await this.storage.stat(url);
      const usable = s !== null && s.sha256 === f.sha256 && s.bytes <= f.bytes;
      const complete = usable && s.complete && s.bytes === f.bytes;
      files.push({ path, url, bytes: f.bytes, sha256: f.sha256, cachedBytes: usable ? s.bytes : 0, complete });
    }
    const totalBytes = files.reduce((a, f) => a + f.bytes, 0);
    const cachedBytes = files.reduce((a, f) => a + f.cachedBytes, 0);
    return { baseUrl: this.baseUrl, files, totalBytes, cachedBytes, remainingBytes: totalBytes - cachedBytes, storage: this.storage.kind };
  }

  /** Ensures every file in `paths` is stored and verified, one file after the other. */
  async download(options: DownloadOptions = {}): Promise<void> {
    const plan = await this.plan(options.paths);
    let done = 0;
    for (const f of plan.files) {
      await this.ensure(f.path, options, done, plan.totalBytes);
      done += f.bytes;
    }
  }

  /**
   * ModelSource: the verified bytes of one file, in a single buffer filled chunk by chunk (the
   * only full-size copy this module makes). A file not yet downloaded is downloaded first.
   *
   * The first read of a stored file by this store checks it again, because `complete` in the
   * stored record only says the bytes were right when they were written. What a damaged chunk
   * looks like decides how: a missing chunk, one of another size or one the browser cannot read
   * back (Chromium's disk cache checks its own CRC and fails the read) show up on reading
   * alone; a chunk with the same size and other bytes shows up only by hashing it. So every
   * chunk's sha256 is recorded when it is written and compared as it is read back — the read
   * touches every byte anyway, and a chunk's digest is one native WebCrypto call that runs
   * while the next chunk is read, so the check adds little to a load that must read the bytes
   * regardless (the JavaScript whole-file hash, several times slower, runs only once for an
   * entry stored before chunk digests were kept, which then gets them). A no-hash "verified"
   * flag would not do: it sits next to the data, and survives a change to it. A damaged copy is
   * removed and downloaded again (`repairs` records it for the notice); a copy that reads back
   * damaged right after that fails with reason 'damaged'.
   */
  async read(path: string, options: Omit<DownloadOptions, 'paths'> = {}): Promise<Uint8Array> {
    const f = this.fileOf(path);
    const url = this.urlOf(path);
    for (let attempt = 0; ; attempt++) {
      let s = await this.storage.stat(url);
      if (!(s && s.complete && s.sha256 === f.sha256 && s.bytes === f.bytes)) {
        try {
          await this.ensure(path, options, 0, f.bytes);
        } catch (e) {
          // The user must learn why this file was being downloaded at all (offline, say).
          const repaired = attempt > 0 ? this.repairs.at(-1) : undefined;
          if (!(repaired && e instanceof ModelFileError)) throw e;
          throw new ModelFileError(path, e.reason, `the copy stored in this browser was damaged (${repaired.detail}) and was removed; downloading it again failed: ${e.detail}`, e.url);
        }
        s = await this.storage.stat(url);
        if (!s) throw new ModelFileError(path, 'damaged', 'the downloaded copy is gone from browser storage', url);
      }
      const got = await this.readStored(f, url, s);
      if (got instanceof Uint8Array) return got;
      await this.storage.remove(url);
      this.verified.delete(url);
      if (attempt > 0) {
        throw new ModelFileError(path, 'damaged', `${got.damage}, again right after it was downloaded anew; this browser's storage does not keep it intact`, url);
      }
      this.repairs.push({ file: path, detail: got.damage });
    }
  }

  /** Reads a stored copy back, checking it unless this store already has; says what is damaged. */
  private async readStored(f: ManifestFile, url: string, s: StoredFileState): Promise<Uint8Array | { damage: string }> {
    const check = !this.verified.has(url);
    const want = s.chunkSha256;
    // An entry without chunk digests is checked against the manifest's whole-file sha256.
    const whole = check && want.some((d) => d === null) ? new Sha256() : null;
    const n = want.length;
    const computed: string[] = [];
    const out = new Uint8Array(f.bytes);
    let offset = 0;
    let index = 0;
    /** The digest of the previous chunk, computing while the next chunk is read. */
    let inFlight: { index: number; start: number; end: number; digest: Promise<string> } | null = null;
    const settle = async (): Promise<string | null> => {
      if (!inFlight) return null;
      const c = inFlight;
      inFlight = null;
      computed[c.index] = await c.digest;
      const expected = want[c.index];
      if (expected != null && computed[c.index] !== expected) {
        return `chunk ${c.index + 1} of ${n} (bytes ${c.start}–${c.end - 1}) does not match the sha256 recorded when it was stored`;
      }
      return null;
    };
    try {
      for await (const chunk of this.storage.readChunks(url)) {
        if (offset + chunk.length > out.length) return { damage: `it holds more than the manifest's ${f.bytes} bytes` };
        out.set(chunk, offset);
        if (check) {
          whole?.update(chunk);
          const next = { index, start: offset, end: offset + chunk.length, digest: chunkSha256(out.subarray(offset, offset + chunk.length)) };
          next.digest.catch(() => undefined); // awaited in settle(); no unhandled rejection if we return first
          const damage = await settle();
          inFlight = next;
          if (damage) return { damage };
        }
        offset += chunk.length;
        index++;
      }
      const damage = await settle();
      if (damage) return { damage };
    } catch (e) {
      return { damage: `it could not be read back: ${describe(e)}` };
    }
    if (offset !== f.bytes) return { damage: `it holds ${offset} bytes, the manifest says ${f.bytes}` };
    if (whole) {
      const digest = whole.digestHex();
      if (digest !== f.sha256) return { damage: `its sha256 is ${digest}, the manifest says ${f.sha256}` };
      // Checked in full: record the chunk digests so later pages check it the fast way.
      await this.storage.setChunkSha256(url, computed).catch(() => undefined);
    }
    if (check) this.verified.add(url);
    return out;
  }

  /** Drops the stored copy of every file of this manifest (and the manifest). */
  async clear(): Promise<void> {
    for (const f of this.manifest.files) {
      await this.storage.remove(this.urlOf(f.path));
      this.verified.delete(this.urlOf(f.path));
    }
  }

  private fileOf(path: string): ManifestFile {
    const f = this.byPath.get(path);
    if (!f) throw new ModelFileError(path, 'bad-manifest', 'not listed in manifest.json');
    return f;
  }

  private async ensure(path: string, options: Omit<DownloadOptions, 'paths'>, before: number, overallTotal: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.downloadOnce(path, options, before, overallTotal);
        return;
      } catch (e) {
        const retryable = e instanceof ModelFileError && e.reason === 'network' && attempt < this.retries;
        if (!retryable || options.signal?.aborted) throw e;
        await sleep(this.retryDelayMs(attempt), options.signal);
      }
    }
  }

  private async downloadOnce(
    path: string,
    options: Omit<DownloadOptions, 'paths'>,
    before: number,
    overallTotal: number,
  ): Promise<void> {
    const f = this.fileOf(path);
    const url = this.urlOf(path);
    const { signal, onProgress } = options;
    const report = (loaded: number, phase: DownloadProgress['phase']): void =>
      onProgress?.({ file: path, loaded, total: f.bytes, overallLoaded: before + loaded, overallTotal, phase });
    const storageOp = async <T>(op: () => Promise<T>): Promise<T> => {
      try {
        return await op();
      } catch (e) {
        if (isQuotaError(e)) {
          throw new ModelFileError(path, 'quota', `could not store ${formatBytes(f.bytes)}; free space or clear cached models`, url);
        }
        throw e;
      }
    };

    if (signal?.aborted) throw new ModelFileError(path, 'aborted', 'before it started', url);

    let state = await this.storage.stat(url);
    if (state && (state.sha256 !== f.sha256 || state.bytes > f.bytes)) {
      await this.storage.remove(url); // stored for an older manifest
      state = null;
    }
    if (state?.complete && state.bytes === f.bytes) {
      report(f.bytes, 'cached');
      return;
    }

    let hasher = new Sha256();
    let offset = 0;
    if (state && state.bytes > 0) {
      // Resume: the hash must cover the stored prefix too, and there is no way to save a
      // hasher's state across page loads portably, so the stored part is hashed again.
      report(state.bytes, 'resuming');
      for await (const chunk of this.storage.readChunks(url)) {
        hasher.update(chunk);
        offset += chunk.length;
      }
    } else {
      await storageOp(() => this.storage.begin(url, f.sha256));
    }

    if (offset < f.bytes) {
      let response = await this.request(path, url, offset, signal);
      const ranged = offset > 0 && response.status === 206 && contentRangeStart(response) === offset;
      if (offset > 0 && !ranged) {
        // The server ignored the range (a 200 carries the whole file: use it) or answered with
        // another range (ask again for the whole file). Either way the file restarts at byte 0.
        await storageOp(() => this.storage.begin(url, f.sha256));
        hasher = new Sha256();
        offset = 0;
        if (response.status !== 200) {
          await response.body?.cancel().catch(() => undefined);
          response = await this.request(path, url, 0, signal);
        }
      }
      offset = await this.receive(path, url, f, response, offset, hasher, signal, storageOp, (n) => report(n, 'downloading'));
    }

    const digest = hasher.digestHex();
    if (digest !== f.sha256) {
      await this.storage.remove(url);
      throw new ModelFileError(path, 'sha256-mismatch', `expected ${f.sha256}, got ${digest} (${formatBytes(offset)} from ${url}); the downloaded copy was removed`, url);
    }
    await storageOp(() => this.storage.markComplete(url));
    // Hashed in full on the way in: the first read need not hash the stored copy again.
    this.verified.add(url);
    report(f.bytes, 'done');
  }

  private async request(path: string, url: string, offset: number, signal: AbortSignal | undefined): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        // no-store: a 3.4 GB file must not land a second time in the HTTP cache.
        cache: 'no-store',
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw new ModelFileError(path, 'aborted', 'while connecting', url);
      throw new ModelFileError(path, 'network', `${describe(e)} (${url})`, url);
    }
    if (response.status === 416 && offset > 0) {
      // Range not satisfiable: the stored prefix is no prefix of the server's file. Restart it.
      await response.body?.cancel().catch(() => undefined);
      return this.request(path, url, 0, signal);
    }
    if (response.status === 404 || response.status === 410) {
      throw new ModelFileError(path, 'missing', `HTTP ${response.status} for ${url}`, url);
    }
    if (!response.ok) throw new ModelFileError(path, 'network', `HTTP ${response.status} for ${url}`, url);
    return response;
  }

  /** Streams the body into storage chunk by chunk; returns the bytes stored in total. */
  private async receive(
    path: string,
    url: string,
    f: ManifestFile,
    response: Response,
    start: number,
    hasher: Sha256,
    signal: AbortSignal | undefined,
    storageOp: <T>(op: () => Promise<T>) => Promise<T>,
    progress: (loaded: number) => void,
  ): Promise<number> {
    const remaining = f.bytes - start;
    const buffer = new Uint8Array(Math.max(1, Math.min(this.chunkBytes, remaining)));
    let filled = 0;
    let stored = start;
    const flush = async (): Promise<void> => {
      if (filled === 0) return;
      const bytes = buffer.subarray(0, filled);
      const digest = await chunkSha256(bytes);
      await storageOp(() => this.storage.append(url, bytes, digest));
      stored += filled;
      filled = 0;
    };
    const body = response.body;
    if (!body) {
      // Only some non-browser fetch implementations give no stream; take the body in one piece.
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (start + bytes.length > f.bytes) return this.tooLong(path, url, start + bytes.length, f.bytes);
      hasher.update(bytes);
      const digest = await chunkSha256(bytes);
      await storageOp(() => this.storage.append(url, bytes, digest));
      progress(start + bytes.length);
      return this.checkLength(path, url, start + bytes.length, f.bytes);
    }
    let received = start;
    /** Set when the body is longer than the manifest says; thrown after the pipe stops. */
    let tooLong = 0;
    // pipeTo gives backpressure: the next piece is read only once the previous write (and the
    // storage flush it may trigger) has finished, so at most one chunk is ever buffered.
    const sink = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (received + chunk.length > f.bytes) {
          tooLong = received + chunk.length;
          throw new Error('longer than the manifest says');
        }
        received += chunk.length;
        hasher.update(chunk);
        let value = chunk;
        while (value.length > 0) {
          const take = Math.min(buffer.length - filled, value.length);
          buffer.set(value.subarray(0, take), filled);
          filled += take;
          value = value.subarray(take);
          if (filled === buffer.length) await flush();
        }
        progress(received);
      },
    });
    try {
      await body.pipeTo(sink, signal ? { signal } : {});
    } catch (e) {
      if (e instanceof ModelFileError) throw e; // from storage (quota)
      if (tooLong > 0) return this.tooLong(path, url, tooLong, f.bytes);
      await flush().catch(() => undefined); // keep what arrived, for the resume
      if (signal?.aborted) throw new ModelFileError(path, 'aborted', `after ${formatBytes(stored)} of ${formatBytes(f.bytes)}`, url);
      throw new ModelFileError(path, 'network', `connection lost after ${formatBytes(stored)} of ${formatBytes(f.bytes)}: ${describe(e)}`, url);
    }
    await flush();
    return this.checkLength(path, url, stored, f.bytes);
  }

  private async tooLong(path: string, url: string, got: number, expected: number): Promise<never> {
    await this.storage.remove(url);
    throw new ModelFileError(path, 'size-mismatch', `the server sent more than the ${formatBytes(expected)} the manifest lists (${got} bytes or more) from ${url}; is the manifest out of date?`, url);
  }

  private async checkLength(path: string, url: string, got: number, expected: number): Promise<number> {
    if (got === expected) return got;
    // A clean end of stream before the manifest's size: the server's file is shorter. A dropped
    // connection would have thrown in read() instead, and is resumed there.
    await this.storage.remove(url);
    throw new ModelFileError(path, 'size-mismatch', `the server's file ended at ${got} bytes, the manifest lists ${expected} (${url}); is the manifest out of date?`, url);
  }
}

/** Files of `manifest` needed to run `sessions`: everything except the graphs (and their external data) of other sessions. */
export function filesForSessions(manifest: Manifest, sessions: readonly SessionName[]): string[] {
  const excluded = new Set<string>();
  const keep = new Set<string>();
  for (const [name, spec] of Object.entries(manifest.sessions) as [SessionName, NonNullable<Manifest['sessions'][SessionName]>][]) {
    const dir = spec.file.includes('/') ? spec.file.slice(0, spec.file.lastIndexOf('/') + 1) : '';
    const own = [spec.file, ...spec.external_data.flatMap((loc) => [dir + loc, loc])];
    for (const p of own) (sessions.includes(name) ? keep : excluded).add(p);
  }
  return manifest.files.map((f) => f.path).filter((p) => keep.has(p) || !excluded.has(p));
}

/**
 * Turns what a user may type into a model base URL: an absolute URL (a trailing slash is added),
 * a path relative to `pageUrl`, or a Hugging Face shorthand "hf:owner/repo[/subdir][@revision]".
 */
export function resolveModelBaseUrl(input: string, pageUrl: string): string {
  const s = input.trim();
  const hf = /^hf:([\w.-]+\/[\w.-]+)((?:\/[\w.-]+)*)(?:@([\w.-]+))?\/?$/.exec(s);
  if (hf) {
    const [, repo, sub = '', rev = 'main'] = hf;
    return normalizeBaseUrl(`https://huggingface.co/${repo}/resolve/${rev}${sub}/`);
  }
  return normalizeBaseUrl(new URL(s, pageUrl).href);
}

export function normalizeBaseUrl(baseUrl: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new ModelFileError('manifest.json', 'bad-manifest', `model location "${baseUrl}" is not an absolute URL`);
  }
  if (u.pathname.endsWith('/manifest.json')) u.pathname = u.pathname.slice(0, -'manifest.json'.length);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/** Parses manifest.json and checks the fields this module and the pipeline rely on. */
export function parseManifest(text: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError('manifest.json', 'bad-manifest', `not JSON: ${describe(e)}`);
  }
  const bad = (why: string): never => {
    throw new ModelFileError('manifest.json', 'bad-manifest', why);
  };
  if (typeof m !== 'object' || m === null) return bad('not an object');
  const o = m as Record<string, unknown>;
  if (o.format !== 'ldm3d-xr-manifest@1') bad(`format is ${JSON.stringify(o.format)}, expected "ldm3d-xr-manifest@1"`);
  if (!Array.isArray(o.files)) return bad('"files" is not a list');
  const seen = new Set<string>();
  for (const f of o.files as unknown[]) {
    const r = (f ?? {}) as Record<string, unknown>;
    const p = r.path;
    if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.split('/').includes('..') || /^[a-z]+:/i.test(p)) {
      bad(`file path ${JSON.stringify(p)} is not a relative path inside the model folder`);
    }
    if (seen.has(p as string)) bad(`file ${p} is listed twice`);
    seen.add(p as string);
    if (typeof r.bytes !== 'number' || !Number.isSafeInteger(r.bytes) || r.bytes < 0) bad(`file ${p} has no valid "bytes"`);
    if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) bad(`file ${p} has no valid lower-case hex "sha256"`);
  }
  if (typeof o.sessions !== 'object' || o.sessions === null) bad('"sessions" is missing');
  return m as Manifest;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function contentRangeStart(r: Response): number | null {
  const m = /^bytes (\d+)-/.exec(r.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
