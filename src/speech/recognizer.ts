/**
 * Speech recognisers behind one interface, and the choice between them.
 *
 * Two kinds exist because the browser's recogniser and ours take audio differently:
 * - Web Speech API (`SpeechRecognition`): the browser opens the microphone, detects the end of speech
 *   and returns text. Used wherever the browser has it (Chrome, Edge, Safari). Note that Chrome's
 *   implementation sends the audio to a server; when that service is unreachable it reports
 *   'network' and we fall back to Whisper.
 * - Whisper on the device (@huggingface/transformers): we capture, resample to 16 kHz, cut the
 *   utterance with the VAD and hand it the PCM. Used where the browser has no recogniser
 *   (the Quest browser, Firefox).
 */

import { SpeechError, toSpeechError, type SpeechErrorKind } from './errors';
import {
  cleanTranscript,
  WhisperEngine,
  type LoadProgress,
  type WhisperEngineOptions,
} from './whisper-engine';
import { startWhisperWorker } from './client';

export type { LoadProgress } from './whisper-engine';

/** Recognises 16 kHz mono PCM that the app captured itself. */
export interface PcmRecognizer {
  readonly kind: 'whisper';
  readonly input: 'pcm16k';
  /** True once the model is ready (no download left). */
  readonly ready: boolean;
  /** Downloads/opens the model; progress is in bytes over all files. Repeated calls share one load. */
  load(onProgress?: (p: LoadProgress) => void): Promise<void>;
  /** Text of the utterance, cleaned of non-speech tags; throws SpeechError('no-speech') when empty. */
  transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string>;
  dispose(): Promise<void>;
}

export interface LiveSession {
  /** Ends listening; the final transcript then arrives through `result`. */
  stop(): void;
  /** Abandons the session; `result` rejects with 'aborted'. */
  abort(): void;
  readonly result: Promise<string>;
}

export interface LiveListenOptions {
  /** Keep listening through pauses until stop() (hold-to-talk); false ends at the first pause. */
  continuous: boolean;
  onInterim?: (text: string) => void;
}

/** Listens to the microphone itself. */
export interface LiveRecognizer {
  readonly kind: 'web-speech';
  readonly input: 'microphone';
  listen(options: LiveListenOptions): LiveSession;
  dispose(): Promise<void>;
}

export type Recognizer = PcmRecognizer | LiveRecognizer;

// ---------------------------------------------------------------------------------------------
// Web Speech API. TypeScript's DOM library has no SpeechRecognition types; these are the parts used.

interface SpeechRecognitionAlternativeLike {
  readonly transcript: string;
}
interface SpeechRecognitionResultLike {
  readonly isFinal: boolean;
  readonly length: number;
  [index: number]: SpeechRecognitionAlternativeLike;
}
export interface SpeechRecognitionEventLike {
  readonly resultIndex: number;
  readonly results: { readonly length: number; [index: number]: SpeechRecognitionResultLike };
}
export interface SpeechRecognitionErrorEventLike {
  readonly error: string;
  readonly message?: string;
}
export interface SpeechRecognitionLike {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  maxAlternatives: number;
  onresult: ((e: SpeechRecognitionEventLike) => void) | null;
  onerror: ((e: SpeechRecognitionErrorEventLike) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}
export type SpeechRecognitionConstructor = new () => SpeechRecognitionLike;

/** The browser's SpeechRecognition constructor, prefixed or not; null when there is none. */
export function getSpeechRecognition(scope: object = globalThis): SpeechRecognitionConstructor | null {
  const s = scope as { SpeechRecognition?: unknown; webkitSpeechRecognition?: unknown };
  const ctor = s.SpeechRecognition ?? s.webkitSpeechRecognition;
  return typeof ctor === 'function' ? (ctor as SpeechRecognitionConstructor) : null;
}

/** SpeechRecognitionErrorEvent.error -> our kinds. */
export function webSpeechErrorKind(error: string): SpeechErrorKind {
  switch (error) {
    case 'not-allowed':
      return 'permission-denied';
    case 'audio-capture':
      return 'no-device';
    case 'no-speech':
      return 'no-speech';
    case 'aborted':
      return 'aborted';
    // The service, not the user: another recogniser may still work.
    case 'network':
    case 'service-not-allowed':
    case 'language-not-supported':
      return 'recognizer-unavailable';
    default:
      return 'recognition-failed';
  }
}

export class WebSpeechRecognizer implements LiveRecognizer {
  readonly kind = 'web-speech' as const;
  readonly input = 'microphone' as const;
  private readonly Ctor: SpeechRecognitionConstructor;
  private readonly lang: string;
  private readonly active = new Set<SpeechRecognitionLike>();

  constructor(Ctor: SpeechRecognitionConstructor, lang = 'en-US') {
    this.Ctor = Ctor;
    this.lang = lang;
  }

  listen(options: LiveListenOptions): LiveSession {
    const rec = new this.Ctor();
    rec.lang = this.lang;
    rec.continuous = options.continuous;
    rec.interimResults = true;
    rec.maxAlternatives = 1;
    this.active.add(rec);
    const finals: string[] = [];
    let interim = '';
    let failure: SpeechError | null = null;
    let aborted = false;
    const result = new Promise<string>((resolve, reject) => {
      rec.onresult = (e) => {
        interim = '';
        for (let i = e.resultIndex; i < e.results.length; i++) {
          const r = e.results[i];
          const text = r[0]?.transcript ?? '';
          if (r.isFinal) finals[i] = text;
          else interim += text;
        }
        options.onInterim?.(cleanTranscript([...finals.filter(Boolean), interim].join(' ')));
      };
      rec.onerror = (e) => {
        // 'no-speech' and friends arrive here, then onend follows.
        failure ??= new SpeechError(webSpeechErrorKind(e.error), `SpeechRecognition error: ${e.error}${e.message ? ` (${e.message})` : ''}`);
      };
      rec.onend = () => {
        this.active.delete(rec);
        rec.onresult = rec.onerror = rec.onend = null;
        if (aborted) return reject(new SpeechError('aborted'));
        // Chrome ends a stopped session without finals when it only had interim text: keep that.
        const text = cleanTranscript(finals.filter(Boolean).join(' ') || interim);
        if (text) return resolve(text);
        reject(failure ?? new SpeechError('no-speech', 'SpeechRecognition ended without a result.'));
      };
    });
    try {
      rec.start();
    } catch (e) {
      this.active.delete(rec);
      return { stop() {}, abort() {}, result: Promise.reject(toSpeechError(e, 'recognition-failed')) };
    }
    return {
      stop: () => rec.stop(),
      abort: () => {
        aborted = true;
        rec.abort();
      },
      result,
    };
  }

  async dispose(): Promise<void> {
    for (const rec of this.active) rec.abort();
    this.active.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Whisper on the device.

/** What WhisperRecognizer needs from where Whisper runs: WhisperEngine (in-process) or the worker client. */
export interface WhisperBackend {
  readonly loaded: boolean;
  load(onProgress?: (p: LoadProgress) => void): Promise<void>;
  transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string>;
  dispose(): Promise<void>;
}

export class WhisperRecognizer implements PcmRecognizer {
  readonly kind = 'whisper' as const;
  readonly input = 'pcm16k' as const;
  private backendInstance: WhisperBackend | null;
  private readonly createBackend: (() => WhisperBackend) | null;

  /** A backend, or a factory called on first use (so no worker starts before the first press). */
  constructor(backend: WhisperBackend | (() => WhisperBackend)) {
    this.backendInstance = typeof backend === 'function' ? null : backend;
    this.createBackend = typeof backend === 'function' ? backend : null;
  }

  private get backend(): WhisperBackend {
    this.backendInstance ??= this.createBackend!();
    return this.backendInstance;
  }

  get ready(): boolean {
    return this.backendInstance?.loaded ?? false;
  }

  load(onProgress?: (p: LoadProgress) => void): Promise<void> {
    return this.backend.load(onProgress);
  }

  async transcribe(pcm: Float32Array, signal?: AbortSignal): Promise<string> {
    let raw: string;
    try {
      raw = await this.backend.transcribe(pcm, signal);
    } catch (e) {
      throw toSpeechError(e, 'recognition-failed');
    }
    const text = cleanTranscript(raw);
    if (!text) throw new SpeechError('no-speech', `Whisper returned no words (raw: ${JSON.stringify(raw)}).`);
    return text;
  }

  async dispose(): Promise<void> {
    await this.backendInstance?.dispose();
  }
}

export interface CreateRecognizerOptions {
  /** 'auto' picks the Web Speech API when the browser has it, else Whisper. */
  prefer?: 'auto' | 'web-speech' | 'whisper';
  /** BCP 47 language for the Web Speech API (Whisper's default model is English-only). */
  lang?: string;
  whisper?: WhisperEngineOptions;
  /** Run Whisper in a worker (the app) or in this thread (Node, tests). */
  whisperInWorker?: boolean;
  /** Where to look for SpeechRecognition (tests pass a fake window). */
  scope?: object;
}

export function createWhisperRecognizer(options: CreateRecognizerOptions = {}): WhisperRecognizer {
  const inWorker = options.whisperInWorker ?? typeof Worker !== 'undefined';
  return new WhisperRecognizer(() => (inWorker ? startWhisperWorker(options.whisper) : new WhisperEngine(options.whisper)));
}

/** (a) the Web Speech API where the browser has it, else (b) Whisper on the device. */
export function createRecognizer(options: CreateRecognizerOptions = {}): Recognizer {
  const prefer = options.prefer ?? 'auto';
  if (prefer !== 'whisper') {
    const Ctor = getSpeechRecognition(options.scope);
    if (Ctor) return new WebSpeechRecognizer(Ctor, options.lang);
    if (prefer === 'web-speech') throw new SpeechError('unsupported', 'This browser has no SpeechRecognition.');
  }
  return createWhisperRecognizer(options);
}
