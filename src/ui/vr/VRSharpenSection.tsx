/**
 * "Sharpen view" in the headset: sharpens what the head looks at when pressed (the panel sits
 * below the line of sight, so the head's forward, not the controller ray, is the direction),
 * with Cancel, progress and what is loaded. Progress reaches the label through setProperties,
 * at most PROGRESS_MIN_MS apart, never through React.
 *
 * Leaving the session while a sharpen runs does not stop it: the direction was taken when Sharpen
 * was pressed, so the patch still lands where the user looked, and the desktop panel shows the
 * same run with its own Cancel. A notice says so, since the headset's progress label is gone.
 */
import { Container, Text, type VanillaText } from '@react-three/uikit';
import { useXRStore } from '@react-three/xr';
import { useEffect, useRef, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { loadedModelsText, type SharpenStore } from '../../state/sharpen';
import type { GenerationStore } from '../../state/generation';
import type { SceneStore } from '../../state/viewer';
import { vrText } from './vr-font';
import { VRButton } from './VRButton';
import { VRDownloadNotice, VRHostQuestion } from './VRAskFirst';
import { PROGRESS_MIN_MS } from './VRPromptSection';
import { vrDebug } from './vr-debug';
import { subscribeThrottled } from './throttled';

/** Said when the session ends while a sharpen is running. */
export const LEFT_VR_WHILE_SHARPENING =
  'You left VR while sharpening: it carries on and lands where you looked. Cancel it in the Sharpen panel if you no longer want it.';

export interface VRSharpenSectionProps {
  readonly store: SharpenStore;
  readonly generation: GenerationStore;
  /** Where the notice about leaving VR mid-sharpen goes. */
  readonly viewer: SceneStore;
}

export function VRSharpenSection({ store, generation, viewer }: VRSharpenSectionProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const sr = useStore(store, (s) => s.srModel);
  const pano = useStore(generation, (s) => s.model);
  const genStatus = useStore(generation, (s) => s.status);
  const confirm = useStore(store, (s) => s.awaitingConfirmation);
  const askHost = useStore(store, (s) => s.awaitingHost);
  const label = useRef<VanillaText>(null);
  const generating = genStatus === 'planning' || genStatus === 'loading' || genStatus === 'generating' || genStatus === 'cancelling';
  const running = status === 'sharpening' || status === 'cancelling';
  const xr = useXRStore();
  const sharpenDisabled = running || generating || status === 'unloading';
  const cancelDisabled = status !== 'sharpening';
  // The buttons' handlers, also handed to the tests (vr-debug.ts) only while the button is enabled.
  // As Generate on this panel: pressed again while the download question shows, it is the yes.
  const onSharpen = (): void => void store.getState().sharpen({ confirmDownload: store.getState().awaitingConfirmation !== null });
  const onCancel = (): void => store.getState().cancel();

  useEffect(() => {
    const debug = vrDebug();
    debug.sharpen = sharpenDisabled ? null : onSharpen;
    debug.cancelSharpen = cancelDisabled ? null : onCancel;
    return () => {
      debug.sharpen = debug.cancelSharpen = null;
    };
  });

  useEffect(() => {
    const debug = vrDebug();
    debug.detailAlphaAt = (uvs) => {
      const layer = store.getState().layer;
      if (layer === null) return uvs.map(() => 0);
      return uvs.map(([u, v]) => {
        const x = Math.min(layer.width - 1, Math.floor((u - Math.floor(u)) * layer.width));
        const y = Math.min(layer.height - 1, Math.max(0, Math.floor(v * layer.height)));
        return layer.rgba[(y * layer.width + x) * 4 + 3];
      });
    };
    return () => {
      debug.detailAlphaAt = null;
    };
  }, [store]);

  useEffect(
    () =>
      // A store listener, not an unmount cleanup: it fires when the session ends, before React
      // unmounts the panel, and never for StrictMode's rehearsal unmount.
      xr.subscribe((s, prev) => {
        if (prev.session != null && s.session == null && store.getState().status === 'sharpening') {
          viewer.getState().say('notice', LEFT_VR_WHILE_SHARPENING);
        }
      }),
    [xr, store, viewer],
  );

  useEffect(
    () =>
      subscribeThrottled(
        store,
        (s) => s.progress,
        (p) => {
          const text = vrText(p?.text ?? '');
          label.current?.setProperties({ text });
          const log = vrDebug().sharpenProgressLog;
          if (text && log.at(-1) !== text) log.push(text);
        },
        PROGRESS_MIN_MS,
      ),
    [store],
  );

  return (
    <Container flexDirection="column" gap={6}>
      <Container flexDirection="row" gap={10} alignItems="center">
        <VRButton label={running ? 'Sharpening...' : confirm ? 'Download and sharpen' : 'Sharpen view'} disabled={sharpenDisabled} onClick={onSharpen} />
        <VRButton label="Cancel" disabled={cancelDisabled} onClick={onCancel} />
        {/* Only once the upscaler is loaded: before that there is nothing to release (issue 14 item 2). */}
        {sr !== null ? <VRButton label="Release SR" disabled={status !== 'idle'} onClick={() => void store.getState().unload()} /> : null}
      </Container>
      <VRDownloadNotice confirm={confirm} />
      <VRHostQuestion host={askHost} onAnswer={(allow) => void store.getState().answerHost(allow)} />
      <Text ref={label} fontSize={16} color="#b8c2cc">
        {''}
      </Text>
      <Text fontSize={14} color="#8a96a3">
        {vrText(loadedModelsText(pano ? { modelId: pano.summary.modelId, testWeights: pano.testWeights } : null, sr))}
      </Text>
    </Container>
  );
}
