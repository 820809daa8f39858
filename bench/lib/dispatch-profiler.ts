/**
 * GPU time of every compute dispatch, measured at the WebGPU API from outside onnxruntime-web.
 *
 * Why here and not ORT's own profiler: the app uses ORT's native WebGPU EP ('onnxruntime-web/webgpu'),
 * whose profiler writes its JSON into the wasm module's (absent) file system, and
 * `env.webgpu.profiling` belongs to the older JSEP build only. Any EP, though, reaches the GPU
 * through the WebGPU JS API, so while enabled this wraps GPUCommandEncoder.beginComputePass and
 * hands back a stand-in pass that replays each dispatch in a real pass of its own with
 * `timestampWrites` (begin/end), resolved into a buffer when the encoder finishes. Pipelines are
 * named by their label (ORT labels them by program) or their shader module's label.
 *
 * One pass per dispatch serialises what a shared pass might overlap, so the sum of kernel times is
 * an upper bound of the call's GPU time; its use is the ranking, not the total. Dawn quantises timestamps
 * (its `timestamp_quantization` toggle; 65.536 µs steps on the H100): a kernel shorter than that
 * reads as 0 or one step, so only sums over many dispatches and kernels of milliseconds mean much.
 */

const QUERIES_PER_SET = 4096; // WebGPU's limit on a query set's count

interface Dispatch {
  readonly name: string;
  readonly workgroups: string;
}

interface PendingReadback {
  readonly buffer: GPUBuffer;
  readonly sets: GPUQuerySet[];
  readonly dispatches: Dispatch[];
}

interface EncoderState {
  sets: GPUQuerySet[];
  used: number; // queries used in the last set
  dispatches: Dispatch[];
}

export interface KernelSummary {
  readonly name: string;
  readonly ms: number;
  readonly calls: number;
  readonly share: number;
}

export interface DispatchProfile {
  readonly dispatches: number;
  readonly totalKernelMs: number;
  readonly byKernel: readonly KernelSummary[];
  /** The ten most expensive single dispatches. */
  readonly slowest: readonly { name: string; ms: number; workgroups: string }[];
}

type Ctor<T> = { prototype: T };

export class DispatchProfiler {
  enabled = false;
  private device: GPUDevice | null = null;
  private readonly names = new WeakMap<object, string>();
  private readonly encoders = new WeakMap<GPUCommandEncoder, EncoderState>();
  private pending: PendingReadback[] = [];
  private readonly times: { name: string; ms: number; workgroups: string }[] = [];
  private installed = false;
  /** Why profiling could not run (no timestamp-query), if so. */
  unavailable: string | null = null;

  /** Patches the WebGPU prototypes (globals from Dawn); harmless while `enabled` is false. */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    const g = globalThis as unknown as {
      GPUDevice: Ctor<GPUDevice>;
      GPUCommandEncoder: Ctor<GPUCommandEncoder>;
    };
    const self = this;
    const dev = g.GPUDevice.prototype;
    const origModule = dev.createShaderModule;
    dev.createShaderModule = function (this: GPUDevice, d: GPUShaderModuleDescriptor) {
      const m = origModule.call(this, d);
      if (d.label) self.names.set(m, d.label);
      return m;
    };
    const nameOf = (d: GPUComputePipelineDescriptor): string =>
      d.label || self.names.get(d.compute.module) || d.compute.entryPoint || 'unlabeled';
    const origAsync = dev.createComputePipelineAsync;
    dev.createComputePipelineAsync = async function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
      const p = await origAsync.call(this, d);
      self.names.set(p, nameOf(d));
      return p;
    };
    const origSync = dev.createComputePipeline;
    dev.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
      const p = origSync.call(this, d);
      self.names.set(p, nameOf(d));
      return p;
    };

    const enc = g.GPUCommandEncoder.prototype;
    const origBegin = enc.beginComputePass;
    enc.beginComputePass = function (this: GPUCommandEncoder, d?: GPUComputePassDescriptor) {
      if (!self.enabled || !self.device || d?.timestampWrites) return origBegin.call(this, d);
      return self.standInPass(this, origBegin) as unknown as GPUComputePassEncoder;
    };
    const origFinish = enc.finish;
    enc.finish = function (this: GPUCommandEncoder, d?: GPUCommandBufferDescriptor) {
      const st = self.encoders.get(this);
      if (st && st.dispatches.length > 0) {
        self.encoders.delete(this);
        const n = st.dispatches.length * 2;
        const bytes = n * 8;
        const resolve = self.device!.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
        const read = self.device!.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        let offset = 0;
        st.sets.forEach((set, i) => {
          const count = i === st.sets.length - 1 ? st.used : QUERIES_PER_SET;
          this.resolveQuerySet(set, 0, count, resolve, offset * 8);
          offset += count;
        });
        this.copyBufferToBuffer(resolve, 0, read, 0, bytes);
        self.pending.push({ buffer: read, sets: st.sets, dispatches: st.dispatches });
        // `resolve` may be destroyed only after the submit; dropping it lets GC release it.
      }
      return origFinish.call(this, d);
    };
  }

  /** Starts timing dispatches on this device (it must have 'timestamp-query'). */
  start(device: GPUDevice): boolean {
    if (!device.features.has('timestamp-query')) {
      this.unavailable = "the device has no 'timestamp-query' feature";
      return false;
    }
    this.device = device;
    this.enabled = true;
    return true;
  }

  stop(): void {
    this.enabled = false;
  }

  private slot(encoder: GPUCommandEncoder): { set: GPUQuerySet; index: number; st: EncoderState } {
    let st = this.encoders.get(encoder);
    if (!st) {
      st = { sets: [], used: QUERIES_PER_SET, dispatches: [] };
      this.encoders.set(encoder, st);
    }
    if (st.used + 2 > QUERIES_PER_SET) {
      st.sets.push(this.device!.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }));
      st.used = 0;
    }
    const index = st.used;
    st.used += 2;
    return { set: st.sets[st.sets.length - 1], index, st };
  }

  private standInPass(encoder: GPUCommandEncoder, begin: GPUCommandEncoder['beginComputePass']): object {
    const self = this;
    let pipeline: GPUComputePipeline | null = null;
    const groups = new Map<number, { group: GPUBindGroup | null; offsets?: Uint32Array }>();
    const replay = (record: (p: GPUComputePassEncoder) => void, workgroups: string): void => {
      const { set, index, st } = self.slot(encoder);
      const p = begin.call(encoder, { timestampWrites: { querySet: set, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } });
      if (pipeline) p.setPipeline(pipeline);
      for (const [i, b] of groups) {
        if (b.offsets) p.setBindGroup(i, b.group, b.offsets);
        else p.setBindGroup(i, b.group);
      }
      record(p);
      p.end();
      st.dispatches.push({ name: (pipeline && self.names.get(pipeline)) || 'unlabeled', workgroups });
    };
    return {
      label: '',
      setPipeline(p: GPUComputePipeline) {
        pipeline = p;
      },
      setBindGroup(index: number, group: GPUBindGroup | null, offsets?: Uint32Array | Iterable<number>, start?: number, length?: number) {
        let copy: Uint32Array | undefined;
        if (offsets instanceof Uint32Array) copy = offsets.slice(start ?? 0, (start ?? 0) + (length ?? offsets.length - (start ?? 0)));
        else if (offsets) copy = Uint32Array.from(offsets);
        groups.set(index, { group, offsets: copy && copy.length ? copy : undefined });
      },
      dispatchWorkgroups(x: number, y = 1, z = 1) {
        replay((p) => p.dispatchWorkgroups(x, y, z), `${x}x${y}x${z}`);
      },
      dispatchWorkgroupsIndirect(buffer: GPUBuffer, offset: number) {
        replay((p) => p.dispatchWorkgroupsIndirect(buffer, offset), 'indirect');
      },
      end() {},
      pushDebugGroup() {},
      popDebugGroup() {},
      insertDebugMarker() {},
    };
  }

  /** Reads back every finished encoder's timestamps; call after queue.onSubmittedWorkDone(). */
  async collect(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      await p.buffer.mapAsync(GPUMapMode.READ);
      const t = new BigInt64Array(p.buffer.getMappedRange().slice(0));
      p.buffer.unmap();
      p.buffer.destroy();
      for (const s of p.sets) s.destroy();
      p.dispatches.forEach((d, i) => {
        const ns = Number(t[2 * i + 1] - t[2 * i]);
        // Both zero: the command buffer was never submitted; negative: a wrapped counter. A zero
        // duration is real: Dawn quantises timestamps (65.536 µs seen on NVIDIA), short kernels read 0.
        if ((t[2 * i] !== 0n || t[2 * i + 1] !== 0n) && ns >= 0) this.times.push({ name: d.name, ms: ns / 1e6, workgroups: d.workgroups });
      });
    }
  }

  report(): DispatchProfile {
    const by = new Map<string, { ms: number; calls: number }>();
    let total = 0;
    for (const t of this.times) {
      const e = by.get(t.name) ?? { ms: 0, calls: 0 };
      e.ms += t.ms;
      e.calls++;
      by.set(t.name, e);
      total += t.ms;
    }
    const byKernel = [...by.entries()]
      .map(([name, v]) => ({ name, ms: v.ms, calls: v.calls, share: total ? v.ms / total : 0 }))
      .sort((a, b) => b.ms - a.ms);
    const slowest = [...this.times].sort((a, b) => b.ms - a.ms).slice(0, 10);
    return { dispatches: this.times.length, totalKernelMs: total, byKernel, slowest };
  }
}
