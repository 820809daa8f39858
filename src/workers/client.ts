/**
 * The main thread's handle on the pipeline worker: promises instead of messages.
 *
 *   const client = new PipelineClient();
 *   const plan = await client.plan(baseUrl);                 // sizes before downloading
 *   const loaded = await client.load(baseUrl, 'auto', onLoadProgress);
 *   const result = await client.generate(params, { onProgress });
 *   client.cancel();                                          // the running load or generation
 *   client.dispose();
 *
 * A crashed worker (an uncaught error, a failed script load, an unreadable message) rejects every
 * pending promise with a PipelineError of code 'worker-crashed'; the next call starts a new worker,
 * which needs a `load` again (`loaded` turns false). A cancel that the worker does not answer
 * within `cancelGraceMs`, or three times the last step's duration if that is longer (a GPU call
 * that never returns), also replaces the worker; it still rejects with 'cancelled' (the user asked
 * to stop), with `workerRestarted` set so the UI can say that the model loads again.
 */
import {
  type BackendPreference,
  type ErrorCode,
  type GenerateParams,
  type GenerationMetadata,
  type LoadProgressMessage,
  type LoadedMessage,
  type PlanModels,
  type PlanSummary,
  type ProgressMessage,
  type SharpenProgressMessage,
  type SharpenRequest,
  type SharpenResultMessage,
  type SrModelInfo,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';

/** The part of `Worker` the client uses; tests pass an in-process fake. */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerResponse>) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (e: Event) => void): void;
  terminate(): void;
}

export function createPipelineWorker(): Worker {
  // Vite finds this exact form and bundles the worker (with its own onnxruntime-web chunk).
  return new Worker(new URL('./pipeline.worker.ts', import.meta.url), { type: 'module', name: 'ldm3d-pipeline' });
}

export type ClientErrorCode = ErrorCode | 'cancelled' | 'disposed';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** For model-* errors, the file (relative to the manifest). */
    readonly file?: string,
    /**
     * The client terminated the worker (a crash, or a cancel it did not answer in time), so the
     * loaded model is gone and the next generation loads it again: the UI says so, because that
     * reload costs the user seconds to minutes they would otherwise not expect.
     */
    readonly workerRestarted = false,
  ) {
    super(message);
  }
}

export interface GenerationResult {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
  readonly depth: Float32Array;
  readonly depth16: Uint16Array;
  readonly metadata: GenerationMetadata;
}

export interface GenerateOptions {
  readonly onProgress?: (p: ProgressMessage) => void;
  /** Only after a lost GPU device: the worker reloads the model before generating. */
  readonly onLoadProgress?: (p: LoadProgressMessage) => void;
  readonly signal?: AbortSignal;
}

export type SharpenParams = Omit<SharpenRequest, 'type' | 'id'>;
export type SharpenResult = Omit<SharpenResultMessage, 'type'>;

export interface SharpenOptions {
  readonly onProgress?: (p: SharpenProgressMessage) => void;
  readonly signal?: AbortSignal;
}

export interface ClientOptions {
  readonly createWorker?: () => WorkerLike;
  /** How long a cancelled job may take to stop before the worker is replaced (at least 3 steps' time). */
  readonly cancelGraceMs?: number;
}

type Pending =
  | { kind: 'plan'; resolve: (p: PlanSummary) => void; reject: (e: PipelineError) => void }
  | { kind: 'load'; resolve: (m: LoadedMessage) => void; reject: (e: PipelineError) => void; onProgress?: (p: LoadProgressMessage) => void }
  | {
      kind: 'generate';
      resolve: (r: GenerationResult) => void;
      reject: (e: PipelineError) => void;
      onProgress?: (p: ProgressMessage) => void;
      onLoadProgress?: (p: LoadProgressMessage) => void;
    }
  | { kind: 'sharpen'; resolve: (r: SharpenResult) => void; reject: (e: PipelineError) => void; onProgress?: (p: SharpenProgressMessage) => void }
  | { kind: 'unload-sr'; resolve: () => void; reject: (e: PipelineError) => void };

export class PipelineClient {
  private worker: WorkerLike | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The load or generation running in the worker (plans run beside them). */
  private jobId: number | null = null;
  private cancelTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  /** Duration of the last diffusion step and where it ended, for the cancel grace time. */
  private lastStepMs = 0;
  private lastStep = { step: 0, elapsedMs: 0 };
  private readonly createWorker: () => WorkerLike;
  private readonly cancelGraceMs: number;
  /** The worker holds a loaded pipeline (false again after a crash). */
  loaded: LoadedMessage | null = null;
  /** The LDM3D-SR models the worker holds (null: none; they load on the first sharpen). */
  srLoaded: SrModelInfo | null = null;

  constructor(options: ClientOptions = {}) {
    this.createWorker = options.createWorker ?? createPipelineWorker;
    this.cancelGraceMs = options.cancelGraceMs ?? 20_000;
  }

  /** Files, sizes and what is already cached, without downloading ('sr': the upscaler's files). */
  plan(baseUrl: string, models: PlanModels = 'pano'): Promise<PlanSummary> {
    return new Promise((resolve, reject) => {
      const id = this.send((id) => ({ type: 'plan', id, baseUrl, ...(models === 'pano' ? {} : { models }) }));
      this.pending.set(id, { kind: 'plan', resolve, reject });
    });
  }

  load(baseUrl: string, backend: BackendPreference = 'auto', onProgress?: (p: LoadProgressMessage) => void): Promise<LoadedMessage> {
    return new Promise<LoadedMessage>((resolve, reject) => {
      const id = this.send((id) => ({ type: 'load', id, baseUrl, backend }));
      this.jobId = id;
      this.loaded = null;
      this.pending.set(id, {
        kind: 'load',
        resolve: (m) => {
          this.loaded = m;
          resolve(m);
        },
        reject,
        onProgress,
      });
    });
  }

  generate(params: GenerateParams, options: GenerateOptions = {}): Promise<GenerationResult> {
    return new Promise<GenerationResult>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new PipelineError('cancelled', 'cancelled before it started'));
        return;
      }
      const id = this.send((id) => ({ type: 'generate', id, ...params }));
      this.jobId = id;
      const onAbort = (): void => this.cancel(id);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => options.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        kind: 'generate',
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        onProgress: options.onProgress,
        onLoadProgress: options.onLoadProgress,
      });
    });
  }

  /**
   * Sharpens the region in view (sr-host.ts). The panorama's buffers in `params` are transferred:
   * pass copies. Cancel with `cancel()` or the signal; its promise then rejects with 'cancelled'.
   */
  sharpen(params: SharpenParams, options: SharpenOptions = {}): Promise<SharpenResult> {
    return new Promise<SharpenResult>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new PipelineError('cancelled', 'cancelled before it started'));
        return;
      }
      const transfer = [params.rgba.buffer, params.depth.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      const id = this.send((id) => ({ type: 'sharpen', id, ...params }), transfer);
      this.jobId = id;
      const onAbort = (): void => this.cancel(id);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => options.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        kind: 'sharpen',
        resolve: (r) => {
          done();
          this.srLoaded = r.sr;
          resolve(r);
        },
        reject: (e) => {
          done();
          if (e.code === 'device-lost') this.srLoaded = null;
          reject(e);
        },
        onProgress: options.onProgress,
      });
    });
  }

  /** Releases the SR models in the worker (GPU memory); a no-op when none are loaded. */
  unloadSr(): Promise<void> {
    if (!this.worker) {
      this.srLoaded = null;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const id = this.send((id) => ({ type: 'unload-sr', id }));
      this.pending.set(id, {
        kind: 'unload-sr',
        resolve: () => {
          this.srLoaded = null;
          resolve();
        },
        reject,
      });
    });
  }

  /** Stops the running load or generation (or the one with `id`); its promise rejects with code 'cancelled'. */
  cancel(id: number | null = this.jobId): void {
    if (id === null || !this.pending.has(id) || !this.worker) return;
    this.worker.postMessage({ type: 'cancel', id });
    if (this.cancelTimer) return;
    // A step only ends at a session run's end, and one step on WASM can take tens of seconds.
    const grace = Math.max(this.cancelGraceMs, 3 * this.lastStepMs);
    this.cancelTimer = setTimeout(() => {
      this.cancelTimer = null;
      if (this.pending.has(id)) {
        this.crash(`the worker did not stop within ${Math.round(grace / 1000)} s of cancel, so it was restarted`, 'cancelled');
      }
    }, grace);
  }

  /** True while a load or generation runs. */
  get busy(): boolean {
    return this.jobId !== null && this.pending.has(this.jobId);
  }

  /** Frees the pipeline (GPU buffers, sessions) and ends the worker. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      w.addEventListener('message', (e) => {
        if (e.data.type === 'disposed') {
          clearTimeout(t);
          resolve();
        }
      });
      w.postMessage({ type: 'dispose' });
    });
    this.rejectAll(new PipelineError('disposed', 'the pipeline was disposed'));
    this.stopWorker();
  }

  private send(make: (id: number) => WorkerRequest, transfer?: Transferable[]): number {
    if (this.disposed) throw new PipelineError('disposed', 'the pipeline was disposed');
    const id = this.nextId++;
    if (transfer?.length) this.ensureWorker().postMessage(make(id), transfer);
    else this.ensureWorker().postMessage(make(id));
    return id;
  }

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const w = this.createWorker();
    w.addEventListener('message', (e) => {
      if (this.worker === w) this.receive(e.data);
    });
    w.addEventListener('error', (e) => {
      if (this.worker !== w) return;
      // An ErrorEvent from an uncaught exception; a plain Event when the script failed to load.
      const msg = (e as ErrorEvent).message || 'the worker script failed to load or threw an uncaught error';
      (e as Event).preventDefault?.();
      this.crash(msg);
    });
    w.addEventListener('messageerror', () => {
      if (this.worker === w) this.crash('a message from the worker could not be read');
    });
    this.worker = w;
    return w;
  }

  private receive(m: WorkerResponse): void {
    if (m.type === 'disposed') return;
    const id = m.id;
    if (id === undefined) {
      // Only the worker's last-resort handler sends an error without a request id.
      this.crash(m.type === 'error' ? m.message : 'unexpected message');
      return;
    }
    const p = this.pending.get(id);
    if (!p) return; // an answer to something already given up on
    switch (m.type) {
      case 'planned':
        if (p.kind === 'plan') this.settle(id, () => p.resolve(m.plan));
        return;
      case 'load-progress':
        if (p.kind === 'load') p.onProgress?.(m);
        else if (p.kind === 'generate') p.onLoadProgress?.(m);
        return;
      case 'loaded':
        if (p.kind === 'load') this.settle(id, () => p.resolve(m));
        return;
      case 'progress':
        if (p.kind === 'generate') {
          if (m.step > 0) {
            this.lastStepMs = m.step > this.lastStep.step ? (m.elapsedMs - this.lastStep.elapsedMs) / (m.step - this.lastStep.step) : this.lastStepMs;
          }
          this.lastStep = { step: m.step, elapsedMs: m.elapsedMs };
          p.onProgress?.(m);
        }
        return;
      case 'result':
        if (p.kind === 'generate') {
          const { type: _type, ...result } = m;
          this.settle(id, () => p.resolve(result));
        }
        return;
      case 'sharpen-progress':
        if (p.kind === 'sharpen') p.onProgress?.(m);
        return;
      case 'sharpen-result':
        if (p.kind === 'sharpen') {
          const { type: _type, ...result } = m;
          this.settle(id, () => p.resolve(result));
        }
        return;
      case 'sr-unloaded':
        if (p.kind === 'unload-sr') this.settle(id, () => p.resolve());
        return;
      case 'cancelled':
        this.settle(id, () => p.reject(new PipelineError('cancelled', 'cancelled')));
        return;
      case 'error':
        if (m.code === 'device-lost' || m.code === 'no-backend') this.loaded = null;
        this.settle(id, () => p.reject(new PipelineError(m.code, m.message, m.file)));
        return;
    }
  }

  private settle(id: number, fn: () => void): void {
    this.pending.delete(id);
    if (this.jobId === id) {
      this.jobId = null;
      if (this.cancelTimer) clearTimeout(this.cancelTimer);
      this.cancelTimer = null;
    }
    fn();
  }

  private crash(reason: string, code: ClientErrorCode = 'worker-crashed'): void {
    this.stopWorker();
    this.loaded = null;
    this.srLoaded = null;
    const text =
      code === 'worker-crashed'
        ? `The generation worker stopped unexpectedly: ${reason}. The model will be loaded again on the next try.`
        : `Cancelled: ${reason}.`;
    this.rejectAll(new PipelineError(code, text, undefined, true));
  }

  private rejectAll(e: PipelineError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.jobId = null;
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    this.cancelTimer = null;
    for (const p of all) p.reject(e);
  }

  private stopWorker(): void {
    const w = this.worker;
    this.worker = null;
    w?.terminate();
  }
}
