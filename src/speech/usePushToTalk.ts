/**
 * React binding for push-to-talk: one PushToTalk per mounted component, created in an effect and
 * disposed in its cleanup (it owns its recogniser, hence the Whisper worker; creating it in the
 * effect keeps StrictMode's mount-unmount-mount from reusing a disposed instance). State comes
 * through useSyncExternalStore, which re-renders only on PushToTalk's transitions; the microphone
 * level is not state: read `level()` in a frame callback for a meter.
 *
 * @example
 *   const ptt = usePushToTalk();
 *   useEffect(() => {
 *     if (ptt.state.status === 'done') { setPrompt(ptt.state.transcript); ptt.reset(); }
 *   }, [ptt.state]);
 *   <button onPointerDown={ptt.press} onPointerUp={ptt.release}>Hold to talk</button>
 */
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { PushToTalk, type PushToTalkOptions, type PushToTalkState } from './push-to-talk';
import { createRecognizer, createWhisperRecognizer, getSpeechRecognition, type CreateRecognizerOptions } from './recognizer';

export interface UsePushToTalkOptions extends Omit<PushToTalkOptions, 'recognizer' | 'fallbackRecognizer'> {
  recognizer?: CreateRecognizerOptions;
}

export interface PushToTalkControls {
  state: PushToTalkState;
  press: () => void;
  release: () => void;
  cancel: () => void;
  reset: () => void;
  /** dBFS of the last microphone chunk; poll it (e.g. in useFrame), it never triggers a render. */
  level: () => number;
}

const noSubscribe = () => () => undefined;

export function usePushToTalk(options: UsePushToTalkOptions = {}): PushToTalkControls {
  // Read once: other options would mean another recogniser (and model load), a remount's job.
  const [initial] = useState(options);
  const [ptt, setPtt] = useState<PushToTalk | null>(null);
  // Before the effect runs there is no instance; show what it will start as.
  const [placeholder] = useState<PushToTalkState>(() => ({
    status: 'idle',
    recognizer: initial.recognizer?.prefer === 'whisper' || !getSpeechRecognition(initial.recognizer?.scope) ? 'whisper' : 'web-speech',
    transcript: '',
    error: null,
    speechDetected: false,
    model: null,
  }));
  useEffect(() => {
    const { recognizer, ...rest } = initial;
    const instance = new PushToTalk({
      ...rest,
      recognizer: createRecognizer(recognizer),
      fallbackRecognizer: () => createWhisperRecognizer(recognizer),
    });
    setPtt(instance);
    return () => {
      setPtt(null);
      void instance.dispose();
    };
  }, [initial]);
  const state = useSyncExternalStore(ptt?.subscribe ?? noSubscribe, ptt?.getState ?? (() => placeholder), ptt?.getState ?? (() => placeholder));
  return useMemo(
    () => ({
      state,
      press: () => ptt?.press(),
      release: () => ptt?.release(),
      cancel: () => ptt?.cancel(),
      reset: () => ptt?.reset(),
      level: () => ptt?.getLevel() ?? -Infinity,
    }),
    [ptt, state],
  );
}
