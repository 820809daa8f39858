// The Whisper worker's host in Node, with a test double for the engine (the real engine's decode is
// checked against PyTorch in whisper-engine.test.ts), and the client against it over a MessageChannel.
import { afterEach, describe, expect, it } from 'vitest';
import { WhisperWorkerClient } from '../../src/speech/client';
import { SpeechError } from '../../src/speech/errors';
import { serveWhisper, WhisperWorkerHost, type HostedEngine } from '../../src/speech/host';
import type { MessageEndpoint, WhisperResponse } from '../../src/speech/protocol';
import type { LoadProgress, WhisperDevice, WhisperEngineOptions } from '../../src/speech/whisper-engine';

/** An engine whose load and transcriptions the test settles by hand. */
class FakeEngine implements HostedEngine {
  device: WhisperDevice | null = null;
  loads = 0;
  disposed = false;
  readonly heard: Float32Array[] = [];
  readonly signals: AbortSignal[] = [];
  constructor(
    readonly options: WhisperEngineOptions,
    private readonly behaviour: { loadError?: unknown; text?: string; hang?: boolean } = {},
  ) {}

  async load(onProgress?: (p: LoadProgress) => void): Promise<void> {
    this.loads++;
    onProgress?.({ status: 'download', loaded: 5, total: 10, fraction: 0.5 });
    if (this.behaviour.loadError !== undefined) throw this.behaviour.loadError;
    this.device = 'wasm';
    onProgress?.({ status: 'ready', loaded: 10, total: 10, fraction: 1 });
  }

  transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string> {
    this.heard.push(pcm);
    if (signal) this.signals.push(signal);
    if (!this.behaviour.hang) return Promise.resolve(this.behaviour.text ?? 'a cabin in the woods');
    return new Promise<string>((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new DOMException('stopped', 'AbortError')), { once: true });
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

function hostWith(behaviour: ConstructorParameters<typeof FakeEngine>[1] = {}) {
  const sent: WhisperResponse[] = [];
  const engines: FakeEngine[] = [];
  const host = new WhisperWorkerHost(
    (m) => sent.push(m),
    (options) => {
      const e = new FakeEngine(options, behaviour);
      engines.push(e);
      return e;
    },
  );
  return { host, sent, engines };
}

const pcm = () => new Float32Array([0.1, -0.2, 0.3]);

describe('WhisperWorkerHost', () => {
  it('loads with progress and says on which device; a second load shares the engine', async () => {
    const { host, sent, engines } = hostWith();
    await host.handle({ type: 'load', options: { modelId: 'm' } });
    expect(sent).toEqual([
      { type: 'progress', progress: { status: 'download', loaded: 5, total: 10, fraction: 0.5 } },
      { type: 'progress', progress: { status: 'ready', loaded: 10, total: 10, fraction: 1 } },
      { type: 'loaded', device: 'wasm' },
    ]);
    await host.handle({ type: 'load', options: { modelId: 'other' } });
    expect(engines).toHaveLength(1);
    expect(engines[0]!.options).toEqual({ modelId: 'm' });
    expect(engines[0]!.loads).toBe(2);
  });

  it('answers a failed load with load-error: a SpeechError keeps its kind, anything else is model-load-failed', async () => {
    const a = hostWith({ loadError: new SpeechError('recognizer-unavailable', 'no service') });
    await a.host.handle({ type: 'load', options: {} });
    expect(a.sent.at(-1)).toEqual({ type: 'load-error', kind: 'recognizer-unavailable', detail: 'no service' });
    const b = hostWith({ loadError: new TypeError('fetch failed') });
    await b.host.handle({ type: 'load', options: {} });
    expect(b.sent.at(-1)).toEqual({ type: 'load-error', kind: 'model-load-failed', detail: 'TypeError: fetch failed' });
  });

  it('transcribes for the request id, and refuses a transcription before any load', async () => {
    const { host, sent, engines } = hostWith({ text: 'a lighthouse' });
    await host.handle({ type: 'transcribe', id: 1, pcm: pcm() });
    expect(sent).toEqual([{ type: 'error', id: 1, kind: 'model-load-failed', detail: 'transcribe before load' }]);
    await host.handle({ type: 'load', options: {} });
    await host.handle({ type: 'transcribe', id: 2, pcm: pcm() });
    expect(sent.at(-1)).toEqual({ type: 'result', id: 2, text: 'a lighthouse' });
    expect(Array.from(engines[0]!.heard[0]!)).toEqual(Array.from(pcm()));
  });

  it('aborts the named transcription while it runs, as error aborted', async () => {
    const { host, sent, engines } = hostWith({ hang: true });
    await host.handle({ type: 'load', options: {} });
    const running = host.handle({ type: 'transcribe', id: 7, pcm: pcm() });
    await host.handle({ type: 'abort', id: 8 }); // another id: nothing happens
    expect(engines[0]!.signals[0]!.aborted).toBe(false);
    await host.handle({ type: 'abort', id: 7 });
    await running;
    expect(sent.at(-1)).toMatchObject({ type: 'error', id: 7, kind: 'aborted' });
  });

  it('dispose stops running transcriptions, disposes the engine and answers disposed; a later transcribe needs a load', async () => {
    const { host, sent, engines } = hostWith({ hang: true });
    await host.handle({ type: 'load', options: {} });
    const running = host.handle({ type: 'transcribe', id: 3, pcm: pcm() });
    await host.handle({ type: 'dispose' });
    await running;
    expect(engines[0]!.disposed).toBe(true);
    expect(sent).toContainEqual({ type: 'disposed' });
    expect(sent).toContainEqual(expect.objectContaining({ type: 'error', id: 3, kind: 'aborted' }));
    await host.handle({ type: 'transcribe', id: 4, pcm: pcm() });
    expect(sent.at(-1)).toEqual({ type: 'error', id: 4, kind: 'model-load-failed', detail: 'transcribe before load' });
  });
});

describe('WhisperWorkerClient against the host (MessageChannel, fake engine)', () => {
  const channels: MessageChannel[] = [];
  afterEach(() => {
    for (const c of channels.splice(0)) {
      c.port1.close();
      c.port2.close();
    }
  });

  function connect(behaviour: ConstructorParameters<typeof FakeEngine>[1] = {}) {
    const channel = new MessageChannel();
    channels.push(channel);
    channel.port1.start();
    channel.port2.start();
    const engines: FakeEngine[] = [];
    serveWhisper(channel.port2 as unknown as MessageEndpoint, (o) => {
      const e = new FakeEngine(o, behaviour);
      engines.push(e);
      return e;
    });
    const client = new WhisperWorkerClient(channel.port1 as unknown as MessageEndpoint, { modelId: 'm' });
    return { client, engines };
  }

  it('loads once for concurrent callers, transcribes a copy of the caller buffer', async () => {
    const { client, engines } = connect({ text: 'snowy peaks' });
    const seen: LoadProgress[] = [];
    await Promise.all([client.load((p) => seen.push(p)), client.load()]);
    expect(client.loaded).toBe(true);
    expect(client.device).toBe('wasm');
    expect(engines[0]!.loads).toBe(1);
    expect(seen.at(-1)).toMatchObject({ status: 'ready', fraction: 1 });
    const mine = pcm();
    expect(await client.transcribe(mine)).toBe('snowy peaks');
    expect(mine.length).toBe(3); // not transferred away
    await client.dispose();
  });

  it('rejects a failed load with the SpeechError of the kind the host reported', async () => {
    const { client } = connect({ loadError: new TypeError('fetch failed') });
    const err = await client.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeechError);
    expect(err).toMatchObject({ kind: 'model-load-failed', detail: 'TypeError: fetch failed' });
    expect(client.loaded).toBe(false);
    await client.dispose();
  });

  it('an aborted signal stops the transcription in the worker; dispose rejects later calls as aborted', async () => {
    const { client, engines } = connect({ hang: true });
    await client.load();
    const ac = new AbortController();
    const pending = client.transcribe(pcm(), ac.signal);
    await expect.poll(() => engines[0]!.signals.length).toBe(1);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
    expect(engines[0]!.signals[0]!.aborted).toBe(true);
    await client.dispose();
    expect(engines[0]!.disposed).toBe(true);
    await expect(client.transcribe(pcm())).rejects.toMatchObject({ kind: 'aborted' });
  });
});
