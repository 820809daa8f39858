/**
 * The desktop panel over the canvas: Enter VR, import, depth controls and the message area.
 * It reads the scene store with selectors (re-rendering only when those values change) and
 * never touches pixels: decoding and validation happen in app/, which it calls back.
 */
import { useCallback, useEffect, useId, useRef, useState, type ChangeEvent, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { DepthMapping } from '../panorama/types';
import { shownLabel, type SceneStore } from '../state/viewer';
import type { GenerationStore } from '../state/generation';
import type { SharpenStore } from '../state/sharpen';
import { Messages } from './Messages';
import { SharpenSection } from './sharpen/SharpenSection';
import { depthScaleOf, mappingForFar, mappingForNear, mappingForScale, parseMetres, FAR_RANGE, NEAR_RANGE, SCALE_RANGE } from './depth-controls';

export interface OverlayProps {
  readonly sceneStore: SceneStore;
  /** The mapping that scale 1 means (the app's default). */
  readonly baseMapping: DepthMapping;
  readonly generation: GenerationStore;
  readonly sharpen: SharpenStore;
  readonly inXR: boolean;
  readonly busy: boolean;
  onEnterVR(): void;
  onExitVR(): void;
  onRecenter(): void;
  /** Files picked or dropped: one over-under image, or an RGB + depth pair. */
  onImport(files: readonly File[]): void;
  onShowSynthetic(): void;
}

export function Overlay(props: OverlayProps): ReactNode {
  const { sceneStore, baseMapping } = props;
  const mapping = useStore(sceneStore, (s) => s.depthMapping);
  const label = useStore(sceneStore, shownLabel);
  const setMapping = useStore(sceneStore, (s) => s.setDepthMapping);
  const [dragOver, setDragOver] = useState(false);
  const [collapsed, setCollapsed] = useState(false);
  const pairInput = useRef<HTMLInputElement>(null);
  const ouInput = useRef<HTMLInputElement>(null);
  const ids = useId();
  const { onImport } = props;

  const onFiles = useCallback(
    (e: ChangeEvent<HTMLInputElement>) => {
      const files = e.currentTarget.files ? Array.from(e.currentTarget.files) : [];
      // Reset so picking the same file again fires "change" again.
      e.currentTarget.value = '';
      if (files.length > 0) onImport(files);
    },
    [onImport],
  );

  // Files can be dropped anywhere on the page (canvas, panels), so listen on the window.
  useEffect(() => {
    let depth = 0; // dragenter/dragleave fire for every element crossed
    const hasFiles = (e: DragEvent): boolean => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const enter = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      depth++;
      setDragOver(true);
    };
    const over = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      e.preventDefault(); // allows the drop
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragOver(false);
    };
    const drop = (e: DragEvent): void => {
      depth = 0;
      setDragOver(false);
      const files = Array.from(e.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      e.preventDefault(); // otherwise the browser opens the image
      onImport(files);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [onImport]);

  const scale = depthScaleOf(mapping, baseMapping);

  return (
    <>
      <div className={'drop-zone' + (dragOver ? ' active' : '')} data-testid="drop-zone" aria-hidden={!dragOver}>
        {dragOver ? <p>Drop an RGB + depth pair, or one over-under image</p> : null}
      </div>
      <aside className={'panel' + (collapsed ? ' collapsed' : '')} aria-label="Controls">
        <header>
          <h1>LDM3D-XR</h1>
          <button type="button" className="link" onClick={() => setCollapsed(!collapsed)} aria-expanded={!collapsed}>
            {collapsed ? 'show' : 'hide'}
          </button>
        </header>
        {collapsed ? null : (
          <>
            <p className="shown">
              Showing: <span data-testid="panorama-label">{label}</span>
            </p>
            <div className="row">
              {props.inXR ? (
                <button type="button" onClick={props.onExitVR}>
                  Exit VR
                </button>
              ) : (
                <button type="button" className="primary" onClick={props.onEnterVR}>
                  Enter VR
                </button>
              )}
              <button type="button" onClick={props.onRecenter}>
                Recenter
              </button>
            </div>
            <fieldset disabled={props.busy}>
              <legend>Import a panorama</legend>
              <div className="row">
                <button type="button" onClick={() => pairInput.current?.click()}>
                  RGB + depth…
                </button>
                <button type="button" onClick={() => ouInput.current?.click()}>
                  Over-under…
                </button>
                <button type="button" className="link" onClick={props.onShowSynthetic}>
                  Test room
                </button>
              </div>
              <input
                ref={pairInput}
                data-testid="import-pair"
                type="file"
                accept="image/png,image/jpeg,image/webp"
                multiple
                hidden
                onChange={onFiles}
              />
              <input
                ref={ouInput}
                data-testid="import-over-under"
                type="file"
                accept="image/png,image/jpeg,image/webp"
                hidden
                onChange={onFiles}
              />
              <p className="hint">or drop files anywhere</p>
            </fieldset>
            <fieldset>
              <legend>Depth</legend>
              <Slider
                id={ids + 'scale'}
                label="Scale"
                value={Math.log(scale)}
                min={Math.log(SCALE_RANGE[0])}
                max={Math.log(SCALE_RANGE[1])}
                step={0.01}
                display={`${scale.toFixed(2)}×`}
                testId="depth-scale"
                onChange={(v) => setMapping(mappingForScale(mapping, baseMapping, Math.exp(v)))}
              />
              <Slider
                id={ids + 'near'}
                label="Near"
                value={mapping.near}
                min={NEAR_RANGE[0]}
                max={NEAR_RANGE[1]}
                step={0.05}
                display={`${mapping.near.toFixed(2)} m`}
                testId="depth-near"
                onChange={(v) => setMapping(mappingForNear(mapping, v))}
                typed={{ decimals: 2, unit: 'm' }}
              />
              <Slider
                id={ids + 'far'}
                label="Far"
                value={mapping.far}
                min={FAR_RANGE[0]}
                max={FAR_RANGE[1]}
                step={0.5}
                display={`${mapping.far.toFixed(1)} m`}
                testId="depth-far"
                onChange={(v) => setMapping(mappingForFar(mapping, v))}
                typed={{ decimals: 1, unit: 'm' }}
              />
            </fieldset>
            <SharpenSection store={props.sharpen} generation={props.generation} />
            <p className="hint">Drag or use arrow keys / WASD to look around.</p>
          </>
        )}
        <Messages sceneStore={sceneStore} />
      </aside>
    </>
  );
}

interface SliderProps {
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly display: string;
  readonly testId: string;
  /** Show the value as a field to type into (metres), instead of read-only text. */
  readonly typed?: { readonly decimals: number; readonly unit: string };
  onChange(v: number): void;
}

function Slider(p: SliderProps): ReactNode {
  return (
    <div className="slider">
      <label htmlFor={p.id}>{p.label}</label>
      <input
        id={p.id}
        data-testid={p.testId}
        type="range"
        min={p.min}
        max={p.max}
        step={p.step}
        value={p.value}
        onChange={(e) => p.onChange(Number(e.currentTarget.value))}
      />
      {p.typed ? <TypedValue {...p} typed={p.typed} /> : <output htmlFor={p.id}>{p.display}</output>}
    </div>
  );
}

/**
 * The slider's value as a field one can type an exact value into (issue 14). It commits on Enter or
 * when focus leaves, not per keystroke (a half-typed "1." must not move the scene); a value that is
 * not a distance within the slider's range is put back. Remounted (key) when the value changes
 * elsewhere, so the field always shows what is applied.
 */
function TypedValue(p: SliderProps & { readonly typed: NonNullable<SliderProps['typed']> }): ReactNode {
  const shown = p.value.toFixed(p.typed.decimals);
  const commit = (input: HTMLInputElement): void => {
    const v = parseMetres(input.value, [p.min, p.max]);
    if (v === null || v.toFixed(p.typed.decimals) === shown) input.value = shown;
    else p.onChange(v);
  };
  return (
    <span className="typed-value">
      <input
        key={shown}
        type="text"
        inputMode="decimal"
        size={5}
        aria-label={`${p.label} in metres (${p.min}–${p.max})`}
        data-testid={`${p.testId}-value`}
        defaultValue={shown}
        onBlur={(e) => commit(e.currentTarget)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit(e.currentTarget);
        }}
      />{' '}
      {p.typed.unit}
    </span>
  );
}
