/**
 * The pipeline worker's logic, apart from the Worker global so it runs in Node tests:
 * requests in (`handle`), responses out (`post`). pipeline.worker.ts only wires it to `self`.
 *
 * One thing at a time: a load or a generation. The client queues nothing either: a second
 * request while one runs gets a `busy` error, which the UI prevents by disabling its buttons.
 *
 * After a lost GPU device the pipeline is dropped; the next `generate` reloads it from the model
 * store (already downloaded and verified, so only the sessions are created again) and runs.
 */
import { ModelFileError, ModelStore, filesForSessions, repairNotice, type DownloadProgress, type ModelStoreDeps } from '../model/model-store';
import type { Manifest } from '../model/manifest';
import { isAbort, isDeviceLost, isOutOfMemory, type HostedPipeline, type PipelineLoader } from './hosted-pipeline';
import { BadSharpenRequest, SR_SESSIONS, SrWorkerHost, type UpscalerLoader } from './sr-host';
import {
  PANO_SESSIONS,
  SCHEDULERS,
  transferablesOf,
  validateGenerate,
  type BackendPreference,
  type ErrorCode,
  type GenerateRequest,
  type LoadRequest,
  type ManifestSummary,
  type PlanRequest,
  type SharpenRequest,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';

type JobKind = 'load' | 'generate' | 'sharpen';

export type Post = (message: WorkerResponse, transfer: Transferable[]) => void;

export interface HostDeps {
  readonly loadPipeline: PipelineLoader;
  /** LDM3D-SR for `sharpen` (sr-host.ts); without it sharpen answers unsupported-model. */
  readonly loadUpscaler?: UpscalerLoader;
  readonly store?: ModelStoreDeps;
  /** Milliseconds between load-progress messages (a 3.4 GB download yields ~50k stream reads). */
  readonly progressIntervalMs?: number;
  readonly now?: () => number;
}

interface Loaded {
  readonly baseUrl: string;
  readonly backend: BackendPreference;
  readonly store: ModelStore;
  pipeline: HostedPipeline | null;
  /** Warm-up runs once per loaded pipeline, not on every repeated load request. */
  warmUpStarted?: boolean;
}

export class PipelineWorkerHost {
  private loaded: Loaded | null = null;
  /** The running load or generation and how to stop it. */
  private job: { readonly id: number; readonly kind: JobKind; readonly abort: AbortController } | null = null;
  private readonly sr: SrWorkerHost | null;
  private disposed = false;
  /** The warm-up started after a load (not a job: any request that needs the pipeline stops it first). */
  private warm: { readonly abort: AbortController; readonly done: Promise<void> } | null = null;
  /** What the last successful load asked for, so a lost device can be recovered from. */
  private lastLoad: { baseUrl: string; backend: BackendPreference } | null = null;
  /**
   * Set once the GPU ran out of memory in this worker: the pipeline was unloaded (freeing its GPU
   * memory) and every later load keeps one stage on the GPU at a time (LoadHooks.lowMemory).
   */
  private lowMemory = false;
  private readonly now: () => number;
  private readonly progressIntervalMs: number;

  constructor(
    private readonly post: Post,
    private readonly deps: HostDeps,
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.progressIntervalMs = deps.progressIntervalMs ?? 100;
    this.sr = deps.loadUpscaler
      ? new SrWorkerHost((m) => this.send(m), { loadUpscaler: deps.loadUpscaler, store: deps.store, now: this.now, progressIntervalMs: this.progressIntervalMs })
      : null;
  }

  /** Resolves when the request has been answered (tests await it; the worker need not). */
  async handle(req: WorkerRequest): Promise<void> {
    if (this.disposed) {
      if (req.type !== 'dispose') this.fail(req, 'bad-request', 'the worker was disposed');
      return;
    }
    switch (req.type) {
      case 'plan':
        return this.plan(req);
      case 'load':
        return this.runJob(req.id, 'load', (signal) => this.load(req, signal));
      case 'generate':
        return this.runJob(req.id, 'generate', (signal) => this.generate(req, signal));
      case 'sharpen':
        return this.runJob(req.id, 'sharpen', (signal) => this.sharpen(req, signal));
      case 'unload-sr':
        if (this.job?.kind === 'sharpen') {
          this.fail(req, 'busy', 'cannot unload the upscaler while sharpening; cancel it or wait');
          return;
        }
        if (this.sr) await this.sr.unload(req);
        else this.send({ type: 'sr-unloaded', id: req.id });
        return;
      case 'cancel':
        if (this.job?.id === req.id) this.job.abort.abort();
        return;
      case 'dispose':
        return this.dispose();
      default: {
        const never: never = req;
        this.send({ type: 'error', request: 'dispose', code: 'bad-request', message: `unknown request ${JSON.stringify(never)}` });
      }
    }
  }

  private async plan(req: PlanRequest): Promise<void> {
    try {
      const store = await ModelStore.open(req.baseUrl, this.deps.store);
      const plan = await store.plan(filesForSessions(store.manifest, req.models === 'sr' ? SR_SESSIONS : PANO_SESSIONS));
      this.send({
        type: 'planned',
        id: req.id,
        plan: {
          baseUrl: plan.baseUrl,
          modelId: store.manifest.model_id,
          testWeights: store.manifest.test_weights,
          promptTemplate: store.manifest.prompt_template ?? null,
          files: plan.files.map((f) => ({ path: f.path, bytes: f.bytes, cachedBytes: f.cachedBytes })),
          totalBytes: plan.totalBytes,
          cachedBytes: plan.cachedBytes,
          remainingBytes: plan.remainingBytes,
          availableBytes: await availableStorage(),
        },
      });
    } catch (e) {
      this.failWith(req, e, 'load-failed');
    }
  }

  private async sharpen(req: SharpenRequest, signal: AbortSignal): Promise<void> {
    if (!this.sr) {
      this.fail(req, 'unsupported-model', 'this worker cannot sharpen (no upscaler loader)');
      return;
    }
    try {
      await this.sr.sharpen(req, signal);
    } catch (e) {
      if (signal.aborted || isAbort(e)) this.send({ type: 'cancelled', id: req.id });
      else if (e instanceof BadSharpenRequest) this.fail(req, 'bad-request', e.message);
      else if (isDeviceLost(e)) this.fail(req, 'device-lost', `The GPU device was lost while sharpening (${message(e)}). Sharpen again to reload the upscaler.`);
      else if (isOutOfMemory(e)) this.fail(req, 'out-of-memory', sharpenOutOfMemoryMessage(message(e), req.backend !== 'wasm'));
      else this.failWith(req, e, 'generation-failed');
    }
  }

  private async runJob(id: number, kind: JobKind, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    if (this.job) {
      const doing = this.job.kind === 'load' ? 'loading the model' : this.job.kind === 'sharpen' ? 'sharpening' : 'generating';
      this.fail({ type: kind, id }, 'busy', `cannot ${kind} while ${doing}; cancel it or wait`);
      return;
    }
    const abort = new AbortController();
    this.job = { id, kind, abort };
    try {
      // A Generate (or anything else) cancels the warm-up; it stops between two stages.
      await this.stopWarmUp();
      await run(abort.signal);
    } finally {
      this.job = null;
    }
  }

  private async load(req: LoadRequest, signal: AbortSignal): Promise<void> {
    const started = this.now();
    try {
      const loaded = await this.ensureLoaded(req.baseUrl, req.backend, signal, req.id);
      const pipeline = loaded.pipeline!;
      const m = loaded.store.manifest;
      const notices = [...pipeline.notices];
      if (loaded.store.offline) notices.push('Offline: using the model files stored in this browser.');
      if (this.lowMemory) notices.push(LOW_MEMORY_NOTICE);
      notices.push(...loaded.store.repairs.map(repairNotice));
      this.send({
        type: 'loaded',
        id: req.id,
        summary: summarize(m),
        backend: pipeline.backend,
        notices,
        testWeights: m.test_weights,
        loadMs: Math.round(this.now() - started),
        ...(pipeline.runtimeSummary ? { runtime: pipeline.runtimeSummary } : {}),
        supportsDeepCache: pipeline.supportsDeepCache ?? false,
        supportsWrap: pipeline.supportsWrap ?? false,
      });
      if (!loaded.warmUpStarted) {
        loaded.warmUpStarted = true;
        this.startWarmUp(pipeline);
      }
    } catch (e) {
      if (signal.aborted) this.send({ type: 'cancelled', id: req.id });
      else if (isOutOfMemory(e)) this.failOutOfMemory(req, 'loading the model', e, req.backend !== 'wasm');
      else this.failWith(req, e, 'load-failed');
    }
  }

  /** Loads (or reuses) the pipeline for baseUrl/backend. */
  private async ensureLoaded(baseUrl: string, backend: BackendPreference, signal: AbortSignal, progressId: number): Promise<Loaded> {
    const cur = this.loaded;
    if (cur && cur.pipeline && cur.baseUrl === baseUrl && cur.backend === backend) return cur;
    if (cur?.pipeline) {
      const old = cur.pipeline;
      cur.pipeline = null;
      await old.dispose().catch(() => undefined);
    }
    this.loaded = null;
    const store = await ModelStore.open(baseUrl, this.deps.store);
    const paths = filesForSessions(store.manifest, PANO_SESSIONS);
    let lastPost = -Infinity;
    let lastFile = '';
    const onProgress = (p: DownloadProgress): void => {
      const t = this.now();
      // Throttled, but the first and last event of every file always go out.
      if (p.file === lastFile && p.phase === 'downloading' && t - lastPost < this.progressIntervalMs) return;
      lastPost = t;
      lastFile = p.file;
      this.send({
        type: 'load-progress',
        id: progressId,
        file: p.file,
        loaded: p.loaded,
        total: p.total,
        overall: { loaded: p.overallLoaded, total: p.overallTotal },
        phase: p.phase,
      });
    };
    await store.download({ paths, onProgress, signal });
    const plan = await store.plan(paths);
    this.send({
      type: 'load-progress',
      id: progressId,
      file: '',
      loaded: 0,
      total: 0,
      overall: { loaded: plan.totalBytes, total: plan.totalBytes },
      phase: 'creating-sessions',
    });
    // The loader reads through the store, which checks each stored file on its first read and
    // downloads a damaged one again: with this load's progress and cancel.
    const source = { manifest: store.manifest, read: (path: string) => store.read(path, { onProgress, signal }) };
    const pipeline = await this.deps.loadPipeline(source, backend, {
      signal,
      lowMemory: this.lowMemory,
      onProgress: (stage, done, total) =>
        this.send({
          type: 'load-progress',
          id: progressId,
          file: stage,
          loaded: done,
          total,
          overall: { loaded: plan.totalBytes, total: plan.totalBytes },
          phase: 'creating-sessions',
        }),
    });
    if (signal.aborted) {
      await pipeline.dispose().catch(() => undefined);
      throw new DOMException('load cancelled', 'AbortError');
    }
    const loaded: Loaded = { baseUrl, backend, store, pipeline };
    this.loaded = loaded;
    this.lastLoad = { baseUrl, backend };
    return loaded;
  }

  private async generate(req: GenerateRequest, signal: AbortSignal): Promise<void> {
    const invalid = validateGenerate(req);
    if (invalid) {
      this.fail(req, 'bad-request', invalid);
      return;
    }
    let loaded = this.loaded;
    if (!loaded?.pipeline) {
      if (!this.lastLoad) {
        this.fail(req, 'not-loaded', 'load a model before generating');
        return;
      }
      try {
        // Recovering from a lost device: the files are stored, so this only recreates sessions.
        loaded = await this.ensureLoaded(this.lastLoad.baseUrl, this.lastLoad.backend, signal, req.id);
      } catch (e) {
        if (signal.aborted) this.send({ type: 'cancelled', id: req.id });
        else if (isOutOfMemory(e)) this.failOutOfMemory(req, 'loading the model', e, this.lastLoad.backend !== 'wasm');
        else this.failWith(req, e, 'load-failed');
        return;
      }
    }
    const pipeline = loaded.pipeline!;
    const manifest = loaded.store.manifest;
    const deepCacheInterval = req.deepCacheInterval ?? 1;
    // Resolved here, not left to the pipeline's default, so the metadata says what ran.
    const wrap = req.wrap ?? pipeline.supportsWrap ?? false;
    const promptTemplate = req.promptTemplate ?? true;
    const t0 = this.now();
    let tFirst: number | null = null;
    let tokens: { prompt: { count: number; max: number }; negative: { count: number; max: number } } | null = null;
    try {
      const out = await pipeline.generate(
        { prompt: req.prompt, negativePrompt: req.negativePrompt, steps: req.steps, guidance: req.guidance, scheduler: req.scheduler, seed: req.seed, deepCacheInterval, wrap, promptTemplate },
        {
          signal,
          onTokens: (prompt, negative) => {
            tokens = { prompt, negative };
            tFirst = this.now();
            this.send({ type: 'progress', id: req.id, step: 0, total: req.steps, elapsedMs: Math.round(tFirst - t0), etaMs: null, preview: null, tokens });
          },
          onStep: (step, total, preview, pipelineEta) => {
            const t = this.now();
            tFirst ??= t0;
            // The pipeline's estimate includes decoding; without one, steps are taken to cost the same.
            const eta = pipelineEta ?? (step > 0 ? ((t - tFirst) / step) * (total - step) : null);
            this.send({ type: 'progress', id: req.id, step, total, elapsedMs: Math.round(t - t0), etaMs: eta === null ? null : Math.round(eta), preview });
          },
        },
      );
      if (signal.aborted) {
        this.send({ type: 'cancelled', id: req.id });
        return;
      }
      this.send({
        type: 'result',
        id: req.id,
        width: out.width,
        height: out.height,
        rgba: out.rgba,
        depth: out.depth,
        depth16: out.depth16,
        metadata: {
          prompt: req.prompt,
          negativePrompt: req.negativePrompt,
          steps: req.steps,
          guidance: req.guidance,
          scheduler: req.scheduler,
          seed: req.seed,
          deepCacheInterval,
          wrap,
          preset: req.preset ?? 'custom',
          promptTemplate,
          sentPrompt: out.sentPrompt,
          modelId: manifest.model_id,
          testWeights: manifest.test_weights,
          backend: pipeline.backend,
          width: out.width,
          height: out.height,
          tokens: out.tokens ?? tokens,
          timings: { ...out.timings, totalMs: Math.round(this.now() - t0) },
          createdAt: new Date().toISOString(),
        },
      });
    } catch (e) {
      if (signal.aborted || isAbort(e)) {
        this.send({ type: 'cancelled', id: req.id });
      } else if (isDeviceLost(e)) {
        if (this.loaded === loaded) loaded.pipeline = null;
        await pipeline.dispose().catch(() => undefined);
        this.fail(req, 'device-lost', `The GPU device was lost while generating (${message(e)}). Generate again to reload the model and retry.`);
      } else if (isOutOfMemory(e)) {
        // Unloaded, not kept: what it holds on the GPU is what ran out, and the next load can
        // then keep less of it there (lowMemory). The next Generate reloads it lazily.
        if (this.loaded === loaded) loaded.pipeline = null;
        await pipeline.dispose().catch(() => undefined);
        this.failOutOfMemory(req, 'generating', e, pipeline.backend !== 'wasm');
      } else {
        this.failWith(req, e, 'generation-failed');
      }
    }
  }

  /** Warms the pipeline up while the user types (Ldm3dPipeline.warmUp); failures are left to the next generation to report. */
  private startWarmUp(pipeline: HostedPipeline): void {
    if (!pipeline.warmUp) return;
    const abort = new AbortController();
    const done = pipeline
      .warmUp(abort.signal)
      .catch(() => undefined)
      .finally(() => {
        if (this.warm?.abort === abort) this.warm = null;
      });
    this.warm = { abort, done };
  }

  private async stopWarmUp(): Promise<void> {
    const w = this.warm;
    if (!w) return;
    w.abort.abort();
    await w.done;
  }

  private async dispose(): Promise<void> {
    this.disposed = true;
    this.job?.abort.abort();
    await this.stopWarmUp();
    const p = this.loaded?.pipeline;
    this.loaded = null;
    if (p) await p.dispose().catch(() => undefined);
    await this.sr?.release();
    this.send({ type: 'disposed' });
  }

  private send(m: WorkerResponse): void {
    this.post(m, transferablesOf(m));
  }

  /** An out-of-memory failure, told as what happened, what is kept and what to do; later loads keep less on the GPU. */
  private failOutOfMemory(req: { type: WorkerRequest['type']; id?: number }, doing: string, e: unknown, onGpu: boolean): void {
    const already = this.lowMemory;
    this.lowMemory = true;
    this.fail(req, 'out-of-memory', outOfMemoryMessage(doing, message(e), already, onGpu));
  }

  private fail(req: { type: WorkerRequest['type']; id?: number }, code: ErrorCode, text: string, file?: string): void {
    this.send({ type: 'error', id: req.id, request: req.type, code, message: text, ...(file ? { file } : {}) });
  }

  private failWith(req: { type: WorkerRequest['type']; id?: number }, e: unknown, fallback: ErrorCode): void {
    if (e instanceof ModelFileError) {
      this.fail(req, `model-${e.reason}`, e.message, e.file);
      return;
    }
    const pe = e as { name?: unknown; code?: unknown; file?: unknown };
    if (pe?.name === 'PipelineError' && typeof pe.code === 'string') {
      const file = typeof pe.file === 'string' ? pe.file : undefined;
      this.fail(req, PIPELINE_CODES[pe.code] ?? fallback, message(e), file);
      return;
    }
    this.fail(req, fallback, message(e));
  }
}

export const LOW_MEMORY_NOTICE =
  'Memory ran out earlier, so the model is loaded one stage at a time: each generation is slower and needs less memory.';

const OUT_OF_MEMORY_REMEDY =
  'use the int8 export of the model (models/narrow_weights.py --storage int8, README "Real weights"), release the upscaler, or close other tabs and apps';

/**
 * The user's message for a GPU out-of-memory failure: what happened (the runtime's first line),
 * that the scene on screen is kept, and what to do — the host already unloaded the model and
 * reloads it with fewer stages resident; past that, a smaller export or less else on the GPU.
 */
export function outOfMemoryMessage(doing: string, detail: string, alreadyLowMemory: boolean, onGpu = true): string {
  // The runtime's first line; Dawn's call trace follows on the next lines (its brackets closed here).
  let first = detail.split('\n')[0] ?? '';
  for (let open = first.split('(').length - first.split(')').length; open > 0; open--) first += ')';
  // On the WASM fallback it is the page's WebAssembly memory, not the GPU's, that ran out.
  const what = `${onGpu ? 'The GPU' : 'The browser (WebAssembly)'} ran out of memory while ${doing} (${first})`;
  const where = onGpu ? 'on the GPU' : 'in memory';
  if (alreadyLowMemory) {
    return `${what}, even with one stage of the model ${where} at a time. The current scene is kept. To make it fit, ${OUT_OF_MEMORY_REMEDY}; then Generate again.`;
  }
  return (
    `${what}. The current scene is kept. The model was unloaded to free ${onGpu ? 'GPU ' : ''}memory; Generate again to reload it with one stage ${where} at a time ` +
    `(slower, needs less memory). If it still runs out, ${OUT_OF_MEMORY_REMEDY}.`
  );
}

/**
 * Out of memory while sharpening: the upscaler was released (sr-host.ts), the scene and its
 * sharpened regions stay; the upscaler has no low-memory mode, so what helps is room next to it.
 */
export function sharpenOutOfMemoryMessage(detail: string, onGpu = true): string {
  let first = detail.split('\n')[0] ?? '';
  for (let open = first.split('(').length - first.split(')').length; open > 0; open--) first += ')';
  return (
    `${onGpu ? 'The GPU' : 'The browser (WebAssembly)'} ran out of memory while sharpening (${first}). The scene and its sharpened regions are kept. ` +
    `The upscaler was released to free ${onGpu ? 'GPU ' : ''}memory; Sharpen again to reload it. If it still runs out, close other tabs and apps, ` +
    'or use the int8 export of the panorama model so that it leaves more room (models/narrow_weights.py --storage int8, README "Real weights").'
  );
}

/** src/pipeline's PipelineError codes → protocol codes (the rest keep the request's fallback). */
const PIPELINE_CODES: Readonly<Record<string, ErrorCode>> = {
  'webgpu-unavailable': 'no-backend',
  'device-lost': 'device-lost',
  'out-of-memory': 'out-of-memory',
  'model-file': 'model-invalid',
  'unsupported-config': 'unsupported-model',
  // A model that needs larger buffers than this GPU allows (src/runtime/limits.ts) cannot run here;
  // the message names the tensor, the limit and what to do.
  'device-limits': 'unsupported-model',
  'bad-option': 'bad-request',
  'empty-prompt': 'bad-request',
  busy: 'busy',
};

function summarize(m: Manifest): ManifestSummary {
  const scheduler = SCHEDULERS.includes(m.defaults.scheduler) ? m.defaults.scheduler : 'ddim';
  return {
    modelId: m.model_id,
    license: m.license,
    pipeline: m.pipeline,
    width: m.image.width,
    height: m.image.height,
    dtype: m.dtype,
    promptTemplate: m.prompt_template ?? null,
    defaults: { steps: m.defaults.num_inference_steps, guidance: m.defaults.guidance_scale, scheduler },
  };
}

/** Bytes this origin may still store, or null (no StorageManager: Node, old browsers). */
async function availableStorage(): Promise<number | null> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.estimate) return null;
  try {
    const { quota, usage } = await storage.estimate();
    return quota === undefined ? null : Math.max(0, quota - (usage ?? 0));
  } catch {
    return null;
  }
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
