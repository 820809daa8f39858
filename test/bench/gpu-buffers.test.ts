// GpuBufferTracker against a fake GPUDevice/GPUBuffer pair: the tracker only wraps the two
// prototypes' methods, so no adapter is needed and sizes can be GiB without allocating anything.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GpuBufferTracker } from '../../bench/lib/gpu-buffers';

const MiB = 2 ** 20;

class FakeBuffer {
  destroyed = false;
  constructor(readonly size: number) {}
  destroy(): undefined {
    this.destroyed = true;
    return undefined;
  }
}

class FakeDevice {
  destroyed = false;
  createBuffer(d: GPUBufferDescriptor): FakeBuffer {
    return new FakeBuffer(d.size);
  }
  destroy(): undefined {
    this.destroyed = true;
    return undefined;
  }
}

type Globals = { GPUDevice?: unknown; GPUBuffer?: unknown };
const g = globalThis as unknown as Globals;
let saved: { device: PropertyDescriptor | undefined; buffer: PropertyDescriptor | undefined };
let tracker: GpuBufferTracker | null = null;

beforeEach(() => {
  saved = { device: Object.getOwnPropertyDescriptor(g, 'GPUDevice'), buffer: Object.getOwnPropertyDescriptor(g, 'GPUBuffer') };
  Object.defineProperty(g, 'GPUDevice', { value: FakeDevice, configurable: true, writable: true });
  Object.defineProperty(g, 'GPUBuffer', { value: FakeBuffer, configurable: true, writable: true });
});

afterEach(() => {
  tracker?.uninstall();
  tracker = null;
  for (const [name, d] of [['GPUDevice', saved.device], ['GPUBuffer', saved.buffer]] as const) {
    if (d) Object.defineProperty(g, name, d);
    else delete g[name];
  }
});

function setUp(options?: ConstructorParameters<typeof GpuBufferTracker>[0]): { t: GpuBufferTracker; device: GPUDevice; make: (bytes: number) => GPUBuffer } {
  const t = new GpuBufferTracker(options).install();
  tracker = t;
  // The fake stands in for the real classes; only createBuffer/destroy are called on it.
  const device = new FakeDevice() as unknown as GPUDevice;
  return { t, device, make: (bytes) => device.createBuffer({ size: bytes, usage: 0 }) };
}

describe('GpuBufferTracker', () => {
  it('keeps the composition of the peak after buffers are destroyed and smaller ones created', () => {
    const { t, make } = setUp();
    const a = make(100 * MiB);
    make(100 * MiB);
    make(100 * MiB);
    make(50 * MiB);
    a.destroy();
    make(30 * MiB);
    expect(t.stats()).toMatchObject({ liveBytes: 280 * MiB, liveBuffers: 4, peakBytes: 350 * MiB, created: 5, destroyed: 1 });
    const c = t.peakComposition();
    expect(c).toMatchObject({ bytes: 350 * MiB, peakBytes: 350 * MiB, buffers: 4, sizes: 2, byTag: { untagged: 350 * MiB } });
    expect(c.top).toEqual([
      { size: 100 * MiB, count: 3, bytes: 300 * MiB, byTag: { untagged: 3 } },
      { size: 50 * MiB, count: 1, bytes: 50 * MiB, byTag: { untagged: 1 } },
    ]);
  });

  it('sums bytes by the tag set when each buffer was created, and per size', () => {
    const { t, make } = setUp();
    t.tag = 'load';
    make(200 * MiB);
    make(64 * MiB);
    t.tag = 'generate';
    const tmp = make(64 * MiB);
    make(64 * MiB);
    make(32 * MiB);
    // Destroying and re-tagging after the peak must not touch its composition.
    tmp.destroy();
    t.tag = 'second';
    make(1 * MiB);
    const c = t.peakComposition(2);
    expect(c.bytes).toBe(424 * MiB);
    expect(c.byTag).toEqual({ load: 264 * MiB, generate: 160 * MiB });
    expect(Object.keys(c.byTag)).toEqual(['load', 'generate']);
    expect(c.sizes).toBe(3);
    expect(c.top).toEqual([
      { size: 200 * MiB, count: 1, bytes: 200 * MiB, byTag: { load: 1 } },
      { size: 64 * MiB, count: 3, bytes: 192 * MiB, byTag: { generate: 2, load: 1 } },
    ]);
  });

  it('snapshots only after max(step, 1 %) of growth, so the composition may lag the exact peak', () => {
    const { t, make } = setUp();
    make(2048 * MiB);
    make(16 * MiB); // 16 MiB < 1 % of 2 GiB (20.48 MiB): no snapshot
    expect(t.peakComposition()).toMatchObject({ bytes: 2048 * MiB, peakBytes: 2064 * MiB, buffers: 1 });
    make(16 * MiB); // 32 MiB above the snapshot
    expect(t.peakComposition()).toMatchObject({ bytes: 2080 * MiB, peakBytes: 2080 * MiB, buffers: 3, sizes: 2 });

    const small = setUp({ snapshotStepBytes: 0 });
    small.make(1000);
    small.make(24);
    expect(small.t.peakComposition()).toMatchObject({ bytes: 1024, peakBytes: 1024, buffers: 2, sizes: 2 });
  });

  it('resetPeak starts the composition from what is alive now', () => {
    const { t, make } = setUp();
    const big = make(300 * MiB);
    make(20 * MiB);
    big.destroy();
    t.resetPeak();
    expect(t.peakComposition()).toMatchObject({ bytes: 20 * MiB, peakBytes: 20 * MiB, buffers: 1, top: [{ size: 20 * MiB, count: 1 }] });
    t.tag = 'next';
    make(40 * MiB);
    const c = t.peakComposition();
    expect(c).toMatchObject({ bytes: 60 * MiB, peakBytes: 60 * MiB, buffers: 2, byTag: { next: 40 * MiB, untagged: 20 * MiB } });
  });

  it('counts a destroyed device as freeing its buffers, and uninstall restores the prototypes', () => {
    const create = FakeDevice.prototype.createBuffer;
    const { t, device, make } = setUp();
    expect(FakeDevice.prototype.createBuffer).not.toBe(create);
    const other = new FakeDevice() as unknown as GPUDevice;
    make(10 * MiB);
    other.createBuffer({ size: 5 * MiB, usage: 0 });
    expect(t.liveBytesOn(device)).toBe(10 * MiB);
    device.destroy();
    expect(t.stats()).toMatchObject({ liveBytes: 5 * MiB, liveBuffers: 1, destroyed: 1 });
    t.uninstall();
    expect(FakeDevice.prototype.createBuffer).toBe(create);
    other.createBuffer({ size: 1 * MiB, usage: 0 });
    expect(t.stats().created).toBe(2);
  });

  it('rejects a negative snapshot step', () => {
    expect(() => new GpuBufferTracker({ snapshotStepBytes: -1 })).toThrow(/snapshotStepBytes/);
  });
});
