/**
 * One error type for the whole voice path, so the UI can show one clear sentence per failure and
 * always fall back to the keyboard. `kind` is for code; `message` is for people.
 */

export type SpeechErrorKind =
  /** The user or the browser refused the microphone (or the speech service). */
  | 'permission-denied'
  /** No microphone, or it was unplugged. */
  | 'no-device'
  /** The microphone exists but another program holds it, or the OS failed to open it. */
  | 'device-busy'
  /** The microphone delivers digital silence or nothing at all (muted, hardware switch). */
  | 'no-audio'
  /** Audio arrives, but no speech was heard in it. */
  | 'no-speech'
  /** This browser has no microphone API (or the page is not a secure context). */
  | 'unsupported'
  /** The browser's speech service cannot be used (offline, disabled); another recogniser may work. */
  | 'recognizer-unavailable'
  /** The on-device model could not be downloaded or started. */
  | 'model-load-failed'
  /** The recogniser ran and failed. */
  | 'recognition-failed'
  /** Cancelled by the user or the app. */
  | 'aborted';

const KEYBOARD = 'You can still type your prompt.';

export const SPEECH_ERROR_MESSAGES: Readonly<Record<SpeechErrorKind, string>> = {
  'permission-denied': `Microphone access was denied. Allow the microphone for this site in the browser's settings to use voice. ${KEYBOARD}`,
  'no-device': `No microphone was found. Connect one, or check that the headset's microphone is enabled. ${KEYBOARD}`,
  'device-busy': `The microphone is in use by another app or could not be opened. Close that app and try again. ${KEYBOARD}`,
  'no-audio': `No sound is coming from the microphone. It may be muted. ${KEYBOARD}`,
  'no-speech': `No speech was heard. Hold the button while you speak, then release it. ${KEYBOARD}`,
  unsupported: `Voice input is not available in this browser. ${KEYBOARD}`,
  'recognizer-unavailable': `The browser's speech service is unavailable. Voice will use on-device recognition; press the button again. ${KEYBOARD}`,
  'model-load-failed': `The speech model could not be loaded. Check the connection and try again. ${KEYBOARD}`,
  'recognition-failed': `Speech recognition failed. Try again. ${KEYBOARD}`,
  aborted: 'Voice input was cancelled.',
};

export class SpeechError extends Error {
  override name = 'SpeechError';
  readonly kind: SpeechErrorKind;
  /** Technical detail for logs (the browser's own error text); never shown instead of `message`. */
  readonly detail: string | undefined;

  constructor(kind: SpeechErrorKind, detail?: string, options?: { cause?: unknown }) {
    super(SPEECH_ERROR_MESSAGES[kind], options);
    this.kind = kind;
    this.detail = detail;
  }
}

export function isSpeechError(e: unknown): e is SpeechError {
  return e instanceof SpeechError;
}

/** Wraps anything thrown below the voice path into a SpeechError of `fallback` kind. */
export function toSpeechError(e: unknown, fallback: SpeechErrorKind): SpeechError {
  if (e instanceof SpeechError) return e;
  if (isAbortError(e)) return new SpeechError('aborted', undefined, { cause: e });
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new SpeechError(fallback, detail, { cause: e });
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}
