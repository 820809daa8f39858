/**
 * The desktop generate panel: prompt, settings, Generate / Cancel, model size and download
 * progress, notices and errors. A view over the generation store (src/state/generation.ts).
 *
 * Progress and preview change at every download tick and diffusion step; they are written to the
 * DOM from a store subscription (useTransientProgress), never through React state, so a step
 * costs no re-render. Everything selected with useStore changes a few times per job.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { type GenerationSettings, type GenerationStore } from '../../state/generation';
import { formatBytes } from '../../model/model-store';
import { SCHEDULERS, type BackendPreference, type SchedulerName } from '../../workers/protocol';
import { isPresetName, SCHEDULER_LABELS } from '../../pipeline/presets';
import { deepCacheControl, deepCacheOptions, presetOptions } from './preset-controls';
import { WRAP_LABEL, WRAP_TITLE, wrapControl } from './wrap-control';
import { PROMPT_TEMPLATE_TITLE, promptTemplateControl } from './prompt-template-control';
import { useTransientProgress } from './use-transient-progress';
import { DownloadConfirm } from '../DownloadConfirm';
import { HostConfirm } from '../HostConfirm';
import './generate.css';
import { GUIDANCE_RANGE, STEPS_RANGE } from '../../pipeline/setting-ranges';

export interface GeneratePanelProps {
  readonly store: GenerationStore;
}

export function GeneratePanel({ store }: GeneratePanelProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const settings = useStore(store, (s) => s.settings);
  const plan = useStore(store, (s) => s.plan);
  const confirm = useStore(store, (s) => s.awaitingConfirmation);
  const askHost = useStore(store, (s) => s.awaitingHost);
  const model = useStore(store, (s) => s.model);
  const notices = useStore(store, (s) => s.notices);
  const error = useStore(store, (s) => s.error);
  const lastId = useStore(store, (s) => s.last?.panoramaId ?? 0);
  const ids = useId();
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const [advanced, setAdvanced] = useState(false);
  const progressRef = useRef<HTMLProgressElement>(null);
  const progressText = useRef<HTMLSpanElement>(null);
  const previewCanvas = useRef<HTMLCanvasElement>(null);
  useTransientProgress(store, progressRef, progressText, previewCanvas);

  const running = status === 'planning' || status === 'loading' || status === 'generating' || status === 'cancelling';
  const update = (patch: Partial<GenerationSettings>): void => store.getState().updateSettings(patch);
  const setFieldError = (field: string, message: string | null): void =>
    setInvalid((prev) => {
      if ((prev[field] ?? null) === message) return prev;
      const next = { ...prev };
      if (message) next[field] = message;
      else delete next[field];
      return next;
    });
  const hasInvalid = Object.keys(invalid).length > 0;
  const presets = presetOptions(settings, model);
  const cache = deepCacheControl(settings, model);
  const wrap = wrapControl(settings, model);
  const template = promptTemplateControl({ model, plan }, settings);

  // Show the model's size before anything is downloaded (and whenever the model URL changes).
  useEffect(() => {
    if (plan === null) void store.getState().refreshPlan();
  }, [store, plan, settings.modelUrl]);

  return (
    <aside className="panel generate" aria-label="Generate a panorama" data-testid="generate-panel" data-status={status} data-generated-id={lastId}>
      <header>
        <h1>Generate</h1>
      </header>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!running && !hasInvalid) void store.getState().generate();
        }}
      >
        <label htmlFor={ids + 'prompt'}>Describe the scene</label>
        <textarea
          id={ids + 'prompt'}
          data-testid="prompt"
          rows={3}
          value={settings.prompt}
          placeholder="a sunlit forest clearing with a wooden cabin"
          onChange={(e) => update({ prompt: e.currentTarget.value })}
          onKeyDown={(e) => {
            // Ctrl/Cmd+Enter generates; plain Enter stays a newline.
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              if (!running && !hasInvalid) void store.getState().generate();
            }
          }}
        />
        {template ? (
          // Where the model has a prompt template: what is sent, next to what is typed, and the switch.
          <p className="model-line" data-testid="prompt-template">
            <label className="inline" title={PROMPT_TEMPLATE_TITLE}>
              <input
                type="checkbox"
                data-testid="prompt-template-toggle"
                checked={template.checked}
                onChange={(e) => update({ promptTemplate: e.currentTarget.checked })}
              />
              {template.label}
            </label>
            {template.sent !== null ? <span data-testid="sent-prompt"> Sent as: “{template.sent}”</span> : null}
          </p>
        ) : null}
        <label htmlFor={ids + 'negative'}>Avoid (negative prompt)</label>
        <textarea
          id={ids + 'negative'}
          data-testid="negative-prompt"
          rows={1}
          value={settings.negativePrompt}
          placeholder="blurry, text, watermark"
          onChange={(e) => update({ negativePrompt: e.currentTarget.value })}
        />
        <div className="field preset">
          <label htmlFor={ids + 'preset'}>Preset</label>
          <select
            id={ids + 'preset'}
            data-testid="preset"
            value={settings.preset}
            title="Headset: fewest UNet evaluations for 50-step DDIM quality. Reference: the model's own defaults, exactly diffusers. Editing steps, scheduler or the feature cache makes it custom."
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (isPresetName(v)) store.getState().choosePreset(v);
            }}
          >
            {presets.map((p) => (
              <option key={p.value} value={p.value} disabled={p.disabled}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="generate-grid">
          <NumberField
            id={ids + 'steps'}
            label="Steps"
            testId="steps"
            value={settings.steps}
            min={STEPS_RANGE.min}
            max={STEPS_RANGE.max}
            integer
            onValid={(v) => update({ steps: v })}
            onInvalid={(m) => setFieldError('steps', m)}
          />
          <NumberField
            id={ids + 'guidance'}
            label="Guidance"
            testId="guidance"
            value={settings.guidance}
            min={GUIDANCE_RANGE.min}
            max={GUIDANCE_RANGE.max}
            step={0.5}
            onValid={(v) => update({ guidance: v })}
            onInvalid={(m) => setFieldError('guidance', m)}
          />
          <div className="field">
            <label htmlFor={ids + 'scheduler'}>Scheduler</label>
            <select
              id={ids + 'scheduler'}
              data-testid="scheduler"
              value={settings.scheduler}
              onChange={(e) => update({ scheduler: e.currentTarget.value as SchedulerName })}
            >
              {SCHEDULERS.map((s) => (
                <option key={s} value={s}>
                  {SCHEDULER_LABELS[s]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids + 'deepcache'}>Feature cache</label>
            <select
              id={ids + 'deepcache'}
              data-testid="deepcache"
              value={cache.shown}
              disabled={!cache.enabled}
              aria-describedby={cache.reason ? ids + 'deepcache-reason' : undefined}
              title="DeepCache: the full UNet runs on every Nth step only; the steps between reuse its deep features and run the shallow branch."
              onChange={(e) => update({ deepCacheInterval: Number(e.currentTarget.value) })}
            >
              {deepCacheOptions(cache.shown).map((o) => (
                <option key={o.value} value={o.value}>
                  {o.value === 1 ? 'off' : `full UNet ${o.label}`}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label className="inline" title={WRAP_TITLE}>
              <input
                type="checkbox"
                data-testid="wrap"
                checked={wrap.checked}
                disabled={!wrap.enabled}
                aria-describedby={wrap.reason ? ids + 'wrap-reason' : undefined}
                onChange={(e) => update({ wrap: e.currentTarget.checked })}
              />
              {WRAP_LABEL}
            </label>
          </div>
          <div className="field seed">
            <NumberField
              id={ids + 'seed'}
              label="Seed"
              testId="seed"
              value={settings.seed}
              min={0}
              max={0xffff_ffff}
              integer
              disabled={settings.randomSeed}
              onValid={(v) => update({ seed: v })}
              onInvalid={(m) => setFieldError('seed', m)}
            />
            <label className="inline">
              <input
                type="checkbox"
                data-testid="seed-random"
                checked={settings.randomSeed}
                onChange={(e) => update({ randomSeed: e.currentTarget.checked })}
              />
              random
            </label>
          </div>
        </div>
        {cache.reason ? (
          <p className="model-line" id={ids + 'deepcache-reason'} data-testid="deepcache-reason">
            Feature cache off: {cache.reason}
          </p>
        ) : null}
        {wrap.reason ? (
          <p className="model-line" id={ids + 'wrap-reason'} data-testid="wrap-reason">
            {WRAP_LABEL} off: {wrap.reason}
          </p>
        ) : null}
        <button type="button" className="link" aria-expanded={advanced} onClick={() => setAdvanced(!advanced)}>
          {advanced ? 'Hide model settings' : 'Model settings'}
        </button>
        {advanced ? (
          <div className="generate-advanced">
            <label htmlFor={ids + 'model'}>Model location</label>
            <input
              id={ids + 'model'}
              data-testid="model-url"
              type="text"
              defaultValue={settings.modelUrl}
              disabled={running}
              spellCheck={false}
              title="A URL of an exported model folder, a path on this site, or hf:owner/repo/subfolder"
              onBlur={(e) => {
                const v = e.currentTarget.value.trim();
                if (v && v !== settings.modelUrl) update({ modelUrl: v });
              }}
            />
            <label htmlFor={ids + 'backend'}>Run on</label>
            <select
              id={ids + 'backend'}
              data-testid="backend"
              value={settings.backend}
              disabled={running}
              onChange={(e) => update({ backend: e.currentTarget.value as BackendPreference })}
            >
              <option value="auto">WebGPU if available, else WASM</option>
              <option value="webgpu">WebGPU only</option>
              <option value="wasm">WASM (CPU)</option>
            </select>
          </div>
        ) : null}
        <p className="model-line" data-testid="model-size">
          {plan
            ? `${plan.modelId}: ${formatBytes(plan.totalBytes)}` +
              (plan.remainingBytes === 0 ? ', stored in this browser' : plan.cachedBytes > 0 ? `, ${formatBytes(plan.remainingBytes)} left to download` : ' to download')
            : 'Model: checking size…'}
          {model ? ` · running on ${model.backend === 'webgpu' ? 'WebGPU' : 'WASM'}` : ''}
        </p>
        {model?.runtime ? (
          // For developers (adapter, subgroups, attention check timings): behind a disclosure so
          // it does not push the buttons and notices down (issue 14 item 6).
          <details className="model-details" data-testid="runtime-details">
            <summary>Details</summary>
            <p className="model-line runtime-line" data-testid="runtime-line">
              {model.runtime}
            </p>
          </details>
        ) : null}
        {askHost ? <HostConfirm host={askHost} onAnswer={(allow) => store.getState().answerHost(allow)} testId="confirm-host" /> : null}
        {confirm ? (
          <DownloadConfirm
            plan={confirm}
            confirmLabel="Download and generate"
            onConfirm={() => void store.getState().generate({ confirmDownload: true })}
            onDecline={() => store.getState().cancel()}
            testId="confirm-download"
          />
        ) : null}
        {/* Buttons, progress and preview stay in view at the bottom of the form when the settings
            above them scroll in a short window (issue 14 item 6). */}
        <div className="generate-actions">
          <div className="row">
            <button type="submit" className="primary" data-testid="generate" disabled={running || hasInvalid}>
              {status === 'loading' ? 'Loading model…' : status === 'generating' ? 'Generating…' : 'Generate'}
            </button>
            <button
              type="button"
              data-testid="cancel"
              disabled={!(status === 'loading' || status === 'generating' || status === 'planning')}
              onClick={() => store.getState().cancel()}
            >
              {status === 'cancelling' ? 'Cancelling…' : 'Cancel'}
            </button>
          </div>
          <div className="generate-progress" hidden={!running}>
            <progress ref={progressRef} data-testid="progress" max={1} value={0} />
            <span ref={progressText} data-testid="progress-text" aria-live="off" />
            <canvas ref={previewCanvas} data-testid="preview" className="preview" width={1} height={1} aria-label="Preview of the image being generated" />
          </div>
        </div>
        {Object.values(invalid).length > 0 ? (
          <p className="field-error" role="alert" data-testid="input-error">
            {Object.values(invalid).join(' ')}
          </p>
        ) : null}
      </form>
      <div role="alert" data-testid="generate-error" className="generate-error">
        {error ? (
          <>
            <span>{error.message}</span>
            <button type="button" className="link" aria-label="Dismiss" onClick={() => store.getState().dismissError()}>
              ×
            </button>
          </>
        ) : null}
      </div>
      <ul role="status" data-testid="generate-notices" className="generate-notices">
        {notices.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </aside>
  );
}

interface NumberFieldProps {
  readonly id: string;
  readonly label: string;
  readonly testId: string;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly step?: number;
  readonly integer?: boolean;
  readonly disabled?: boolean;
  onValid(v: number): void;
  onInvalid(message: string | null): void;
}

/**
 * A number input that keeps what the user typed while it is not a valid value (so nothing is
 * lost mid-edit), says what is wrong, and passes on only valid numbers.
 */
function NumberField(p: NumberFieldProps): ReactNode {
  const [text, setText] = useState(String(p.value));
  const [error, setError] = useState<string | null>(null);
  const onInvalid = useRef(p.onInvalid);
  onInvalid.current = p.onInvalid;
  // Follow outside changes (a random seed was drawn) unless the user is mid-edit on a bad value.
  useEffect(() => {
    if (error === null) setText(String(p.value));
  }, [p.value, error]);
  // A disabled field cannot block generating (the random seed replaces a bad typed one).
  useEffect(() => onInvalid.current(p.disabled ? null : error), [error, p.disabled]);
  return (
    <div className="field">
      <label htmlFor={p.id}>{p.label}</label>
      <input
        id={p.id}
        data-testid={p.testId}
        type="number"
        inputMode={p.integer ? 'numeric' : 'decimal'}
        min={p.min}
        max={p.max}
        step={p.step ?? 1}
        value={text}
        disabled={p.disabled}
        aria-invalid={error !== null}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          setText(raw);
          const v = Number(raw);
          const bad =
            raw.trim() === '' || !Number.isFinite(v)
              ? `${p.label} must be a number.`
              : p.integer && !Number.isInteger(v)
                ? `${p.label} must be a whole number.`
                : v < p.min || v > p.max
                  ? `${p.label} must be from ${p.min} to ${p.max}.`
                  : null;
          setError(bad);
          if (bad === null) p.onValid(v);
        }}
      />
    </div>
  );
}
