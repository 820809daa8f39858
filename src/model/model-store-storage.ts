/**
 * Where the model store keeps downloaded files. Browsers use the Cache API
 * (model-store-cache.ts); tests and Node use the in-memory implementation below.
 *
 * A stored file is a sequence of chunks appended in order plus a small record (sha256 it is
 * meant to have, bytes so far, complete or not). Chunks are what makes a 3.4 GB file workable:
 * a download never holds more than one chunk, a failed download keeps every chunk written so far
 * (resume asks the server for the rest with an HTTP Range request), and reading the file back
 * fills one buffer chunk by chunk instead of materialising a second full-size copy.
 */
export interface StoredFileState {
  /** The sha256 (from the manifest) this entry was downloaded for; another hash means it is stale. */
  readonly sha256: string;
  /** Bytes stored so far. */
  readonly bytes: number;
  /** Every byte arrived and the sha256 matched. */
  readonly complete: boolean;
  /**
   * sha256 of each stored chunk, in order, recorded when the chunk was written; null for a
   * chunk stored by a version of the app that did not record it. The model store checks the
   * chunks against these on read-back: a whole-file hash needs the (slow, JavaScript)
   * incremental hasher, a chunk's digest is one native WebCrypto call.
   */
  readonly chunkSha256: readonly (string | null)[];
}

export interface ModelStorage {
  /** For messages and docs: 'cache-api', 'memory'. */
  readonly kind: string;
  stat(key: string): Promise<StoredFileState | null>;
  /** Starts an empty entry for `key`, dropping whatever was stored under it. */
  begin(key: string, sha256: string): Promise<void>;
  /**
   * Appends bytes (one chunk) to an incomplete entry, with their sha256 to check them by when
   * they are read back. The caller may reuse `bytes` once the promise resolves.
   */
  append(key: string, bytes: Uint8Array, sha256: string): Promise<void>;
  /** Records the chunk digests of an entry stored without them (they were computed on a verified read). */
  setChunkSha256(key: string, digests: readonly string[]): Promise<void>;
  markComplete(key: string): Promise<void>;
  /** The stored bytes in order, one stored chunk at a time. */
  readChunks(key: string): AsyncIterable<Uint8Array>;
  remove(key: string): Promise<void>;
  /** Small text blobs (the manifest, so a cached model still opens offline). */
  writeText(key: string, text: string): Promise<void>;
  readText(key: string): Promise<string | null>;
}

/** True for the error a storage back end throws when the origin's quota is used up. */
export function isQuotaError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  // Firefox used to name it NS_ERROR_DOM_QUOTA_REACHED.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

interface MemoryEntry {
  sha256: string;
  chunks: Uint8Array[];
  chunkSha256: (string | null)[];
  bytes: number;
  complete: boolean;
}

/**
 * In-memory storage for tests and Node. `quotaBytes` simulates a full disk: an append that would
 * go past it throws a QuotaExceededError like the Cache API does.
 */
export class MemoryModelStorage implements ModelStorage {
  readonly kind = 'memory';
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly texts = new Map<string, string>();

  constructor(private readonly quotaBytes = Number.POSITIVE_INFINITY) {}

  /** Bytes held across all entries. */
  get usedBytes(): number {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    return total;
  }

  async stat(key: string): Promise<StoredFileState | null> {
    const e = this.entries.get(key);
    return e ? { sha256: e.sha256, bytes: e.bytes, complete: e.complete, chunkSha256: [...e.chunkSha256] } : null;
  }

  async begin(key: string, sha256: string): Promise<void> {
    this.entries.set(key, { sha256, chunks: [], chunkSha256: [], bytes: 0, complete: false });
  }

  async append(key: string, bytes: Uint8Array, sha256: string): Promise<void> {
    const e = this.mustGet(key);
    if (e.complete) throw new Error(`storage: ${key} is complete; begin() it again to rewrite`);
    if (this.usedBytes + bytes.length > this.quotaBytes) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    e.chunks.push(bytes.slice());
    e.chunkSha256.push(sha256);
    e.bytes += bytes.length;
  }

  async setChunkSha256(key: string, digests: readonly string[]): Promise<void> {
    const e = this.mustGet(key);
    if (digests.length !== e.chunks.length) throw new Error(`storage: ${key} has ${e.chunks.length} chunks, got ${digests.length} digests`);
    e.chunkSha256 = [...digests];
  }

  /** Test hook: forgets the chunk digests, as an entry stored by a version that did not record them. */
  dropChunkSha256(key: string): void {
    const e = this.mustGet(key);
    e.chunkSha256 = e.chunks.map(() => null);
  }

  async markComplete(key: string): Promise<void> {
    this.mustGet(key).complete = true;
  }

  async *readChunks(key: string): AsyncIterable<Uint8Array> {
    const e = this.mustGet(key);
    for (const c of e.chunks) yield c;
  }

  async remove(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async writeText(key: string, text: string): Promise<void> {
    this.texts.set(key, text);
  }

  async readText(key: string): Promise<string | null> {
    return this.texts.get(key) ?? null;
  }

  /**
   * Test hook: flips one stored byte in place (the chunk keeps its size and its recorded
   * digest), as disk corruption or a tampered cache would.
   */
  corrupt(key: string, index = 0): void {
    const e = this.mustGet(key);
    let i = index;
    for (const c of e.chunks) {
      if (i < c.length) {
        c[i] ^= 0xff;
        return;
      }
      i -= c.length;
    }
    throw new Error(`storage: ${key} has no byte ${index}`);
  }

  private mustGet(key: string): MemoryEntry {
    const e = this.entries.get(key);
    if (!e) throw new Error(`storage: nothing stored under ${key}`);
    return e;
  }
}
