/**
 * The main thread's handle on the Whisper worker: the same load/transcribe/dispose surface as
 * WhisperEngine, so the recogniser uses either. On a headset the WASM backend would block the page
 * for the whole decode (hundreds of ms to seconds), dropping frames in VR; in a worker the viewer
 * keeps rendering.
 *
 *   const whisper = startWhisperWorker(options);
 *   await whisper.load(onProgress);
 *   const text = await whisper.transcribe(pcm16k, signal);
 *   await whisper.dispose();
 */
import { SpeechError } from './errors';
import type { MessageEndpoint, WhisperRequest, WhisperResponse } from './protocol';
// Types only: a value import of the engine would pull transformers.js into the main bundle.
import type { LoadProgress, WhisperDevice, WhisperEngineOptions } from './whisper-engine';

export class WhisperWorkerClient {
  private readonly endpoint: MessageEndpoint;
  private readonly terminate: (() => void) | undefined;
  private readonly options: WhisperEngineOptions;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (t: string) => void; reject: (e: SpeechError) => void }>();
  private loading: Promise<void> | null = null;
  private loadListeners = new Set<(p: LoadProgress) => void>();
  private settleLoad: { resolve: () => void; reject: (e: SpeechError) => void } | null = null;
  private disposed = false;
  loaded = false;
  device: WhisperDevice | null = null;

  constructor(endpoint: MessageEndpoint & { terminate?: () => void }, options: WhisperEngineOptions = {}) {
    this.endpoint = endpoint;
    this.terminate = endpoint.terminate?.bind(endpoint);
    this.options = options;
    endpoint.addEventListener('message', this.onMessage);
  }

  private readonly onMessage = (e: MessageEvent<WhisperResponse>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'progress':
        this.loadListeners.forEach((l) => l(msg.progress));
        break;
      case 'loaded':
        this.loaded = true;
        this.device = msg.device;
        this.settleLoad?.resolve();
        break;
      case 'load-error':
        this.settleLoad?.reject(new SpeechError(msg.kind, msg.detail));
        break;
      case 'result':
        this.pending.get(msg.id)?.resolve(msg.text);
        this.pending.delete(msg.id);
        break;
      case 'error':
        this.pending.get(msg.id)?.reject(new SpeechError(msg.kind, msg.detail));
        this.pending.delete(msg.id);
        break;
      case 'disposed':
        break;
    }
  };

  load(onProgress?: (p: LoadProgress) => void): Promise<void> {
    if (this.disposed) return Promise.reject(new SpeechError('aborted', 'Whisper worker was disposed.'));
    if (this.loaded) {
      onProgress?.({ status: 'ready', loaded: 0, total: 0, fraction: 1 });
      return Promise.resolve();
    }
    if (onProgress) this.loadListeners.add(onProgress);
    this.loading ??= new Promise<void>((resolve, reject) => {
      this.settleLoad = { resolve, reject };
      this.endpoint.postMessage({ type: 'load', options: this.options } satisfies WhisperRequest);
    }).finally(() => {
      this.loading = null;
      this.settleLoad = null;
      this.loadListeners.clear();
    });
    return this.loading;
  }

  async transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string> {
    await this.load();
    signal?.throwIfAborted();
    const id = this.nextId++;
    // A copy is transferred, so the caller's buffer stays usable.
    const copy = pcm.slice();
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => this.endpoint.postMessage({ type: 'abort', id } satisfies WhisperRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (t) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.endpoint.postMessage({ type: 'transcribe', id, pcm: copy } satisfies WhisperRequest, [copy.buffer]);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const error = new SpeechError('aborted', 'Whisper worker was disposed.');
    this.pending.forEach((p) => p.reject(error));
    this.pending.clear();
    this.settleLoad?.reject(error);
    if (this.terminate) {
      // Terminating frees the worker's wasm heap and GPU device at once; no need to wait for it.
      this.terminate();
    } else {
      await new Promise<void>((resolve) => {
        const done = (e: MessageEvent<WhisperResponse>) => {
          if (e.data.type === 'disposed') {
            this.endpoint.removeEventListener('message', done as (e: MessageEvent) => void);
            resolve();
          }
        };
        this.endpoint.addEventListener('message', done as (e: MessageEvent) => void);
        this.endpoint.postMessage({ type: 'dispose' } satisfies WhisperRequest);
      });
    }
    this.endpoint.removeEventListener('message', this.onMessage);
  }
}

/** Starts the worker. Vite recognises this exact `new Worker(new URL(..., import.meta.url))` form. */
export function startWhisperWorker(options: WhisperEngineOptions = {}): WhisperWorkerClient {
  const worker = new Worker(new URL('./whisper.worker.ts', import.meta.url), { type: 'module', name: 'whisper' });
  return new WhisperWorkerClient(worker, options);
}
