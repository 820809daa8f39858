// Test doubles for the speech tests, each standing in for something outside our code: a microphone
// that plays a WAV fixture in real-time-sized chunks, a recogniser that records what it is given
// (the boundary the issue allows a double at), and the browser's SpeechRecognition.
import type { MicrophoneCapture, MicrophoneOptions } from '../../src/speech/capture';
import { SpeechError } from '../../src/speech/errors';
import type { LoadProgress, PcmRecognizer, SpeechRecognitionEventLike, SpeechRecognitionLike } from '../../src/speech/recognizer';
import type { WavAudio } from '../../src/speech/wav';

export interface FakeMicrophone {
  open: (o: MicrophoneOptions) => Promise<MicrophoneCapture>;
  readonly opened: number;
  readonly stopped: number;
  /** Frames delivered so far (per channel). */
  readonly delivered: number;
  /** Resolves when the whole file was delivered or the capture was stopped. */
  readonly finished: Promise<void>;
  options: MicrophoneOptions | null;
}

/** Plays `wav` through onChunk, one chunk per macrotask, like an AudioWorklet would over time. */
export function fakeMicrophone(wav: WavAudio, { chunkFrames = 2048, openDelay = 0 } = {}): FakeMicrophone {
  let finish!: () => void;
  const mic: FakeMicrophone = {
    opened: 0,
    stopped: 0,
    delivered: 0,
    finished: new Promise<void>((r) => (finish = r)),
    options: null,
    open: async (o) => {
      (mic as { opened: number }).opened++;
      mic.options = o;
      if (openDelay) await new Promise((r) => setTimeout(r, openDelay));
      let stopped = false;
      const pump = async () => {
        const n = wav.channels[0].length;
        while (!stopped && mic.delivered < n) {
          const i = mic.delivered;
          const channels = wav.channels.map((c) => c.slice(i, i + chunkFrames));
          (mic as { delivered: number }).delivered = Math.min(n, i + chunkFrames);
          o.onChunk({ channels, sampleRate: wav.sampleRate });
          await new Promise((r) => setTimeout(r, 0));
        }
        finish();
      };
      setTimeout(pump, 0);
      return {
        sampleRate: wav.sampleRate,
        method: 'audio-worklet',
        stop: async () => {
          if (!stopped) (mic as { stopped: number }).stopped++;
          stopped = true;
          finish();
        },
      };
    },
  };
  return mic;
}

/** A microphone whose opening fails the way getUserMedia does. */
export function failingMicrophone(error: SpeechError): (o: MicrophoneOptions) => Promise<MicrophoneCapture> {
  return async () => {
    throw error;
  };
}

/** Records every segment it is asked to transcribe; the text it returns is whatever the test says. */
export class RecordingRecognizer implements PcmRecognizer {
  readonly kind = 'whisper' as const;
  readonly input = 'pcm16k' as const;
  ready = false;
  loads = 0;
  readonly segments: Float32Array[] = [];
  constructor(
    private readonly reply: string | ((pcm: Float32Array) => string) = 'a cozy wooden cabin at sunset',
    private readonly loadSteps: LoadProgress[] = [],
    private readonly loadError: SpeechError | null = null,
  ) {}
  async load(onProgress?: (p: LoadProgress) => void): Promise<void> {
    this.loads++;
    for (const p of this.loadSteps) {
      await new Promise((r) => setTimeout(r, 0));
      onProgress?.(p);
    }
    if (this.loadError) throw this.loadError;
    this.ready = true;
    onProgress?.({ status: 'ready', loaded: 1, total: 1, fraction: 1 });
  }
  async transcribe(pcm: Float32Array): Promise<string> {
    this.segments.push(pcm);
    const text = typeof this.reply === 'function' ? this.reply(pcm) : this.reply;
    if (!text) throw new SpeechError('no-speech');
    return text;
  }
  disposed = false;
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** The browser's SpeechRecognition, driven by the test through `FakeSpeechRecognition.last`. */
export class FakeSpeechRecognition implements SpeechRecognitionLike {
  static last: FakeSpeechRecognition | null = null;
  static instances = 0;
  lang = '';
  continuous = false;
  interimResults = false;
  maxAlternatives = 0;
  onresult: ((e: SpeechRecognitionEventLike) => void) | null = null;
  onerror: ((e: { error: string; message?: string }) => void) | null = null;
  onend: (() => void) | null = null;
  started = false;
  stopped = false;
  aborted = false;
  private results: { transcript: string; isFinal: boolean }[] = [];
  constructor() {
    FakeSpeechRecognition.last = this;
    FakeSpeechRecognition.instances++;
  }
  start(): void {
    if (this.started) throw new DOMException('already started', 'InvalidStateError');
    this.started = true;
  }
  stop(): void {
    this.stopped = true;
  }
  abort(): void {
    this.aborted = true;
    this.end();
  }
  /** Simulates the service returning text for result slot `index`. */
  say(index: number, transcript: string, isFinal: boolean): void {
    this.results[index] = { transcript, isFinal };
    const results = this.results.map((r) => Object.assign([{ transcript: r.transcript }], { isFinal: r.isFinal }));
    this.onresult?.({ resultIndex: index, results: Object.assign(results, { length: results.length }) });
  }
  fail(error: string): void {
    this.onerror?.({ error });
  }
  end(): void {
    this.onend?.();
  }
}
