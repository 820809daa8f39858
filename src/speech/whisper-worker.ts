/**
 * Whisper off the main thread: a typed message protocol, the worker-side host and the main-thread
 * client. On a headset the WASM backend would block the page for the whole decode (hundreds of ms
 * to seconds), dropping frames in VR; in a worker the viewer keeps rendering.
 *
 * The client and host speak over anything with postMessage + a message listener, so tests run both
 * ends in one Node process over a MessageChannel, with the real engine.
 */

import { SpeechError, toSpeechError, type SpeechErrorKind } from './errors';
// Types only: the main thread imports this module for the client, and a value import of the engine
// would pull transformers.js (580 kB) into the main bundle as a second copy of the worker's.
import type { LoadProgress, WhisperDevice, WhisperEngine, WhisperEngineOptions } from './whisper-engine';

export type WhisperRequest =
  | { type: 'load'; options: WhisperEngineOptions }
  | { type: 'transcribe'; id: number; pcm: Float32Array }
  | { type: 'abort'; id: number }
  | { type: 'dispose' };

export type WhisperResponse =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'loaded'; device: WhisperDevice }
  | { type: 'load-error'; kind: SpeechErrorKind; detail?: string }
  | { type: 'result'; id: number; text: string }
  | { type: 'error'; id: number; kind: SpeechErrorKind; detail?: string }
  | { type: 'disposed' };

/** The part of Worker / MessagePort / DedicatedWorkerGlobalScope that both ends use. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

/** Worker side. `createEngine` comes from the caller so the host can be tested without transformers.js. */
export function serveWhisper(
  endpoint: MessageEndpoint,
  createEngine: (options: WhisperEngineOptions) => Pick<WhisperEngine, 'load' | 'transcribe' | 'dispose' | 'device'>,
): () => void {
  let engine: ReturnType<typeof createEngine> | null = null;
  const aborts = new Map<number, AbortController>();
  const send = (m: WhisperResponse) => endpoint.postMessage(m);

  const onMessage = (e: MessageEvent<WhisperRequest>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'load':
        engine ??= createEngine(msg.options);
        engine.load((progress) => send({ type: 'progress', progress })).then(
          () => send({ type: 'loaded', device: engine!.device ?? 'wasm' }),
          (err) => {
            const se = toSpeechError(err, 'model-load-failed');
            send({ type: 'load-error', kind: se.kind, detail: se.detail });
          },
        );
        break;
      case 'transcribe': {
        if (!engine) {
          send({ type: 'error', id: msg.id, kind: 'model-load-failed', detail: 'transcribe before load' });
          break;
        }
        const ac = new AbortController();
        aborts.set(msg.id, ac);
        engine.transcribe(msg.pcm, ac.signal).then(
          (text) => send({ type: 'result', id: msg.id, text }),
          (err) => {
            const se = toSpeechError(err, 'recognition-failed');
            send({ type: 'error', id: msg.id, kind: se.kind, detail: se.detail });
          },
        ).finally(() => aborts.delete(msg.id));
        break;
      }
      case 'abort':
        aborts.get(msg.id)?.abort();
        break;
      case 'dispose':
        aborts.forEach((a) => a.abort());
        void (engine?.dispose() ?? Promise.resolve()).finally(() => {
          engine = null;
          send({ type: 'disposed' });
        });
        break;
    }
  };
  endpoint.addEventListener('message', onMessage as (e: MessageEvent) => void);
  return () => endpoint.removeEventListener('message', onMessage as (e: MessageEvent) => void);
}

/** Main-thread side: the same load/transcribe/dispose surface as WhisperEngine. */
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
