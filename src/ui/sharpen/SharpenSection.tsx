/**
 * "Sharpen view" on the desktop panel: sharpens what the camera looks at when pressed, with
 * progress, cancel, SR steps, what is loaded and a button to release the upscaler. Progress is
 * written to the DOM from a store subscription (one SR step = no React render).
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { loadedModelsText, type SharpenStore } from '../../state/sharpen';
import type { GenerationStore } from '../../state/generation';
import { DownloadConfirm } from '../DownloadConfirm';
import { HostConfirm } from '../HostConfirm';
import { STEPS_RANGE } from '../../pipeline/setting-ranges';

export interface SharpenSectionProps {
  readonly store: SharpenStore;
  readonly generation: GenerationStore;
}

export function SharpenSection({ store, generation }: SharpenSectionProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const steps = useStore(store, (s) => s.steps);
  const sr = useStore(store, (s) => s.srModel);
  const regions = useStore(store, (s) => s.regions);
  const unsaved = useStore(store, (s) => s.unsaved);
  const confirm = useStore(store, (s) => s.awaitingConfirmation);
  const askHost = useStore(store, (s) => s.awaitingHost);
  const pano = useStore(generation, (s) => s.model);
  const genStatus = useStore(generation, (s) => s.status);
  const bar = useRef<HTMLProgressElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  const ids = useId();

  useEffect(() => {
    const write = (p: { text: string; fraction: number } | null): void => {
      if (bar.current) {
        bar.current.hidden = p === null;
        bar.current.value = p?.fraction ?? 0;
      }
      if (text.current) text.current.textContent = p?.text ?? '';
    };
    write(store.getState().progress);
    return store.subscribe((s, prev) => {
      if (s.progress !== prev.progress) write(s.progress);
    });
  }, [store]);

  const generating = genStatus === 'planning' || genStatus === 'loading' || genStatus === 'generating' || genStatus === 'cancelling';
  const running = status === 'sharpening' || status === 'cancelling';
  const panoInfo = pano ? { modelId: pano.summary.modelId, testWeights: pano.testWeights } : null;

  return (
    <fieldset data-testid="sharpen-section" data-status={status} data-regions={regions}>
      <legend>Sharpen what you look at</legend>
      <div className="row">
        <button
          type="button"
          className="primary"
          data-testid="sharpen"
          disabled={running || status === 'unloading' || generating}
          title={generating ? 'Wait for the generation to finish' : 'Upscale the region in the middle of the view ×4 (LDM3D-SR)'}
          onClick={() => void store.getState().sharpen()}
        >
          {running ? 'Sharpening…' : 'Sharpen view'}
        </button>
        <button type="button" data-testid="sharpen-cancel" disabled={status !== 'sharpening'} onClick={() => store.getState().cancel()}>
          {status === 'cancelling' ? 'Cancelling…' : 'Cancel'}
        </button>
      </div>
      {askHost ? <HostConfirm host={askHost} onAnswer={(allow) => void store.getState().answerHost(allow)} testId="sharpen-confirm-host" /> : null}
      {confirm ? (
        <DownloadConfirm
          plan={confirm}
          confirmLabel="Download and sharpen"
          onConfirm={() => void store.getState().sharpen({ confirmDownload: true })}
          onDecline={() => store.getState().cancel()}
          testId="sharpen-confirm-download"
        />
      ) : null}
      <div className="slider">
        <label htmlFor={ids + 'steps'}>SR steps</label>
        <input
          id={ids + 'steps'}
          data-testid="sharpen-steps"
          type="number"
          min={STEPS_RANGE.min}
          max={STEPS_RANGE.max}
          value={steps}
          disabled={running}
          onChange={(e) => store.getState().setSteps(Number(e.currentTarget.value))}
        />
      </div>
      <progress ref={bar} data-testid="sharpen-progress" max={1} hidden />
      <p className="hint" aria-live="polite">
        <span ref={text} data-testid="sharpen-progress-text" />
      </p>
      <p className="hint" data-testid="loaded-models">
        {loadedModelsText(panoInfo, sr)}
      </p>
      {regions > 0 ? (
        <p className="hint" data-testid="sharpen-regions">
          {regions === 1 ? '1 sharpened region' : `${regions} sharpened regions`} in this scene
          {unsaved > 0 ? ` (${unsaved === regions ? (regions === 1 ? 'it is' : 'all are') : `${unsaved} are`} not saved: shown until another scene is opened)` : ''}
        </p>
      ) : null}
      {/* Shown only where they can apply (issue 14 item 2): nothing to release before the upscaler
          has loaded, nothing to undo in a scene without sharpened regions. While a sharpen or
          release runs they stay, disabled. */}
      {sr !== null || regions > 0 ? (
        <div className="row">
          {sr !== null ? (
            <button type="button" className="link" data-testid="unload-sr" disabled={status !== 'idle'} onClick={() => void store.getState().unload()}>
              Release the upscaler
            </button>
          ) : null}
          {regions > 0 ? (
            <button
              type="button"
              className="link"
              data-testid="sharpen-clear"
              disabled={status !== 'idle'}
              title="Remove every sharpened region of this scene, also from storage"
              onClick={() => void store.getState().clearAll()}
            >
              Undo sharpening
            </button>
          ) : null}
        </div>
      ) : null}
    </fieldset>
  );
}
