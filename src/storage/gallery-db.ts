/**
 * Every generated scene, kept in IndexedDB so it survives reloads.
 *
 * Design notes: docs/design-notes.md ("Saved scenes in IndexedDB").
 *
 * @example
 *   const store = await SavedSceneStore.open();
 *   const entry = await store.save(record);
 *   for (const s of await store.list()) console.log(s.prompt, s.thumbnail);
 *   const full = await store.get(entry.id); // with rgbPng, depthPng, detailLayers
 *   await store.addDetailLayers(entry.id, [encodeDetailPatch(patch)]);
 *   await store.delete(entry.id);
 *   store.close();
 */
import type { SceneMetadata } from '../export/metadata';
import { validateMetadata } from '../export/metadata';
import type { DetailPatchRecord } from './detail-patches';
import {
  QuotaExceededError,
  SceneStoreError,
  StorageUnavailableError,
  StorageWriteError,
  detailQuotaMessage,
  detailWriteFailedMessage,
  isQuotaError,
  quotaMessage,
  unavailableMessage,
  writeFailedMessage,
} from './errors';

export const SCENE_DB_NAME = 'ldm3d-xr-scenes';
export const SCENE_DB_VERSION = 1;
const SCENES = 'scenes';
const PARTS = 'parts';
/** Index over createdAtMs: ISO strings with offsets or other precisions do not sort as text. */
const BY_DATE = 'createdAtMs';

export interface Thumbnail {
  readonly mimeType: 'image/png' | 'image/jpeg';
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
}

/** A sharpened region (LDM3D-SR) stored with its scene; see detail-patches.ts for the encoding. */
export type { DetailPatchRecord } from './detail-patches';

/** What a caller hands to `save`: metadata plus encoded images. */
export interface NewScene extends SceneMetadata {
  readonly rgbPng: Uint8Array;
  /** 16-bit greyscale PNG of floor(d·65535). */
  readonly depthPng: Uint8Array;
  readonly thumbnail: Thumbnail;
  /** Sharpened patches, oldest first. */
  readonly detailLayers?: readonly DetailPatchRecord[];
}

/** The gallery's view of a scene: everything but the full-size images. */
export interface SceneSummary extends SceneMetadata {
  readonly id: string;
  readonly thumbnail: Thumbnail;
  readonly detailLayerCount: number;
  /** Stored bytes of all parts and the thumbnail. */
  readonly byteSize: number;
}

/** A whole saved scene. */
export interface SavedScene extends SceneSummary {
  readonly rgbPng: Uint8Array;
  readonly depthPng: Uint8Array;
  /** Oldest first; a damaged one is still listed (restoreDetailLayer says what is wrong). */
  readonly detailLayers: readonly DetailPatchRecord[];
}

interface IndexEntry extends SceneSummary {
  readonly parts: readonly string[];
  readonly createdAtMs: number;
}

interface StoredDetailLayer extends Omit<DetailPatchRecord, 'rgbaPng' | 'depthPng'> {
  readonly rgbaPart: string;
  readonly depthPart: string;
  /** Bytes of both parts, so removing the patch can update the scene's byteSize. */
  readonly bytes: number;
}

interface StoredEntry extends IndexEntry {
  /** Absent in entries written before patches were stored. */
  readonly detailLayers?: readonly StoredDetailLayer[];
}

/** What changed: a scene saved, deleted, or its sharpened patches added or cleared ('updated'). */
export interface SceneChange {
  readonly kind: 'saved' | 'deleted' | 'updated';
  readonly id: string;
  /** True when another tab (another store on the same database) made the change. */
  readonly remote: boolean;
}

type Listener = (change: SceneChange) => void;

/** The BroadcastChannel every store on database `name` posts its changes on. */
export function sceneChannelName(name: string): string {
  return `${name}:changes`;
}

export class SavedSceneStore {
  private readonly listeners = new Set<Listener>();
  private closed = false;
  private readonly channel: BroadcastChannel | null;

  private constructor(
    private readonly db: IDBDatabase,
    name: string,
  ) {
    // Another tab upgrading the schema needs us to let go; later calls then fail with a clear error.
    db.onversionchange = () => this.close();
    this.channel = openChannel(sceneChannelName(name));
    if (this.channel) {
      this.channel.onmessage = (ev: MessageEvent) => {
        const change = parseChange(ev.data);
        // A message from another tab that changed the database: re-read it like a change of ours.
        if (change && !this.closed) this.emit({ ...change, remote: true });
      };
    }
  }

  /**
   * Opens (and on first use creates) the database. Throws StorageUnavailableError when there is no
   * IndexedDB or it refuses to open, which is how private modes without storage show up.
   */
  static async open(factory: IDBFactory | undefined = globalThis.indexedDB, name = SCENE_DB_NAME): Promise<SavedSceneStore> {
    if (!factory) throw new StorageUnavailableError(unavailableMessage('IndexedDB is not available'));
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, SCENE_DB_VERSION);
    } catch (e) {
      throw new StorageUnavailableError(unavailableMessage(`IndexedDB refused to open (${describe(e)})`), { cause: e });
    }
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(SCENES)) {
          const scenes = db.createObjectStore(SCENES, { keyPath: 'id' });
          scenes.createIndex(BY_DATE, 'createdAtMs');
        }
        if (!db.objectStoreNames.contains(PARTS)) db.createObjectStore(PARTS);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = (ev) => {
        ev.preventDefault();
        const e = request.error;
        reject(
          isQuotaError(e)
            ? new QuotaExceededError(quotaMessage(0), 0, { cause: e })
            : new StorageUnavailableError(unavailableMessage(`IndexedDB could not be opened (${describe(e)})`), { cause: e }),
        );
      };
      request.onblocked = () => {
        // An old tab still holds version < ours; it gets `versionchange` and should close. Wait.
      };
    });
    return new SavedSceneStore(db, name);
  }

  /**
   * Writes a scene atomically and resolves once it is committed (durability "strict": flushed to
   * disk where the browser supports it). Rejects with QuotaExceededError, StorageWriteError or
   * StorageUnavailableError; in every case nothing of the scene is stored.
   */
  async save(scene: NewScene, id: string = newSceneId()): Promise<SceneSummary> {
    const metadata = validateMetadata(scene);
    const layers = scene.detailLayers ?? [];
    const parts: [string, Uint8Array][] = [
      [`${id}/rgb`, scene.rgbPng],
      [`${id}/depth16`, scene.depthPng],
    ];
    const storedLayers = layers.map((layer, i) => storedLayer(id, i, layer, parts));
    const byteSize = parts.reduce((sum, [, bytes]) => sum + bytes.byteLength, 0) + scene.thumbnail.bytes.byteLength;
    const entry: StoredEntry = {
      ...metadata,
      id,
      thumbnail: { ...scene.thumbnail, bytes: scene.thumbnail.bytes.slice() },
      detailLayerCount: layers.length,
      byteSize,
      createdAtMs: Date.parse(metadata.createdAt),
      parts: parts.map(([key]) => key),
      detailLayers: storedLayers,
    };

    const tx = this.transaction([SCENES, PARTS], 'readwrite');
    const done = settle(tx, byteSize);
    try {
      const partStore = tx.objectStore(PARTS);
      for (const [key, bytes] of parts) partStore.put(exactCopy(bytes), key);
      // Index entry last, and `add` so an id clash fails (and rolls back) instead of overwriting.
      tx.objectStore(SCENES).add(entry);
      tx.commit?.();
    } catch (e) {
      // A synchronous throw (DataCloneError, quota in some engines) leaves earlier puts pending:
      // abort so they are rolled back too.
      abortQuietly(tx);
      await done.catch(() => undefined);
      throw mapError(e, byteSize);
    }
    await done;
    this.changed('saved', id);
    return summary(entry);
  }

  /** All scenes, newest first, without their full-size images. */
  async list(): Promise<SceneSummary[]> {
    const tx = this.transaction([SCENES], 'readonly');
    const done = settle(tx, 0);
    const out: SceneSummary[] = [];
    await new Promise<void>((resolve, reject) => {
      const cursor = tx.objectStore(SCENES).index(BY_DATE).openCursor(null, 'prev');
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return resolve();
        out.push(summary(c.value as IndexEntry));
        c.continue();
      };
      cursor.onerror = () => reject(mapError(cursor.error, 0));
    });
    await done;
    return out;
  }

  /** One scene with its images, or undefined if there is none with this id. */
  async get(id: string): Promise<SavedScene | undefined> {
    const tx = this.transaction([SCENES, PARTS], 'readonly');
    const done = settle(tx, 0);
    let entry: StoredEntry | undefined;
    const bytes = new Map<string, unknown>();
    // Callbacks, not awaits, between requests: a transaction stays usable only while its events run.
    const entryRequest = tx.objectStore(SCENES).get(id);
    entryRequest.onsuccess = () => {
      entry = entryRequest.result as StoredEntry | undefined;
      if (!entry) return;
      const partStore = tx.objectStore(PARTS);
      for (const key of entry.parts) {
        const r = partStore.get(key);
        r.onsuccess = () => bytes.set(key, r.result);
      }
    };
    await done;
    if (!entry) return undefined;
    const part = (key: string): Uint8Array => {
      const value = bytes.get(key);
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      if (value instanceof Uint8Array) return value;
      throw new StorageWriteError(`Scene ${id} is damaged: its part "${key}" is missing from storage.`);
    };
    // A missing patch part must not lose the scene: it comes back empty and fails to decode.
    const optional = (key: unknown): Uint8Array => (typeof key === 'string' && bytes.get(key) != null ? part(key) : new Uint8Array(0));
    return {
      ...summary(entry),
      rgbPng: part(`${id}/rgb`),
      depthPng: part(`${id}/depth16`),
      detailLayers: (entry.detailLayers ?? []).map(({ rgbaPart, depthPart, bytes: _bytes, ...layer }) => ({
        ...layer,
        rgbaPng: optional(rgbaPart),
        depthPng: optional(depthPart),
      })),
    };
  }

  /**
   * Appends sharpened patches to a saved scene atomically: their parts and the updated index entry
   * (detailLayerCount, byteSize) commit together or not at all. Rejects with StorageWriteError for
   * an id that is not (or no longer) stored, QuotaExceededError when storage is full, and
   * StorageUnavailableError when storage is gone; the messages say the patch stays on screen.
   */
  async addDetailLayers(id: string, layers: readonly DetailPatchRecord[]): Promise<SceneSummary> {
    const parts: [string, Uint8Array][] = [];
    const bytesAdded = layers.reduce((sum, l) => sum + l.rgbaPng.byteLength + l.depthPng.byteLength, 0);
    return this.updateEntry(id, bytesAdded, (entry, partStore) => {
      const existing = entry.detailLayers ?? [];
      const added = layers.map((layer, i) => storedLayer(id, existing.length + i, layer, parts));
      for (const [key, bytes] of parts) partStore.put(exactCopy(bytes), key);
      return {
        ...entry,
        detailLayers: [...existing, ...added],
        detailLayerCount: existing.length + added.length,
        byteSize: entry.byteSize + bytesAdded,
        parts: [...entry.parts, ...parts.map(([key]) => key)],
      };
    });
  }

  /** Removes all of a scene's sharpened patches ("undo sharpening") in one transaction. */
  async clearDetailLayers(id: string): Promise<SceneSummary> {
    return this.updateEntry(id, 0, (entry, partStore) => {
      const layers = entry.detailLayers ?? [];
      const gone = new Set(layers.flatMap((l) => [l.rgbaPart, l.depthPart]));
      for (const key of gone) partStore.delete(key);
      return {
        ...entry,
        detailLayers: [],
        detailLayerCount: 0,
        byteSize: entry.byteSize - layers.reduce((sum, l) => sum + (l.bytes ?? 0), 0),
        parts: entry.parts.filter((key) => !gone.has(key)),
      };
    });
  }

  /** Deletes a scene and all its parts in one transaction. Deleting a missing id is not an error. */
  async delete(id: string): Promise<void> {
    const tx = this.transaction([SCENES, PARTS], 'readwrite');
    const done = settle(tx, 0);
    const entryRequest = tx.objectStore(SCENES).get(id);
    entryRequest.onsuccess = () => {
      const entry = entryRequest.result as StoredEntry | undefined;
      if (!entry) return;
      const parts = tx.objectStore(PARTS);
      for (const key of entry.parts) parts.delete(key);
      tx.objectStore(SCENES).delete(id);
    };
    await done;
    this.changed('deleted', id);
  }

  /**
   * Called after every committed change, in this tab or (through the BroadcastChannel) another,
   * e.g. to refresh a gallery. Returns unsubscribe.
   */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.db.close();
  }

  /**
   * Reads a scene's index entry and writes back `change(entry)` in one readwrite transaction
   * (callbacks, not awaits, keep it alive); `bytes` is what the change adds, for quota messages.
   */
  private async updateEntry(id: string, bytes: number, change: (entry: StoredEntry, parts: IDBObjectStore) => StoredEntry): Promise<SceneSummary> {
    const tx = this.transaction([SCENES, PARTS], 'readwrite');
    const done = settle(tx, bytes);
    let missing = false;
    let failure: unknown = null;
    let updated: StoredEntry | null = null;
    const entryRequest = tx.objectStore(SCENES).get(id);
    entryRequest.onsuccess = () => {
      const entry = entryRequest.result as StoredEntry | undefined;
      try {
        if (!entry) {
          missing = true;
          tx.abort();
          return;
        }
        updated = change(entry, tx.objectStore(PARTS));
        tx.objectStore(SCENES).put(updated);
      } catch (e) {
        // A synchronous throw (DataCloneError, quota in some engines): roll back what was queued.
        failure = e;
        abortQuietly(tx);
      }
    };
    try {
      await done;
    } catch (e) {
      if (missing) throw new StorageWriteError(`This scene is no longer in storage (deleted in another tab?), so the change was not saved. ${KEEP_DETAIL_NOTE}`);
      throw detailError(failure ?? e, bytes);
    }
    this.changed('updated', id);
    return summary(updated!);
  }

  private transaction(stores: string[], mode: IDBTransactionMode): IDBTransaction {
    if (this.closed) {
      throw new StorageUnavailableError(unavailableMessage('the scene database was closed (updated in another tab?)'));
    }
    try {
      return this.db.transaction(stores, mode, { durability: mode === 'readwrite' ? 'strict' : 'default' });
    } catch (e) {
      throw new StorageUnavailableError(unavailableMessage(`the scene database cannot be used (${describe(e)})`), { cause: e });
    }
  }

  /** A change of ours committed: tell this tab's subscribers and the other tabs. */
  private changed(kind: SceneChange['kind'], id: string): void {
    this.emit({ kind, id, remote: false });
    try {
      this.channel?.postMessage({ kind, id });
    } catch {
      // The change is committed; a tab that misses the message shows it on its next refresh.
    }
  }

  private emit(change: SceneChange): void {
    for (const l of this.listeners) l(change);
  }
}

/** A BroadcastChannel, or null where there is none (old browsers, some embedded webviews). */
function openChannel(name: string): BroadcastChannel | null {
  if (typeof BroadcastChannel !== 'function') return null;
  try {
    const channel = new BroadcastChannel(name);
    // Node keeps its process alive while a channel is open; a store nobody closed (a test, the
    // CLI) must not hang it. Browsers have no unref.
    (channel as { unref?: () => void }).unref?.();
    return channel;
  } catch {
    return null;
  }
}

/** Another tab's message, checked: it comes from any code on this origin. */
function parseChange(data: unknown): Omit<SceneChange, 'remote'> | null {
  if (!data || typeof data !== 'object') return null;
  const { kind, id } = data as { kind?: unknown; id?: unknown };
  if ((kind !== 'saved' && kind !== 'deleted' && kind !== 'updated') || typeof id !== 'string') return null;
  return { kind, id };
}

/**
 * Asks the browser not to evict our storage under pressure (best effort; some browsers grant it
 * only after user engagement). Returns whether storage is persistent.
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.persist) return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

export function newSceneId(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const b = c.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const KEEP_DETAIL_NOTE = 'What is on screen stays until another scene is opened.';

/** The stored form of patch `index` of scene `id`; pushes its two parts onto `parts`. */
function storedLayer(id: string, index: number, layer: DetailPatchRecord, parts: [string, Uint8Array][]): StoredDetailLayer {
  const rgbaPart = `${id}/detail/${index}/rgba`;
  const depthPart = `${id}/detail/${index}/depth16`;
  parts.push([rgbaPart, layer.rgbaPng], [depthPart, layer.depthPng]);
  const { rgbaPng, depthPng, ...rest } = layer;
  return { ...rest, rgbaPart, depthPart, bytes: rgbaPng.byteLength + depthPng.byteLength };
}

/** mapError, with messages about the sharpened region rather than the whole scene. */
function detailError(e: unknown, bytes: number): SceneStoreError {
  const mapped = mapError(e, bytes);
  if (mapped instanceof QuotaExceededError) return new QuotaExceededError(detailQuotaMessage(bytes), bytes, { cause: mapped.cause ?? e });
  if (mapped instanceof StorageWriteError && !(e instanceof SceneStoreError)) {
    return new StorageWriteError(detailWriteFailedMessage(describe(e)), { cause: e });
  }
  return mapped;
}

function summary(entry: IndexEntry): SceneSummary {
  return {
    id: entry.id,
    createdAt: entry.createdAt,
    prompt: entry.prompt,
    ...(entry.sentPrompt !== undefined ? { sentPrompt: entry.sentPrompt } : {}),
    negativePrompt: entry.negativePrompt,
    settings: entry.settings,
    modelId: entry.modelId,
    testWeights: entry.testWeights,
    width: entry.width,
    height: entry.height,
    depthMapping: entry.depthMapping,
    ...(entry.seam !== undefined ? { seam: entry.seam } : {}),
    thumbnail: { ...entry.thumbnail, bytes: asBytes(entry.thumbnail.bytes) },
    detailLayerCount: entry.detailLayerCount,
    byteSize: entry.byteSize,
  };
}

/** Resolves on `complete`, rejects with a typed error on `abort` (carrying the request's error). */
function settle(tx: IDBTransaction, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(mapError(tx.error ?? new DOMException('Transaction aborted', 'AbortError'), bytes));
    // A failed request aborts the transaction unless prevented; `abort` then reports it.
    tx.onerror = () => undefined;
  });
}

function abortQuietly(tx: IDBTransaction): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted: nothing left to roll back.
  }
}

function mapError(e: unknown, bytes: number): SceneStoreError {
  if (e instanceof SceneStoreError) return e;
  if (isQuotaError(e)) return new QuotaExceededError(quotaMessage(bytes), bytes, { cause: e });
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'InvalidStateError' || name === 'UnknownError') {
    // What Firefox/Safari raise when storage is switched off mid-session or the database is gone.
    return new StorageUnavailableError(unavailableMessage(`storage stopped working (${describe(e)})`), { cause: e });
  }
  return new StorageWriteError(writeFailedMessage(describe(e)), { cause: e });
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) {
    const { name, message } = e as { name?: string; message?: string };
    return [name, message].filter(Boolean).join(': ') || 'unknown error';
  }
  return String(e);
}

/**
 * A plain ArrayBuffer holding exactly these bytes: a view into a bigger (or shared) buffer would
 * otherwise store the whole buffer.
 */
function exactCopy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

function asBytes(v: Uint8Array | ArrayBuffer): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v);
}
