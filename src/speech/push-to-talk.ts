/**
 * Push-to-talk: a small state machine that ties microphone -> 16 kHz mono -> end-of-speech ->
 * recogniser and yields the transcript for the prompt field. The person confirms or edits it
 * before generating; nothing here starts a generation.
 *
 *   idle --press--> listening --release / end of speech (tap mode) / time limit--> transcribing
 *   transcribing --> done (transcript) | error (kind + message)
 *   any --cancel--> idle;  done | error --press--> listening;  done | error --reset--> idle
 *
 * Plain TypeScript (no React): a vanilla store with subscribe/getState. State changes only on those
 * transitions (and on whole-percent model download steps, and on interim text from the Web Speech
 * API): never per audio chunk. The microphone level for a meter is read with getLevel(), e.g. once
 * per frame.
 *
 * With a PCM recogniser (Whisper) the capture runs here: each chunk is downmixed, resampled
 * (streaming) and fed to the VAD; on stop the whole 16 kHz recording is trimmed to
 * [first speech start - preRoll, last speech end + postRoll] and only that goes to the recogniser.
 * The Whisper model starts loading on the first press, in parallel with listening.
 * With the Web Speech API the browser captures and endpoints itself.
 *
 * The instance owns the recognisers it is given and disposes them in dispose().
 */

import { openMicrophone as browserOpenMicrophone, type AudioChunk, type MicrophoneCapture, type MicrophoneOptions } from './capture';
import { SpeechError, toSpeechError, type SpeechErrorKind } from './errors';
import type { LiveSession, LoadProgress, PcmRecognizer, Recognizer } from './recognizer';
import { downmix, StreamingResampler, WHISPER_SAMPLE_RATE } from './resample';
import { EnergyVad, type VadOptions } from './vad';

export type PushToTalkStatus = 'idle' | 'listening' | 'transcribing' | 'done' | 'error';

export interface PushToTalkState {
  readonly status: PushToTalkStatus;
  readonly recognizer: Recognizer['kind'];
  /** done: the transcript; listening with the Web Speech API: the interim text so far. */
  readonly transcript: string;
  readonly error: { readonly kind: SpeechErrorKind; readonly message: string } | null;
  /** The VAD (or the browser) has heard speech in this take. */
  readonly speechDetected: boolean;
  /** Whisper model download, while one is under way; null otherwise. */
  readonly model: LoadProgress | null;
}

export interface PushToTalkOptions {
  recognizer: Recognizer;
  /** Replaces the recogniser after it reports 'recognizer-unavailable' (the Web Speech service offline). */
  fallbackRecognizer?: () => Recognizer;
  /** hold: listen while the button is held; tap: press once, stop at the end of speech (or press again). */
  mode?: 'hold' | 'tap';
  openMicrophone?: (options: MicrophoneOptions) => Promise<MicrophoneCapture>;
  microphone?: Omit<MicrophoneOptions, 'onChunk' | 'onError'>;
  vad?: Omit<VadOptions, 'sampleRate'>;
  /** Stop listening after this much audio, whatever the button does. */
  maxDurationMs?: number;
  /** Give up with 'no-speech' if no speech has started after this much audio. */
  noSpeechTimeoutMs?: number;
  /** Audio kept before the detected start and after the detected end (soft onsets, final consonants). */
  preRollMs?: number;
  postRollMs?: number;
}

const IDLE: Omit<PushToTalkState, 'recognizer'> = {
  status: 'idle',
  transcript: '',
  error: null,
  speechDetected: false,
  model: null,
};

/** A growable Float32 buffer: the 16 kHz recording (15 s is under 1 MB). */
class PcmBuffer {
  private data = new Float32Array(WHISPER_SAMPLE_RATE * 4);
  length = 0;
  push(x: Float32Array): void {
    if (this.length + x.length > this.data.length) {
      const next = new Float32Array(Math.max(this.data.length * 2, this.length + x.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(x, this.length);
    this.length += x.length;
  }
  slice(start: number, end: number): Float32Array {
    return this.data.slice(Math.max(0, start), Math.min(this.length, end));
  }
}

interface PcmTake {
  kind: 'pcm';
  recognizer: PcmRecognizer;
  capture: MicrophoneCapture | null;
  resampler: StreamingResampler | null;
  vad: EnergyVad;
  pcm: PcmBuffer;
  stopping: boolean;
  releaseRequested: boolean;
}
interface LiveTake {
  kind: 'live';
  session: LiveSession;
}
interface Take {
  abort: AbortController;
  media: PcmTake | LiveTake;
}

export class PushToTalk {
  private state: PushToTalkState;
  private readonly listeners = new Set<() => void>();
  private recognizer: Recognizer;
  private readonly options: PushToTalkOptions;
  private take: Take | null = null;
  private level = -Infinity;
  private modelLoad: Promise<void> | null = null;
  private disposed = false;

  constructor(options: PushToTalkOptions) {
    this.options = options;
    this.recognizer = options.recognizer;
    this.state = { ...IDLE, recognizer: this.recognizer.kind };
  }

  getState = (): PushToTalkState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Level of the last microphone chunk in dBFS (-Infinity when not capturing). Poll it; it is not state. */
  getLevel(): number {
    return this.level;
  }

  /** Starts a take (button down, or a tap in tap mode). Call from the user gesture. */
  press(): void {
    if (this.disposed) return;
    const { status } = this.state;
    if (status === 'listening' || status === 'transcribing') {
      if (this.options.mode === 'tap' && status === 'listening') this.release();
      return;
    }
    const abort = new AbortController();
    this.set({ ...IDLE, status: 'listening', recognizer: this.recognizer.kind });
    if (this.recognizer.input === 'microphone') {
      // Assigned right after listen(); its callbacks only run later.
      let take: Take;
      const session = this.recognizer.listen({
        continuous: (this.options.mode ?? 'hold') === 'hold',
        onInterim: (text) => {
          if (this.take === take && this.state.status === 'listening') this.set({ transcript: text, speechDetected: text.length > 0 });
        },
      });
      take = { abort, media: { kind: 'live', session } };
      this.take = take;
      session.result.then(
        (text) => this.finishWith(take, text),
        (e) => this.fail(take, e),
      );
      return;
    }
    const take: Take = { abort, media: this.newPcmTake(this.recognizer) };
    this.take = take;
    this.startPcm(take);
  }

  /** Button up: stop listening and transcribe what was said. */
  release(): void {
    const take = this.take;
    if (!take || this.state.status !== 'listening') return;
    if (take.media.kind === 'live') {
      this.set({ status: 'transcribing' });
      take.media.session.stop();
      return;
    }
    if (!take.media.capture) {
      // The microphone is still opening (permission prompt): stop as soon as it is open.
      take.media.releaseRequested = true;
      return;
    }
    void this.stopPcm(take);
  }

  /** Abandons the current take (no transcript, no error). */
  cancel(): void {
    const take = this.take;
    this.take = null;
    if (take) {
      take.abort.abort();
      if (take.media.kind === 'live') take.media.session.abort();
      else void take.media.capture?.stop();
    }
    this.level = -Infinity;
    if (this.state.status !== 'idle') this.set({ ...IDLE, recognizer: this.recognizer.kind });
  }

  /** After the UI took the transcript or showed the error. */
  reset(): void {
    if (this.state.status === 'done' || this.state.status === 'error') this.set({ ...IDLE, recognizer: this.recognizer.kind });
  }

  async dispose(): Promise<void> {
    this.cancel();
    this.disposed = true;
    this.listeners.clear();
    await this.recognizer.dispose();
  }

  // ---------------------------------------------------------------------------------------------

  private set(patch: Partial<PushToTalkState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private ensureModel(recognizer: PcmRecognizer): Promise<void> {
    if (recognizer.ready) return Promise.resolve();
    let lastPercent = -1;
    this.modelLoad ??= recognizer
      .load((p) => {
        const percent = Math.floor(p.fraction * 100);
        if (p.status === 'ready') {
          if (this.state.model) this.set({ model: null });
        } else if (percent !== lastPercent) {
          lastPercent = percent;
          this.set({ model: p });
        }
      })
      .finally(() => {
        this.modelLoad = null;
        if (this.state.model) this.set({ model: null });
      });
    return this.modelLoad;
  }

  private newPcmTake(recognizer: PcmRecognizer): PcmTake {
    return {
      kind: 'pcm',
      recognizer,
      capture: null,
      resampler: null,
      vad: new EnergyVad({ ...this.options.vad, sampleRate: WHISPER_SAMPLE_RATE }),
      pcm: new PcmBuffer(),
      stopping: false,
      releaseRequested: false,
    };
  }

  private startPcm(take: Take): void {
    const o = this.options;
    const media = take.media as PcmTake;
    const recognizer = media.recognizer;
    // Download/open the model while the person speaks; a failure surfaces when it is needed.
    this.ensureModel(recognizer).catch(() => undefined);
    const open = o.openMicrophone ?? browserOpenMicrophone;
    open({
      ...o.microphone,
      onChunk: (chunk) => this.onChunk(take, chunk),
      onError: (e) => this.fail(take, e),
    }).then(
      (capture) => {
        if (this.take !== take) {
          void capture.stop();
          return;
        }
        media.capture = capture;
        if (media.releaseRequested) void this.stopPcm(take);
      },
      (e) => this.fail(take, e),
    );
  }

  private onChunk(take: Take, chunk: AudioChunk): void {
    if (this.take !== take || take.media.kind !== 'pcm') return;
    const media = take.media;
    const mono = downmix(chunk.channels);
    let sum = 0;
    for (let i = 0; i < mono.length; i++) sum += mono[i] * mono[i];
    this.level = mono.length ? 10 * Math.log10(sum / mono.length) : -Infinity;
    media.resampler ??= new StreamingResampler(chunk.sampleRate, WHISPER_SAMPLE_RATE);
    this.feed(take, media, media.resampler.push(mono));
  }

  private feed(take: Take, media: PcmTake, pcm16k: Float32Array): void {
    media.pcm.push(pcm16k);
    for (const event of media.vad.push(pcm16k)) {
      if (event.type === 'speech-start' && !this.state.speechDetected) this.set({ speechDetected: true });
      if (event.type === 'speech-end' && this.options.mode === 'tap' && !media.stopping) void this.stopPcm(take);
    }
    if (media.stopping) return;
    const seconds = media.pcm.length / WHISPER_SAMPLE_RATE;
    if (seconds * 1000 >= (this.options.maxDurationMs ?? 15000)) {
      void this.stopPcm(take);
    } else if (!this.state.speechDetected && seconds * 1000 >= (this.options.noSpeechTimeoutMs ?? 8000)) {
      this.fail(take, new SpeechError('no-speech', `No speech within ${seconds.toFixed(1)} s.`));
    }
  }

  private async stopPcm(take: Take): Promise<void> {
    if (take.media.kind !== 'pcm' || take.media.stopping) return;
    const media = take.media;
    media.stopping = true;
    this.set({ status: 'transcribing' });
    // stop() delivers the samples still buffered in the audio thread through onChunk first.
    await media.capture?.stop();
    this.level = -Infinity;
    if (this.take !== take) return;
    if (media.resampler) this.feed(take, media, media.resampler.flush());
    media.vad.finish();
    const segments = media.vad.segments;
    if (segments.length === 0) {
      this.fail(take, new SpeechError('no-speech', `The VAD found no speech in ${(media.pcm.length / WHISPER_SAMPLE_RATE).toFixed(1)} s of audio.`));
      return;
    }
    const rate = WHISPER_SAMPLE_RATE;
    const start = Math.floor((segments[0].start - (this.options.preRollMs ?? 250) / 1000) * rate);
    const end = Math.ceil((segments[segments.length - 1].end + (this.options.postRollMs ?? 150) / 1000) * rate);
    const utterance = media.pcm.slice(start, end);
    try {
      await this.ensureModel(media.recognizer);
      if (this.take !== take) return;
      const text = await media.recognizer.transcribe(utterance, take.abort.signal);
      this.finishWith(take, text);
    } catch (e) {
      this.fail(take, e);
    }
  }

  private finishWith(take: Take, text: string): void {
    if (this.take !== take) return;
    this.take = null;
    this.set({ status: 'done', transcript: text, speechDetected: true, error: null, model: null });
  }

  private fail(take: Take, e: unknown): void {
    if (this.take !== take) return;
    this.take = null;
    if (take.media.kind === 'pcm') void take.media.capture?.stop();
    else take.media.session.abort();
    take.abort.abort();
    this.level = -Infinity;
    const error = toSpeechError(e, 'recognition-failed');
    if (error.kind === 'aborted') {
      this.set({ ...IDLE, recognizer: this.recognizer.kind });
      return;
    }
    if (error.kind === 'recognizer-unavailable' && this.options.fallbackRecognizer) {
      const old = this.recognizer;
      this.recognizer = this.options.fallbackRecognizer();
      void old.dispose();
    }
    this.set({ status: 'error', error: { kind: error.kind, message: error.message }, recognizer: this.recognizer.kind, model: null });
  }
}
