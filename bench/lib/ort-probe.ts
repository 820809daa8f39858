/**
 * Watches onnxruntime-web from the outside, so the benchmark runs the app's own pipeline code
 * unchanged: InferenceSession.create is wrapped (creation time per graph, optional extra session
 * options for an experiment), and so is every session's run (call times, input shapes, and in
 * "sync" mode the time until the GPU has finished the call's work, via queue.onSubmittedWorkDone).
 *
 * Sessions are named by their inputs (the export's I/O names: input_ids → text_encoder, sample +
 * timestep → unet, latent_sample → vae_decoder).
 */
import type * as Ort from 'onnxruntime-web';

type OrtModule = typeof Ort;
type Session = Ort.InferenceSession;
type CreateOptions = Ort.InferenceSession.SessionOptions;
type ProfilingData = Ort.Env.WebGpuProfilingData;

export interface CreateRecord {
  readonly name: string;
  readonly ms: number;
  readonly inputNames: readonly string[];
  readonly extraOptions: boolean;
}

export interface RunRecord {
  readonly name: string;
  readonly index: number;
  /** performance.now() when run() was called. */
  readonly start: number;
  /** When run() resolved (the CPU side: dispatches recorded and submitted). */
  readonly resolved: number;
  /** When the GPU had finished everything submitted so far (sync mode only). */
  readonly gpuDone: number | null;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  readonly profiled: boolean;
}

export interface KernelTotal {
  readonly kernelType: string;
  readonly ms: number;
  readonly calls: number;
}

export function sessionName(inputNames: readonly string[]): string {
  if (inputNames.includes('input_ids')) return 'text_encoder';
  if (inputNames.includes('sample') && inputNames.includes('timestep')) return 'unet';
  if (inputNames.includes('latent_sample')) return 'vae_decoder';
  if (inputNames.includes('sample')) return 'vae_encoder';
  return inputNames.join('+');
}

export class OrtProbe {
  readonly creates: CreateRecord[] = [];
  readonly runs: RunRecord[] = [];
  /** Await GPU completion after every run (adds no work, but removes CPU/GPU overlap between calls). */
  sync = false;
  private device: GPUDevice | null = null;
  private profileNext: string | null = null;
  private readonly kernels: ProfilingData[] = [];
  private profiledRunKernels: ProfilingData[] | null = null;
  private readonly counts = new Map<string, number>();

  /**
   * @param ort the very module object the app's runtime imports (same specifier), so the wrapped
   *            InferenceSession is the one the pipeline uses.
   * @param extraUnetOptions merged into the UNet's session options (experiments); the UNet is
   *            recognised at creation by its external-data files, the only graph that has them.
   */
  constructor(
    private readonly ort: OrtModule,
    private readonly extraUnetOptions: Partial<CreateOptions> | null = null,
  ) {
    const IS = ort.InferenceSession as unknown as { create: (...a: unknown[]) => Promise<Session> };
    const origCreate = IS.create.bind(ort.InferenceSession);
    IS.create = async (...args: unknown[]): Promise<Session> => {
      let extra = false;
      const optIndex = args.findIndex((a, i) => i > 0 && typeof a === 'object' && a !== null && !ArrayBuffer.isView(a));
      const opts = (optIndex >= 0 ? args[optIndex] : undefined) as CreateOptions | undefined;
      if (this.extraUnetOptions && opts?.externalData && opts.externalData.length > 0) {
        args[optIndex] = { ...opts, ...this.extraUnetOptions };
        extra = true;
      }
      const t0 = performance.now();
      const s = await origCreate(...args);
      const ms = performance.now() - t0;
      const name = sessionName(s.inputNames);
      this.creates.push({ name, ms, inputNames: [...s.inputNames], extraOptions: extra });
      this.wrapRun(s, name);
      return s;
    };
  }

  private wrapRun(s: Session, name: string): void {
    const orig = s.run.bind(s) as (...a: unknown[]) => Promise<Session.ReturnType>;
    const wrapped = async (...args: unknown[]): Promise<Session.ReturnType> => {
      const feeds = args[0] as Record<string, Ort.Tensor>;
      const shapes: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(feeds)) shapes[k] = [...v.dims];
      const index = this.counts.get(name) ?? 0;
      this.counts.set(name, index + 1);
      const profiled = this.profileNext === name;
      if (profiled) {
        this.profileNext = null;
        this.profiledRunKernels = [];
        this.ort.env.webgpu.profiling = { mode: 'default', ondata: (d) => this.profiledRunKernels?.push(d) };
      }
      const start = performance.now();
      const out = await orig(...args);
      const resolved = performance.now();
      let gpuDone: number | null = null;
      if (this.sync || profiled) {
        const dev = await this.gpuDevice();
        await dev?.queue.onSubmittedWorkDone();
        gpuDone = performance.now();
      }
      if (profiled) {
        // The timestamps are read back asynchronously after the work is done; give them a moment.
        await new Promise((r) => setTimeout(r, 500));
        this.ort.env.webgpu.profiling = { mode: 'off' };
        this.kernels.push(...(this.profiledRunKernels ?? []));
        this.profiledRunKernels = null;
      }
      this.runs.push({ name, index, start, resolved, gpuDone, shapes, profiled });
      return out;
    };
    (s as unknown as { run: typeof wrapped }).run = wrapped;
  }

  async gpuDevice(): Promise<GPUDevice | null> {
    if (this.device) return this.device;
    try {
      this.device = (await this.ort.env.webgpu.device) as GPUDevice;
    } catch {
      this.device = null;
    }
    return this.device;
  }

  /** Profile the next call of this session with onnxruntime-web's WebGPU kernel timestamps. */
  profileNextCall(name: string): void {
    this.profileNext = name;
  }

  /** Kernel time of the profiled call(s) by op type, largest first. */
  kernelTotals(): { byType: KernelTotal[]; byProgram: KernelTotal[]; kernels: number; totalMs: number } {
    const add = (m: Map<string, { ms: number; calls: number }>, k: string, ms: number): void => {
      const e = m.get(k) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      m.set(k, e);
    };
    const byType = new Map<string, { ms: number; calls: number }>();
    const byProgram = new Map<string, { ms: number; calls: number }>();
    let total = 0;
    for (const k of this.kernels) {
      // Timestamps are in nanoseconds.
      const ms = (k.endTime - k.startTime) / 1e6;
      total += ms;
      add(byType, k.kernelType, ms);
      add(byProgram, `${k.kernelType}:${k.programName}`, ms);
    }
    const sorted = (m: Map<string, { ms: number; calls: number }>): KernelTotal[] =>
      [...m.entries()].map(([kernelType, v]) => ({ kernelType, ...v })).sort((a, b) => b.ms - a.ms);
    return { byType: sorted(byType), byProgram: sorted(byProgram).slice(0, 40), kernels: this.kernels.length, totalMs: total };
  }

  clearRuns(): void {
    this.runs.length = 0;
  }
}
