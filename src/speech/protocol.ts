/**
 * The typed message protocol between the main thread (src/speech/client.ts) and the Whisper worker
 * (src/speech/whisper.worker.ts, logic in host.ts). Plain data only: everything here survives
 * structuredClone, and an utterance's PCM travels as a transferable.
 *
 * Flow: load → progress* → loaded | load-error; transcribe {id} → result | error (for that id);
 * abort {id} → that transcription ends with error 'aborted'; dispose → disposed.
 */
import type { SpeechErrorKind } from './errors';
// Types only: the main thread imports this module, and a value import of the engine would pull
// transformers.js (580 kB) into the main bundle as a second copy of the worker's.
import type { LoadProgress, WhisperDevice, WhisperEngineOptions } from './whisper-engine';

// ---------------------------------------------------------------- main thread → worker

export interface LoadRequest {
  readonly type: 'load';
  readonly options: WhisperEngineOptions;
}

/** 16 kHz mono PCM of one utterance; `id` is chosen by the client and names the answer. */
export interface TranscribeRequest {
  readonly type: 'transcribe';
  readonly id: number;
  readonly pcm: Float32Array;
}

export interface AbortRequest {
  readonly type: 'abort';
  readonly id: number;
}

export interface DisposeRequest {
  readonly type: 'dispose';
}

export type WhisperRequest = LoadRequest | TranscribeRequest | AbortRequest | DisposeRequest;

// ---------------------------------------------------------------- worker → main thread

export interface LoadProgressMessage {
  readonly type: 'progress';
  readonly progress: LoadProgress;
}

export interface LoadedMessage {
  readonly type: 'loaded';
  readonly device: WhisperDevice;
}

export interface LoadErrorMessage {
  readonly type: 'load-error';
  readonly kind: SpeechErrorKind;
  readonly detail?: string;
}

export interface TranscriptMessage {
  readonly type: 'result';
  readonly id: number;
  /** Whisper's raw text; the recogniser cleans it (cleanTranscript). */
  readonly text: string;
}

export interface TranscribeErrorMessage {
  readonly type: 'error';
  readonly id: number;
  readonly kind: SpeechErrorKind;
  readonly detail?: string;
}

export interface DisposedMessage {
  readonly type: 'disposed';
}

export type WhisperResponse =
  | LoadProgressMessage
  | LoadedMessage
  | LoadErrorMessage
  | TranscriptMessage
  | TranscribeErrorMessage
  | DisposedMessage;

/** The part of Worker / MessagePort / DedicatedWorkerGlobalScope that both ends use. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}
