/**
 * Counts the GPU buffers alive on every GPUDevice, from JavaScript: wraps GPUDevice.createBuffer
 * and GPUBuffer.destroy. onnxruntime-web's WebGPU EP allocates through the same JS objects
 * (Emscripten's WebGPU bindings call device.createBuffer), so this sees ORT's buffer cache too,
 * on any adapter (SwiftShader included, where nvidia-smi has nothing to say). A buffer dropped
 * without destroy() stays counted until its device is destroyed, which is also when its memory is
 * really freed.
 *
 * Besides the totals it records WHAT is alive at the peak (issue #4: ~2 GiB of the staged peak
 * were unattributed): the live buffers by byte size and by `tag` (the caller's phase label at each
 * buffer's creation). ORT's 'simple' buffer cache keys released buffers by exact size, so the sizes
 * name the tensors that hold memory, and the tag says which phase created them.
 */
interface Tracked {
  readonly bytes: number;
  readonly device: GPUDevice;
  readonly tag: string;
}

export interface GpuBufferStats {
  /** Bytes in buffers created and not yet destroyed, on devices not yet destroyed. */
  readonly liveBytes: number;
  readonly liveBuffers: number;
  /** The largest liveBytes seen since install() or resetPeak(). */
  readonly peakBytes: number;
  readonly created: number;
  readonly destroyed: number;
}

export interface SizeGroup {
  /** Bytes of one buffer. */
  readonly size: number;
  readonly count: number;
  /** size × count. */
  readonly bytes: number;
  /** How many of these buffers each tag created, most first. */
  readonly byTag: Readonly<Record<string, number>>;
}

export interface PeakComposition {
  /**
   * Bytes alive when the composition was taken: the peak, or up to the snapshot step below it
   * (snapshots are taken only every max(step, 1 %) of growth; see GpuBufferTracker).
   */
  readonly bytes: number;
  /** The exact peak since install() / resetPeak() (stats().peakBytes). */
  readonly peakBytes: number;
  readonly buffers: number;
  /** Distinct buffer sizes. */
  readonly sizes: number;
  /** Bytes per creation tag, most first. */
  readonly byTag: Readonly<Record<string, number>>;
  /** The sizes holding the most bytes, most first. */
  readonly top: readonly SizeGroup[];
}

export interface GpuBufferTrackerOptions {
  /**
   * A new peak is snapshotted when it is at least max(this, 1 % of the last snapshot) above the
   * last snapshot. Default 16 MiB: a few hundred snapshots up to several GiB. Small models (the
   * tiny test models hold ~2 MiB) need a smaller step for the composition to mean anything.
   */
  readonly snapshotStepBytes?: number;
}

interface Snapshot {
  readonly bytes: number;
  readonly buffers: number;
  /** size → tag → count, copied from the live aggregate. */
  readonly bySize: ReadonlyMap<number, ReadonlyMap<string, number>>;
}

const MiB = 2 ** 20;
const EMPTY: Snapshot = { bytes: 0, buffers: 0, bySize: new Map() };

export class GpuBufferTracker {
  /** Stored with every buffer created from now on; set it around each phase ('load', 'generate'…). */
  tag = 'untagged';
  private readonly live = new Map<GPUBuffer, Tracked>();
  // Kept up to date per create/destroy so a snapshot copies distinct (size, tag) pairs, not
  // thousands of buffers.
  private readonly bySize = new Map<number, Map<string, number>>();
  private liveBytes = 0;
  private peak = 0;
  private snapshot: Snapshot = EMPTY;
  private created = 0;
  private destroyed = 0;
  private restore: (() => void) | null = null;
  private readonly snapshotStep: number;

  constructor(options: GpuBufferTrackerOptions = {}) {
    const step = options.snapshotStepBytes ?? 16 * MiB;
    if (!(Number.isFinite(step) && step >= 0)) throw new Error(`GpuBufferTracker: snapshotStepBytes must be ≥ 0, got ${step}`);
    this.snapshotStep = step;
  }

  /** Needs the WebGPU globals (installNodeWebGPU, or a browser). Idempotent. */
  install(): this {
    if (this.restore) return this;
    const g = globalThis as unknown as { GPUDevice?: { prototype: GPUDevice }; GPUBuffer?: { prototype: GPUBuffer } };
    if (!g.GPUDevice || !g.GPUBuffer) throw new Error('GpuBufferTracker: no WebGPU globals (call installNodeWebGPU first)');
    const deviceProto = g.GPUDevice.prototype;
    const bufferProto = g.GPUBuffer.prototype;
    const createBuffer = deviceProto.createBuffer;
    const destroyBuffer = bufferProto.destroy;
    const destroyDevice = deviceProto.destroy;
    const self = this;
    deviceProto.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor): GPUBuffer {
      const b = createBuffer.call(this, d);
      self.add(b, this, d.size);
      return b;
    };
    bufferProto.destroy = function (this: GPUBuffer): undefined {
      self.remove(this);
      return destroyBuffer.call(this);
    };
    deviceProto.destroy = function (this: GPUDevice): undefined {
      for (const [b, t] of self.live) if (t.device === this) self.remove(b);
      return destroyDevice.call(this);
    };
    this.restore = () => {
      deviceProto.createBuffer = createBuffer;
      bufferProto.destroy = destroyBuffer;
      deviceProto.destroy = destroyDevice;
    };
    return this;
  }

  uninstall(): void {
    this.restore?.();
    this.restore = null;
  }

  private add(b: GPUBuffer, device: GPUDevice, size: number): void {
    if (this.live.has(b)) return;
    const tag = this.tag;
    this.live.set(b, { bytes: size, device, tag });
    let tags = this.bySize.get(size);
    if (!tags) this.bySize.set(size, (tags = new Map()));
    tags.set(tag, (tags.get(tag) ?? 0) + 1);
    this.liveBytes += size;
    this.created++;
    if (this.liveBytes > this.peak) {
      this.peak = this.liveBytes;
      const last = this.snapshot.bytes;
      if (this.liveBytes - last >= Math.max(this.snapshotStep, last * 0.01)) this.takeSnapshot();
    }
  }

  private remove(b: GPUBuffer): void {
    const t = this.live.get(b);
    if (!t) return;
    this.live.delete(b);
    const tags = this.bySize.get(t.bytes);
    if (tags) {
      const n = (tags.get(t.tag) ?? 0) - 1;
      if (n > 0) tags.set(t.tag, n);
      else tags.delete(t.tag);
      if (tags.size === 0) this.bySize.delete(t.bytes);
    }
    this.liveBytes -= t.bytes;
    this.destroyed++;
  }

  private takeSnapshot(): void {
    const bySize = new Map<number, ReadonlyMap<string, number>>();
    for (const [size, tags] of this.bySize) bySize.set(size, new Map(tags));
    this.snapshot = { bytes: this.liveBytes, buffers: this.live.size, bySize };
  }

  stats(): GpuBufferStats {
    return { liveBytes: this.liveBytes, liveBuffers: this.live.size, peakBytes: this.peak, created: this.created, destroyed: this.destroyed };
  }

  /** Bytes alive on one device. */
  liveBytesOn(device: GPUDevice): number {
    let n = 0;
    for (const t of this.live.values()) if (t.device === device) n += t.bytes;
    return n;
  }

  /** What was alive at the peak since install() / resetPeak(): totals, bytes per tag, the `top` largest sizes. */
  peakComposition(top = 10): PeakComposition {
    const snap = this.snapshot;
    const byTag = new Map<string, number>();
    const groups: SizeGroup[] = [];
    for (const [size, tags] of snap.bySize) {
      let count = 0;
      for (const [tag, n] of tags) {
        count += n;
        byTag.set(tag, (byTag.get(tag) ?? 0) + n * size);
      }
      groups.push({ size, count, bytes: size * count, byTag: sortedRecord(tags) });
    }
    groups.sort((a, b) => b.bytes - a.bytes || b.size - a.size);
    return {
      bytes: snap.bytes,
      peakBytes: this.peak,
      buffers: snap.buffers,
      sizes: snap.bySize.size,
      byTag: sortedRecord(byTag),
      top: groups.slice(0, Math.max(0, top)),
    };
  }

  /** Starts a new peak, and its composition, from what is alive now (for per-phase peaks). */
  resetPeak(): void {
    this.peak = this.liveBytes;
    this.takeSnapshot();
  }
}

function sortedRecord(m: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
