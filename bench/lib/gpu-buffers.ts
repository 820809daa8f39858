/**
 * Counts the GPU buffers alive on every GPUDevice, from JavaScript: wraps GPUDevice.createBuffer
 * and GPUBuffer.destroy. onnxruntime-web's WebGPU EP allocates through the same JS objects
 * (Emscripten's WebGPU bindings call device.createBuffer), so this sees ORT's buffer cache too,
 * on any adapter (SwiftShader included, where nvidia-smi has nothing to say). A buffer dropped
 * without destroy() stays counted until its device is destroyed, which is also when its memory is
 * really freed.
 */
interface Tracked {
  readonly bytes: number;
  readonly device: GPUDevice;
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

export class GpuBufferTracker {
  private readonly live = new Map<GPUBuffer, Tracked>();
  private liveBytes = 0;
  private peak = 0;
  private created = 0;
  private destroyed = 0;
  private restore: (() => void) | null = null;

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
    this.live.set(b, { bytes: size, device });
    this.liveBytes += size;
    this.created++;
    if (this.liveBytes > this.peak) this.peak = this.liveBytes;
  }

  private remove(b: GPUBuffer): void {
    const t = this.live.get(b);
    if (!t) return;
    this.live.delete(b);
    this.liveBytes -= t.bytes;
    this.destroyed++;
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

  /** Starts a new peak from what is alive now (for per-phase peaks). */
  resetPeak(): void {
    this.peak = this.liveBytes;
  }
}
