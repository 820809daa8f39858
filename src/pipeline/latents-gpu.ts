/**
 * The WebGPU executor of scheduler plans: the latents, the UNet input and the history buffers live
 * on ORT's GPUDevice; each step is a handful of shaders/lincomb.wgsl dispatches reading the UNet's
 * output buffer in place (ORT `preferredOutputLocation: 'gpu-buffer'`). Nothing but the 4×8-bit
 * preview (h·w·4 bytes) is read back per step. See docs/pipeline.md.
 *
 * GpuKernels compiles the two pipelines once per device (owned by the pipeline); GpuExecutor holds
 * one run's buffers and is disposed when the run ends, cancelled or failed.
 */
import lincombWgsl from '../../shaders/lincomb.wgsl?raw';
import previewWgsl from '../../shaders/preview.wgsl?raw';
import type { RGBDPanorama } from '../panorama/types';
import { cpuTensor, gpuTensor, type RtTensor } from '../runtime/ort';
import { PipelineError } from '../model/errors';
import { checkUnetOutputs, unetCalls, type LatentExecutor, type LatentShape } from './latents';
import { expandEps } from './lincomb';
import { previewFromPacked, previewMatrix } from './preview';
import type { Plan, Slot, StepPlan, Term } from './schedulers/common';

const MAX_TERMS = 8;
const MAX_INPUTS = 4;
const WORKGROUP = 64;
/** Uniform blocks are written at 256-byte offsets (minUniformBufferOffsetAlignment's maximum). */
const UNIFORM_STRIDE = 256;
/** Dispatches per submit we reserve uniform space for (unet input ×2, ops, x̂0, preview, VAE input). */
const UNIFORM_SLOTS = 16;
const PARAMS_BYTES = 16 + 3 * 32;

export class GpuKernels {
  readonly lincomb: GPUComputePipeline;
  readonly preview: GPUComputePipeline;
  /** Bound to unused input bindings (a binding cannot be left empty). */
  readonly dummy: GPUBuffer;

  constructor(readonly device: GPUDevice) {
    const make = (code: string, label: string): GPUComputePipeline =>
      device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
    this.lincomb = make(lincombWgsl, 'ldm3d lincomb');
    this.preview = make(previewWgsl, 'ldm3d preview');
    this.dummy = device.createBuffer({ label: 'ldm3d dummy', size: 16, usage: GPUBufferUsage.STORAGE });
  }

  dispose(): void {
    this.dummy.destroy();
  }
}

/** A term resolved to a buffer and an element offset. */
interface GpuTerm {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly c: number;
}

export class GpuExecutor implements LatentExecutor {
  private readonly device: GPUDevice;
  private readonly n: number;
  private readonly batch: number;
  private readonly calls: number;
  private readonly x: GPUBuffer;
  /** Split guidance: the two UNet outputs copied side by side, [uncond; text], as one batch-2 output. */
  private readonly eps2: GPUBuffer | null;
  private readonly unetIn: GPUBuffer;
  private readonly vaeIn: GPUBuffer;
  private readonly x0: GPUBuffer;
  private readonly previewOut: GPUBuffer;
  private readonly previewRead: GPUBuffer;
  private readonly uniforms: GPUBuffer;
  private readonly slots = new Map<Slot, GPUBuffer>();
  private readonly owned: GPUBuffer[] = [];
  private readonly params = new ArrayBuffer(UNIFORM_SLOTS * UNIFORM_STRIDE);
  private encoder: GPUCommandEncoder | null = null;
  private used = 0;
  private disposed = false;

  /** Use `GpuExecutor.create`: allocation is checked for out-of-memory. */
  private constructor(
    private readonly kernels: GpuKernels,
    private readonly shape: LatentShape,
    plan: Plan,
    private readonly guidance: number | null,
    split: boolean,
  ) {
    this.device = kernels.device;
    this.n = shape.channels * shape.height * shape.width;
    ({ batch: this.batch, calls: this.calls } = unetCalls(guidance, split));
    const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buf = (label: string, bytes: number, usage: number = STORAGE): GPUBuffer => {
      const b = this.device.createBuffer({ label: `ldm3d ${label}`, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
      this.owned.push(b);
      return b;
    };
    this.x = buf('x', 4 * this.n);
    this.unetIn = buf('unet input', 4 * this.batch * this.n);
    this.vaeIn = buf('vae input', 4 * this.n);
    this.x0 = buf('x0', 4 * this.n);
    const hw = shape.height * shape.width;
    this.previewOut = buf('preview', 4 * hw);
    this.previewRead = buf('preview readback', 4 * hw, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.uniforms = buf('params', UNIFORM_SLOTS * UNIFORM_STRIDE, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    for (const s of plan.slots) this.slots.set(s, buf(`slot ${s}`, 4 * this.n));
    this.eps2 = this.calls === 2 ? buf('eps [uncond; text]', 4 * 2 * this.n) : null;
  }

  /** `split`: guidance as two batch-1 UNet calls (LoadOptions.guidanceBatch); ignored without guidance. */
  static async create(kernels: GpuKernels, shape: LatentShape, plan: Plan, initial: Float32Array, guidance: number | null, split = false): Promise<GpuExecutor> {
    const device = kernels.device;
    device.pushErrorScope('out-of-memory');
    const ex = new GpuExecutor(kernels, shape, plan, guidance, split);
    const oom = await device.popErrorScope();
    if (oom) {
      ex.dispose();
      throw new PipelineError('out-of-memory', `not enough GPU memory for the latents of a ${shape.height * 8}×${shape.width * 8} run: ${oom.message}`);
    }
    if (initial.length !== ex.n) throw new RangeError(`initial latents have ${initial.length} elements, expected ${ex.n}`);
    // prepare_latents: x = latents · init_noise_sigma, rounded to float32 like torch.
    const x = new Float32Array(ex.n);
    for (let i = 0; i < ex.n; i++) x[i] = initial[i] * plan.initNoiseSigma;
    device.queue.writeBuffer(ex.x, 0, x);
    return ex;
  }

  private dims(batch: number): number[] {
    return [batch, this.shape.channels, this.shape.height, this.shape.width];
  }

  embeddings(data: Float32Array, dims: readonly number[]): readonly RtTensor[] {
    const upload = (part: Float32Array, partDims: readonly number[]): RtTensor => {
      const b = this.device.createBuffer({ label: 'ldm3d text embeddings', size: Math.ceil(part.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      this.owned.push(b);
      this.device.queue.writeBuffer(b, 0, part);
      return gpuTensor(b, 'float32', partDims);
    };
    if (this.calls === 1) return [upload(data, dims)];
    const half = data.length / 2;
    const one = [1, ...dims.slice(1)];
    return [upload(data.subarray(0, half), one), upload(data.subarray(half), one)];
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'ldm3d step' });
    return this.encoder;
  }

  /** Encodes out[outOffset..+n] ← Σ terms; the uniforms are written at submit time. */
  private lincomb(out: GPUBuffer, outOffset: number, n: number, terms: readonly GpuTerm[]): void {
    if (terms.length > MAX_TERMS) throw new Error(`lincomb: ${terms.length} terms, at most ${MAX_TERMS}`);
    if (this.used >= UNIFORM_SLOTS) throw new Error('lincomb: too many dispatches in one submit');
    const inputs: GPUBuffer[] = [];
    const src: number[] = [];
    for (const t of terms) {
      if (t.buffer === out) {
        src.push(0);
        continue;
      }
      let k = inputs.indexOf(t.buffer);
      if (k < 0) {
        if (inputs.length === MAX_INPUTS) throw new Error(`lincomb: more than ${MAX_INPUTS} distinct input buffers`);
        k = inputs.push(t.buffer) - 1;
      }
      src.push(k + 1);
    }
    const slot = this.used++;
    const base = slot * UNIFORM_STRIDE;
    const groupsTotal = Math.ceil(n / WORKGROUP);
    const gx = Math.min(groupsTotal, 65535);
    const gy = Math.ceil(groupsTotal / gx);
    const u32 = new Uint32Array(this.params, base, PARAMS_BYTES / 4);
    const f32 = new Float32Array(this.params, base, PARAMS_BYTES / 4);
    u32.fill(0);
    u32[0] = n;
    u32[1] = outOffset;
    u32[2] = terms.length;
    u32[3] = gx * WORKGROUP;
    terms.forEach((t, k) => {
      u32[4 + k] = src[k];
      u32[12 + k] = t.offset;
      f32[20 + k] = t.c;
    });
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.uniforms, offset: base, size: PARAMS_BYTES } },
      { binding: 1, resource: { buffer: out } },
    ];
    for (let k = 0; k < MAX_INPUTS; k++) entries.push({ binding: 2 + k, resource: { buffer: inputs[k] ?? this.kernels.dummy } });
    const pass = this.enc().beginComputePass();
    pass.setPipeline(this.kernels.lincomb);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: this.kernels.lincomb.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(gx, gy);
    pass.end();
  }

  /** Writes this submit's uniforms and submits the encoded work. */
  private submit(): void {
    if (!this.encoder) return;
    this.device.queue.writeBuffer(this.uniforms, 0, this.params, 0, this.used * UNIFORM_STRIDE);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.used = 0;
  }

  private resolve(terms: readonly Term[], out: GPUBuffer): GpuTerm[] {
    return expandEps(
      terms,
      this.guidance,
      (slot): { buffer: GPUBuffer; offset: number } => ({ buffer: this.buffer(slot), offset: 0 }),
      { buffer: out, offset: 0 },
      { buffer: out, offset: this.n },
    ).map(({ ref, c }) => ({ buffer: ref.buffer, offset: ref.offset, c }));
  }

  private buffer(slot: Slot): GPUBuffer {
    if (slot === 'x') return this.x;
    const b = this.slots.get(slot);
    if (!b) throw new Error(`plan uses slot "${slot}" it did not declare`);
    return b;
  }

  unetInput(step: StepPlan): RtTensor {
    for (let b = 0; b < this.batch; b++) this.lincomb(this.unetIn, b * this.n, this.n, [{ buffer: this.x, offset: 0, c: step.inputScale }]);
    this.submit();
    return gpuTensor(this.unetIn, 'float32', this.dims(this.batch));
  }

  async apply(step: StepPlan, unetOutputs: readonly RtTensor[], preview: boolean): Promise<RGBDPanorama | null> {
    checkUnetOutputs(unetOutputs, this.calls, this.batch, this.n);
    let out = unetOutputs[0].gpuBuffer as GPUBuffer;
    if (this.eps2) {
      // Copied (not read in place) so the batched path's dispatches run unchanged: one eps buffer
      // keeps every op within MAX_INPUTS distinct inputs, and the maths is the same to the bit.
      const enc = this.enc();
      enc.copyBufferToBuffer(out, 0, this.eps2, 0, 4 * this.n);
      enc.copyBufferToBuffer(unetOutputs[1].gpuBuffer as GPUBuffer, 0, this.eps2, 4 * this.n, 4 * this.n);
      out = this.eps2;
    }
    const hw = this.shape.height * this.shape.width;
    if (preview) {
      this.lincomb(this.x0, 0, this.n, this.resolve(step.x0, out));
      this.encodePreview(hw);
    }
    for (const op of step.ops) this.lincomb(this.buffer(op.out), 0, this.n, this.resolve(op.terms, out));
    this.submit();
    // One sync per step: progress and cancellation then follow the GPU, and the queue never holds
    // more than one step of work (a UNet step is ~1 s at full size; this wait costs ~nothing).
    if (!preview) {
      await this.device.queue.onSubmittedWorkDone();
      return null;
    }
    await this.previewRead.mapAsync(GPUMapMode.READ);
    try {
      return previewFromPacked(new Uint8Array(this.previewRead.getMappedRange().slice(0)), this.shape.height, this.shape.width);
    } finally {
      this.previewRead.unmap();
    }
  }

  private encodePreview(hw: number): void {
    const slot = this.used++;
    const base = slot * UNIFORM_STRIDE;
    const u32 = new Uint32Array(this.params, base, 24);
    const f32 = new Float32Array(this.params, base, 24);
    u32.fill(0);
    u32[0] = hw;
    const { m, bias } = previewMatrix();
    f32.set(m, 4);
    f32.set(bias, 20);
    const pass = this.enc().beginComputePass();
    pass.setPipeline(this.kernels.preview);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: this.kernels.preview.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.uniforms, offset: base, size: 96 } },
          { binding: 1, resource: { buffer: this.x0 } },
          { binding: 2, resource: { buffer: this.previewOut } },
        ],
      }),
    );
    pass.dispatchWorkgroups(Math.ceil(hw / WORKGROUP));
    pass.end();
    this.enc().copyBufferToBuffer(this.previewOut, 0, this.previewRead, 0, 4 * hw);
  }

  vaeInput(scalingFactor: number): RtTensor {
    this.lincomb(this.vaeIn, 0, this.n, [{ buffer: this.x, offset: 0, c: 1 / scalingFactor }]);
    this.submit();
    return gpuTensor(this.vaeIn, 'float32', this.dims(1));
  }

  async vaeInputCpu(scalingFactor: number): Promise<RtTensor> {
    this.vaeInput(scalingFactor);
    return cpuTensor('float32', await this.read(this.vaeIn), this.dims(1));
  }

  readX(): Promise<Float32Array> {
    return this.read(this.x);
  }

  private async read(buffer: GPUBuffer): Promise<Float32Array> {
    const read = this.device.createBuffer({ size: 4 * this.n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, read, 0, 4 * this.n);
    this.device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const copy = new Float32Array(read.getMappedRange().slice(0));
    read.destroy();
    return copy;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder = null;
    // Work already submitted still completes: WebGPU defers the free of a destroyed buffer.
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
