/**
 * Watches onnxruntime-web from the outside, so the benchmark runs the app's own pipeline code
 * unchanged: InferenceSession.create is wrapped (creation time per graph, optional extra session
 * options for an experiment), and so is every session's run (call times, input shapes, and in
 * "sync" mode the time until the GPU has finished the call's work, via queue.onSubmittedWorkDone).
 *
 * Sessions are named by their inputs (the export's I/O names: input_ids → text_encoder, sample +
 * timestep → unet, latent_sample → vae_decoder).
 */
import type * as Ort from 'onnxruntime-web/webgpu';

type OrtModule = typeof Ort;
type Session = Ort.InferenceSession;
type CreateOptions = Ort.InferenceSession.SessionOptions;

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
  /** The device the sessions run on (from the webgpu EP's options), for GPU completion waits. */
  device: GPUDevice | null = null;
  /** Called around one chosen run (profiling); the run is marked `profiled` and left out of medians. */
  private around: { name: string; before: () => void; after: () => Promise<void> } | null = null;
  private readonly counts = new Map<string, number>();

  /**
   * @param ort the very module object the app's runtime imports (same specifier), so the wrapped
   *            InferenceSession is the one the pipeline uses.
   * @param extraUnetOptions merged into the UNet's session options (experiments); the UNet is
   *            recognised at creation by its external-data files, the only graph that has them.
   * @param extraEpOptions merged into the 'webgpu' execution-provider entry of EVERY session (e.g.
   *            storageBufferCacheMode: the buffer manager belongs to the device, not one session).
   */
  constructor(
    ort: OrtModule,
    private readonly extraUnetOptions: Partial<CreateOptions> | null = null,
    private readonly extraEpOptions: Record<string, unknown> | null = null,
  ) {
    const IS = ort.InferenceSession as unknown as { create: (...a: unknown[]) => Promise<Session> };
    const origCreate = IS.create.bind(ort.InferenceSession);
    IS.create = async (...args: unknown[]): Promise<Session> => {
      let extra = false;
      const optIndex = args.findIndex((a, i) => i > 0 && typeof a === 'object' && a !== null && !ArrayBuffer.isView(a));
      const opts = (optIndex >= 0 ? args[optIndex] : undefined) as CreateOptions | undefined;
      for (const ep of opts?.executionProviders ?? []) {
        const d = typeof ep === 'object' ? (ep as { device?: GPUDevice }).device : undefined;
        if (d) this.device = d;
      }
      if (opts && this.extraUnetOptions && opts.externalData && opts.externalData.length > 0) {
        args[optIndex] = { ...opts, ...this.extraUnetOptions };
        extra = true;
      }
      if (opts && this.extraEpOptions) {
        const o = args[optIndex] as CreateOptions;
        const eps = (o.executionProviders ?? []).map((ep) =>
          typeof ep === 'object' && ep.name === 'webgpu' ? ({ ...ep, ...this.extraEpOptions } as typeof ep) : ep,
        );
        args[optIndex] = { ...o, executionProviders: eps };
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
    const orig = s.run.bind(s) as (...a: unknown[]) => Promise<Ort.InferenceSession.ReturnType>;
    const wrapped = async (...args: unknown[]): Promise<Ort.InferenceSession.ReturnType> => {
      const feeds = args[0] as Record<string, Ort.Tensor>;
      const shapes: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(feeds)) shapes[k] = [...v.dims];
      const index = this.counts.get(name) ?? 0;
      this.counts.set(name, index + 1);
      const around = this.around?.name === name ? this.around : null;
      const profiled = around !== null;
      if (around) {
        this.around = null;
        // Nothing of earlier calls may be in flight when the profiled one starts.
        await this.device?.queue.onSubmittedWorkDone();
        around.before();
      }
      const start = performance.now();
      const out = await orig(...args);
      const resolved = performance.now();
      let gpuDone: number | null = null;
      if (this.sync || profiled) {
        await this.device?.queue.onSubmittedWorkDone();
        gpuDone = performance.now();
      }
      if (around) await around.after();
      this.runs.push({ name, index, start, resolved, gpuDone, shapes, profiled });
      return out;
    };
    (s as unknown as { run: typeof wrapped }).run = wrapped;
  }

  /** Runs `before` just before the next call of this session and `after` once its GPU work is done. */
  aroundNextCall(name: string, before: () => void, after: () => Promise<void>): void {
    this.around = { name, before, after };
  }

  clearRuns(): void {
    this.runs.length = 0;
  }
}
