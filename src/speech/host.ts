/**
 * The Whisper worker's logic, apart from the Worker global so it runs in Node tests: requests in
 * (`handle`), responses out (`post`). whisper.worker.ts only wires it to `self` (serveWhisper).
 *
 * Every failure is answered, never thrown: a failed load as 'load-error', a failed or aborted
 * transcription as 'error' for its id. Requests are not queued: an 'abort' is handled while the
 * transcription it names still runs.
 */
import { toSpeechError } from './errors';
import type { MessageEndpoint, WhisperRequest, WhisperResponse } from './protocol';
// Types only: tests give the host a fake engine, and the worker passes the real one in.
import type { WhisperEngine, WhisperEngineOptions } from './whisper-engine';

/** What the host needs from an engine (WhisperEngine, or a test double). */
export type HostedEngine = Pick<WhisperEngine, 'load' | 'transcribe' | 'dispose' | 'device'>;

export type EngineFactory = (options: WhisperEngineOptions) => HostedEngine;

export class WhisperWorkerHost {
  private engine: HostedEngine | null = null;
  private readonly aborts = new Map<number, AbortController>();

  constructor(
    private readonly post: (message: WhisperResponse) => void,
    /** Comes from the caller so the host can be tested without transformers.js. */
    private readonly createEngine: EngineFactory,
  ) {}

  /** Answers one request; resolves once its answer is posted (tests await it, the worker does not). */
  handle(msg: WhisperRequest): Promise<void> {
    switch (msg.type) {
      case 'load':
        return this.load(msg.options);
      case 'transcribe':
        return this.transcribe(msg.id, msg.pcm);
      case 'abort':
        this.aborts.get(msg.id)?.abort();
        return Promise.resolve();
      case 'dispose':
        return this.dispose();
    }
  }

  private async load(options: WhisperEngineOptions): Promise<void> {
    // A repeated load shares the engine (and its load) rather than creating a second one.
    const engine = (this.engine ??= this.createEngine(options));
    try {
      await engine.load((progress) => this.post({ type: 'progress', progress }));
      this.post({ type: 'loaded', device: engine.device ?? 'wasm' });
    } catch (err) {
      const se = toSpeechError(err, 'model-load-failed');
      this.post({ type: 'load-error', kind: se.kind, detail: se.detail });
    }
  }

  private async transcribe(id: number, pcm: Float32Array): Promise<void> {
    if (!this.engine) {
      this.post({ type: 'error', id, kind: 'model-load-failed', detail: 'transcribe before load' });
      return;
    }
    const ac = new AbortController();
    this.aborts.set(id, ac);
    try {
      const text = await this.engine.transcribe(pcm, ac.signal);
      this.post({ type: 'result', id, text });
    } catch (err) {
      const se = toSpeechError(err, 'recognition-failed');
      this.post({ type: 'error', id, kind: se.kind, detail: se.detail });
    } finally {
      this.aborts.delete(id);
    }
  }

  private async dispose(): Promise<void> {
    this.aborts.forEach((a) => a.abort());
    try {
      await this.engine?.dispose();
    } catch {
      // Disposing is best effort: the worker is going away, and the client waits only for 'disposed'.
    } finally {
      this.engine = null;
      this.post({ type: 'disposed' });
    }
  }
}

/**
 * Connects a host to an endpoint (the worker global, or a MessagePort in tests); returns a function
 * that disconnects it. Requests are not awaited here, so an 'abort' reaches a running transcription.
 */
export function serveWhisper(endpoint: MessageEndpoint, createEngine: EngineFactory): () => void {
  const host = new WhisperWorkerHost((m) => endpoint.postMessage(m), createEngine);
  const onMessage = (e: MessageEvent<WhisperRequest>) => void host.handle(e.data);
  endpoint.addEventListener('message', onMessage as (e: MessageEvent) => void);
  return () => endpoint.removeEventListener('message', onMessage as (e: MessageEvent) => void);
}
