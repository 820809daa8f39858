// capture.ts is the browser layer: these tests drive it through stand-ins for the browser objects it
// touches (MediaDevices, AudioContext and its nodes, the AudioWorklet global scope), fed with the
// speech fixtures, and check what reaches onChunk and which SpeechError comes out of each failure.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureErrorKind, openMicrophone, PROCESSOR_NAME, WORKLET_SOURCE, type AudioChunk } from '../../src/speech/capture';
import { SpeechError } from '../../src/speech/errors';
import { loadFixture } from './helpers';

class FakeTrack extends EventTarget {
  stopped = false;
  constructor(private readonly channelCount = 2) {
    super();
  }
  stop() {
    this.stopped = true;
  }
  getSettings() {
    return { channelCount: this.channelCount };
  }
}

function fakeStream(tracks: FakeTrack[]) {
  return { getAudioTracks: () => tracks, getTracks: () => tracks } as unknown as MediaStream;
}

function devices(result: MediaStream | Error) {
  const calls: MediaStreamConstraints[] = [];
  return {
    calls,
    getUserMedia: async (c?: MediaStreamConstraints) => {
      calls.push(c!);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

class FakeNode {
  connections: unknown[] = [];
  disconnected = false;
  connect(n: unknown) {
    this.connections.push(n);
    return n;
  }
  disconnect() {
    this.disconnected = true;
  }
}

class FakeScriptProcessor extends FakeNode {
  onaudioprocess: ((e: AudioProcessingEvent) => void) | null = null;
  constructor(readonly bufferSize: number, readonly inputs: number) {
    super();
  }
  /** What the browser does every bufferSize frames. */
  fire(channels: Float32Array[]) {
    this.onaudioprocess?.({
      inputBuffer: { numberOfChannels: channels.length, getChannelData: (c: number) => channels[c] },
    } as unknown as AudioProcessingEvent);
  }
}

function fakeContext({ sampleRate = 48000, worklet = false } = {}) {
  const made: { processor?: FakeScriptProcessor; source?: FakeNode; closed: boolean; modules: string[] } = { closed: false, modules: [] };
  class Ctx {
    sampleRate = sampleRate;
    state = 'suspended';
    destination = new FakeNode();
    audioWorklet = worklet ? { addModule: async (url: string) => void made.modules.push(url) } : undefined;
    async resume() {
      this.state = 'running';
    }
    async close() {
      made.closed = true;
    }
    createMediaStreamSource() {
      return (made.source = new FakeNode());
    }
    createScriptProcessor(size: number, inputs: number) {
      return (made.processor = new FakeScriptProcessor(size, inputs));
    }
    createGain() {
      return Object.assign(new FakeNode(), { gain: { value: 1 } });
    }
  }
  return { Ctx: Ctx as unknown as new () => AudioContext, made };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('captureErrorKind', () => {
  it.each([
    ['NotAllowedError', 'permission-denied'],
    ['SecurityError', 'permission-denied'],
    ['NotFoundError', 'no-device'],
    ['OverconstrainedError', 'no-device'],
    ['NotReadableError', 'device-busy'],
    ['AbortError', 'device-busy'],
    ['TypeError', 'unsupported'],
  ])('%s -> %s', (name, kind) => {
    expect(captureErrorKind(new DOMException('x', name))).toBe(kind);
  });
});

describe('openMicrophone', () => {
  it.each([
    ['NotAllowedError', 'permission-denied'],
    ['NotFoundError', 'no-device'],
    ['NotReadableError', 'device-busy'],
  ])('getUserMedia %s -> SpeechError %s with a readable message', async (name, kind) => {
    const { Ctx, made } = fakeContext();
    const err = await openMicrophone({ onChunk: () => {}, mediaDevices: devices(new DOMException('denied by test', name)), AudioContext: Ctx }).catch((e: unknown) => e);
    expect(made.closed).toBe(true); // the context opened alongside getUserMedia is closed again
    expect(err).toBeInstanceOf(SpeechError);
    expect((err as SpeechError).kind).toBe(kind);
    expect((err as SpeechError).detail).toContain('denied by test');
    expect((err as SpeechError).message).toMatch(/type your prompt/);
  });

  it('without a microphone API (insecure page) -> unsupported', async () => {
    await expect(openMicrophone({ onChunk: () => {}, mediaDevices: {} as MediaDevices })).rejects.toMatchObject({ kind: 'unsupported' });
  });

  it('a stream without audio tracks -> no-device', async () => {
    const { Ctx } = fakeContext();
    await expect(openMicrophone({ onChunk: () => {}, mediaDevices: devices(fakeStream([])), AudioContext: Ctx })).rejects.toMatchObject({ kind: 'no-device' });
  });

  it('ScriptProcessor path: delivers copies of every channel at the context rate, then cleans up', async () => {
    const wav = loadFixture('peak-48k-stereo.wav');
    const track = new FakeTrack(2);
    const md = devices(fakeStream([track]));
    const { Ctx, made } = fakeContext({ sampleRate: 48000 });
    const chunks: AudioChunk[] = [];
    const errors: SpeechError[] = [];
    const mic = await openMicrophone({ onChunk: (c) => chunks.push(c), onError: (e) => errors.push(e), mediaDevices: md, AudioContext: Ctx, chunkFrames: 4096 });
    expect(mic.method).toBe('script-processor');
    expect(mic.sampleRate).toBe(48000);
    // Recognition-friendly constraints, one channel preferred.
    expect(md.calls[0].audio).toMatchObject({ echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: { ideal: 1 } });
    const p = made.processor!;
    expect(p.bufferSize).toBe(4096);
    expect(p.inputs).toBe(2);
    // The processor is connected through a muted gain to the destination (Chrome needs that).
    expect(made.source!.connections).toContain(p);
    for (let i = 0; i + 4096 <= wav.channels[0].length; i += 4096) {
      const buffers = wav.channels.map((c) => c.slice(i, i + 4096));
      p.fire(buffers);
      buffers.forEach((b) => b.fill(9)); // the browser reuses its buffers: what we got must be copies
    }
    expect(chunks.length).toBe(Math.floor(wav.channels[0].length / 4096));
    expect(chunks[3].sampleRate).toBe(48000);
    expect(chunks[3].channels[1]).toEqual(wav.channels[1].subarray(3 * 4096, 4 * 4096));
    expect(errors).toEqual([]);
    await mic.stop();
    expect(track.stopped).toBe(true);
    expect(made.closed).toBe(true);
    expect(p.disconnected).toBe(true);
    expect(p.onaudioprocess).toBeNull();
  });

  it('digital silence for silenceTimeoutMs -> one no-audio error (a muted mic)', async () => {
    const silence = loadFixture('silence-48k.wav');
    const { Ctx, made } = fakeContext({ sampleRate: 48000 });
    const errors: SpeechError[] = [];
    const mic = await openMicrophone({ onChunk: () => {}, onError: (e) => errors.push(e), mediaDevices: devices(fakeStream([new FakeTrack(1)])), AudioContext: Ctx, silenceTimeoutMs: 1000 });
    const x = silence.channels[0];
    for (let i = 0; i + 2048 <= x.length; i += 2048) made.processor!.fire([x.slice(i, i + 2048)]);
    expect(errors.map((e) => e.kind)).toEqual(['no-audio']);
    await mic.stop();
  });

  it('real speech, even quiet, is not "no audio"', async () => {
    const speech = loadFixture('cabin-noisy-44k.wav');
    const { Ctx, made } = fakeContext({ sampleRate: 44100 });
    const errors: SpeechError[] = [];
    const mic = await openMicrophone({ onChunk: () => {}, onError: (e) => errors.push(e), mediaDevices: devices(fakeStream([new FakeTrack(1)])), AudioContext: Ctx, silenceTimeoutMs: 500 });
    const x = speech.channels[0].map((v) => v * 0.01); // -40 dB
    for (let i = 0; i + 2048 <= x.length; i += 2048) made.processor!.fire([x.slice(i, i + 2048)]);
    expect(errors).toEqual([]);
    await mic.stop();
  });

  it('no data at all (a suspended context) -> no-audio from the watchdog', async () => {
    const { Ctx } = fakeContext();
    const errors: SpeechError[] = [];
    const mic = await openMicrophone({ onChunk: () => {}, onError: (e) => errors.push(e), mediaDevices: devices(fakeStream([new FakeTrack(1)])), AudioContext: Ctx, silenceTimeoutMs: 50 });
    await new Promise((r) => setTimeout(r, 400));
    expect(errors.map((e) => e.kind)).toEqual(['no-audio']);
    await mic.stop();
  });

  it('the track ending while recording (unplugged) -> no-device', async () => {
    const track = new FakeTrack(1);
    const { Ctx } = fakeContext();
    const errors: SpeechError[] = [];
    const mic = await openMicrophone({ onChunk: () => {}, onError: (e) => errors.push(e), mediaDevices: devices(fakeStream([track])), AudioContext: Ctx });
    track.dispatchEvent(new Event('ended'));
    expect(errors.map((e) => e.kind)).toEqual(['no-device']);
    await mic.stop();
  });

  it('AudioWorklet path: loads the processor, forwards its chunks, flushes the partial chunk on stop', async () => {
    const posted: unknown[] = [];
    class FakeWorkletNode extends FakeNode {
      static last: FakeWorkletNode;
      port = {
        onmessage: null as ((e: MessageEvent) => void) | null,
        postMessage: (m: unknown) => {
          posted.push(m);
          // The processor answers a flush with what it holds, then 'flushed'.
          if (m === 'flush') {
            queueMicrotask(() => {
              this.port.onmessage?.({ data: [new Float32Array([0.5, -0.5])] } as MessageEvent);
              this.port.onmessage?.({ data: 'flushed' } as MessageEvent);
            });
          }
        },
      };
      constructor(_ctx: unknown, readonly name: string, readonly options: AudioWorkletNodeOptions) {
        super();
        FakeWorkletNode.last = this;
      }
    }
    vi.stubGlobal('AudioWorkletNode', FakeWorkletNode);
    const { Ctx, made } = fakeContext({ sampleRate: 44100, worklet: true });
    const chunks: AudioChunk[] = [];
    const mic = await openMicrophone({ onChunk: (c) => chunks.push(c), mediaDevices: devices(fakeStream([new FakeTrack(1)])), AudioContext: Ctx, chunkFrames: 1024 });
    expect(mic.method).toBe('audio-worklet');
    expect(made.modules).toHaveLength(1);
    const node = FakeWorkletNode.last;
    expect(node.name).toBe(PROCESSOR_NAME);
    expect(node.options.processorOptions).toEqual({ chunkFrames: 1024 });
    expect(made.source!.connections).toContain(node);
    node.port.onmessage!({ data: [new Float32Array(1024).fill(0.25)] } as MessageEvent);
    await mic.stop();
    expect(posted).toEqual(['flush']);
    expect(chunks.map((c) => c.channels[0].length)).toEqual([1024, 2]);
    expect(chunks[1].channels[0][0]).toBe(0.5);
    expect(made.closed).toBe(true);
  });
});

describe('the AudioWorklet processor code (run in a stand-in AudioWorkletGlobalScope)', () => {
  it('batches 128-frame render quanta into chunks, transfers them, and flushes the rest', () => {
    const messages: { data: unknown; transfer?: Transferable[] }[] = [];
    let Processor: (new (o: object) => { process(inputs: Float32Array[][]): boolean; port: { onmessage: ((e: { data: unknown }) => void) | null } }) | null = null;
    class AudioWorkletProcessor {
      port = { onmessage: null as ((e: { data: unknown }) => void) | null, postMessage: (data: unknown, transfer?: Transferable[]) => messages.push({ data, transfer }) };
    }
    const registerProcessor = (name: string, ctor: typeof Processor) => {
      expect(name).toBe(PROCESSOR_NAME);
      Processor = ctor;
    };
    new Function('AudioWorkletProcessor', 'registerProcessor', WORKLET_SOURCE)(AudioWorkletProcessor, registerProcessor);
    const p = new Processor!({ processorOptions: { chunkFrames: 300 } });
    const wav = loadFixture('peak-48k-stereo.wav');
    const quanta = 10;
    for (let q = 0; q < quanta; q++) {
      expect(p.process([wav.channels.map((c) => c.subarray(q * 128, (q + 1) * 128))])).toBe(true);
    }
    expect(p.process([[]])).toBe(true); // a disconnected input
    p.port.onmessage!({ data: 'flush' });
    const chunks = messages.filter((m) => Array.isArray(m.data)).map((m) => m.data as Float32Array[]);
    expect(chunks.map((c) => c[0].length)).toEqual([300, 300, 300, 300, 80]);
    expect(messages.at(-1)!.data).toBe('flushed');
    expect(messages[0].transfer).toHaveLength(2);
    const left = new Float32Array(1280);
    let o = 0;
    for (const c of chunks) {
      left.set(c[0], o);
      o += c[0].length;
    }
    expect(left).toEqual(wav.channels[0].subarray(0, 1280));
    expect(chunks[2][1]).toEqual(wav.channels[1].subarray(600, 900));
  });
});
