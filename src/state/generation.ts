/**
 * Text → panorama jobs: settings, status, notices and errors in a vanilla zustand store, with
 * actions that drive the pipeline worker (through its client) and hand results to the viewer's
 * scene store. No React here: the desktop panel and the VR panel are thin views over it.
 *
 * Progress is transient: `progress` changes at every download tick and diffusion step, so views
 * must not select it with a React hook (that would re-render per step). They read it with
 * `store.subscribe` and write to DOM nodes / textures directly. Everything else changes a few
 * times per job and may be selected normally.
 *
 * Showing a result goes through `deps.publish`, which by default shows it in the scene store.
 * The gallery can replace it with "save, then show" without touching this file's flow.
 */
import { createStore } from 'zustand/vanilla';
import type { RGBDPanorama } from '../panorama/types';
import type { SceneStore } from './viewer';
import { formatBytes } from '../model/model-store';
import { CONFIRM_DOWNLOAD_ABOVE_BYTES, needsDownloadConfirm } from './download-confirm';
import { hostDeclinedText, hostLabel, type ModelHostGate } from './model-hosts';
import {
  LDM3D_PANO_DEFAULTS,
  isPresetName,
  matchingPreset,
  presetValues,
  type ModelDefaults,
  type PresetChoice,
  type PresetName,
  type PresetValues,
} from '../pipeline/presets';
import { applyPromptTemplate } from '../pipeline/prompt-template';
import type { GenerateOptions, GenerationResult, PipelineError } from '../workers/client';
import type {
  BackendPreference,
  GenerateParams,
  LoadProgressMessage,
  LoadedMessage,
  PlanSummary,
  Preview,
  ProgressMessage,
  SchedulerName,
} from '../workers/protocol';

/** The part of PipelineClient the store uses (tests pass the real client on a fake worker). */
export interface GenerationClient {
  readonly loaded: LoadedMessage | null;
  plan(baseUrl: string): Promise<PlanSummary>;
  load(baseUrl: string, backend: BackendPreference, onProgress?: (p: LoadProgressMessage) => void): Promise<LoadedMessage>;
  generate(params: GenerateParams, options?: GenerateOptions): Promise<GenerationResult>;
  cancel(): void;
}

export type GenerationStatus = 'idle' | 'planning' | 'loading' | 'generating' | 'cancelling' | 'error';

export interface GenerationSettings {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  /**
   * DeepCache interval (1 = off); runs only where the loaded model has the DeepCache graphs
   * (effectiveDeepCacheInterval), otherwise the generation runs with 1 and says so.
   */
  readonly deepCacheInterval: number;
  /**
   * Seamless 360° (issue 12): circular padding along the width, on by default; off = zero padding,
   * exactly diffusers. Runs only where the loaded model has wrapped graphs (effectiveWrap); the
   * toggle says why it is off elsewhere. Not part of the presets: it is about the panorama, not speed.
   */
  readonly wrap: boolean;
  /**
   * Send the prompt inside the model's prompt template ("360 view of {prompt}" for the real
   * LDM3D-pano, as its model card does), on by default; off = the words exactly as typed. Only
   * matters where the model has a template (promptTemplateOf); voice transcripts go through it too.
   */
  readonly promptTemplate: boolean;
  /**
   * Which preset steps/scheduler/deepCacheInterval are: kept in step with them by the store (an
   * edit that leaves a preset's values makes it 'custom'); choose one with choosePreset.
   */
  readonly preset: PresetChoice;
  /** The seed of the next run, or of the last one when `randomSeed` is on. */
  readonly seed: number;
  /** Draw a new seed for every run (the drawn one is written to `seed`, so it can be reused). */
  readonly randomSeed: boolean;
  /** As the user typed it: a URL, a path relative to the page, or "hf:owner/repo/subdir". */
  readonly modelUrl: string;
  readonly backend: BackendPreference;
}

/** Transient; see the file comment. */
export interface GenerationProgress {
  readonly phase: 'download' | 'sessions' | 'denoise' | 'decode';
  /** 0…1 of the current phase. */
  readonly fraction: number;
  /** One line for the progress bar's label. */
  readonly text: string;
  readonly preview: Preview | null;
}

export interface GenerationError {
  readonly code: string;
  readonly message: string;
  readonly file?: string;
}

export interface GenerationState {
  readonly status: GenerationStatus;
  readonly settings: GenerationSettings;
  /** Sizes of the model at settings.modelUrl, before any download; null until planned. */
  readonly plan: PlanSummary | null;
  /** A plan too large to download without asking; the UI asks, then calls generate({ confirmDownload: true }). */
  readonly awaitingConfirmation: PlanSummary | null;
  /**
   * settings.modelUrl is on another site that the user has not allowed yet (model-hosts.ts):
   * nothing is fetched from it, not even its manifest, until answerHost(true).
   */
  readonly awaitingHost: string | null;
  readonly model: LoadedMessage | null;
  /** Things the user must know: test weights, WASM fallback, a truncated prompt. */
  readonly notices: readonly string[];
  readonly error: GenerationError | null;
  /** Transient: never select it in React. */
  readonly progress: GenerationProgress | null;
  /** The last result (kept in memory only for now) and the scene id it was shown as. */
  readonly last: { readonly result: GenerationResult; readonly panoramaId: number } | null;

  /**
   * Settings as typed by hand. `preset` follows the values: a steps/scheduler/cache edit that leaves
   * the preset's values makes it 'custom' (or the preset the new values are). A named `preset` in
   * the patch sets its values first (then the patch's own values win).
   */
  updateSettings(patch: Partial<GenerationSettings>): void;
  /** Sets the preset's scheduler, steps and DeepCache interval ('reference': the loaded model's defaults). */
  choosePreset(name: PresetName): void;
  /** Sizes of the model at settings.modelUrl; shown before anything is downloaded. */
  refreshPlan(): Promise<void>;
  /** Loads the model if needed, then generates and shows the result. */
  generate(options?: { confirmDownload?: boolean }): Promise<void>;
  cancel(): void;
  dismissError(): void;
  /**
   * The answer to awaitingHost, remembered for that host: yes sizes the model (the large-download
   * question still follows on Generate); no switches to the built-in model with a notice.
   */
  answerHost(allow: boolean): void;
}

export interface GenerationDeps {
  readonly client: GenerationClient;
  readonly scene: SceneStore;
  /** Turns settings.modelUrl into the absolute base URL the worker needs. */
  readonly resolveModelUrl: (input: string) => string;
  /** Shows a finished panorama; returns its scene id. Default: the scene store's showPanorama. */
  readonly publish?: (panorama: RGBDPanorama, result: GenerationResult, label: string) => Promise<number>;
  /** Models bigger than this are downloaded only after the user confirms (default CONFIRM_DOWNLOAD_ABOVE_BYTES, as the upscaler). */
  readonly confirmAboveBytes?: number;
  /** Previews go to the sphere at most this often (each one re-textures the mesh). */
  readonly previewIntervalMs?: number;
  readonly randomSeed?: () => number;
  /**
   * Asks the browser not to evict stored models (navigator.storage.persist, main thread only);
   * called once the user confirmed a large download.
   */
  readonly persistStorage?: () => Promise<unknown>;
  readonly now?: () => number;
  /** Asks before anything is fetched from another site (the app passes one; absent: no question). */
  readonly hostGate?: ModelHostGate;
}

export const DEFAULT_MODEL_URL = './models/tiny/ldm3d-pano/';

/** The app's first settings: the 'reference' preset of ldm3d-pano (the app picks 'headset' on headset-class devices: src/app/page-settings.ts). */
export const DEFAULT_SETTINGS: GenerationSettings = {
  prompt: '',
  negativePrompt: '',
  ...presetValues('reference', LDM3D_PANO_DEFAULTS),
  preset: 'reference',
  wrap: true,
  promptTemplate: true,
  guidance: 7,
  seed: 0,
  randomSeed: true,
  modelUrl: DEFAULT_MODEL_URL,
  backend: 'auto',
};

export const TEST_WEIGHTS_NOTICE =
  'These are random test weights, so the picture is noise — see README ("Real weights") to get the real ones.';

/** The prompt the user typed is shown as the panorama's label, shortened. */
export function labelOf(prompt: string): string {
  const p = prompt.trim().replace(/\s+/g, ' ');
  return p.length > 60 ? `${p.slice(0, 57)}…` : p || '(empty prompt)';
}

export function truncationNotice(which: 'Prompt' | 'Negative prompt', count: number, max: number): string | null {
  if (count <= max) return null;
  return `${which} is ${count} tokens long; the text encoder reads the first ${max}, so ${count - max} are ignored.`;
}

/**
 * A cancel the worker did not answer within its grace time: the client terminated the worker, so
 * the model is gone from memory (issue 13, item 2). Nothing reloads it until the next Generate,
 * which would otherwise spend unexplained time on "Preparing the model…".
 */
export const WORKER_RESTARTED_NOTICE =
  'The generation did not stop in time, so its worker was restarted; the model loads again on the next Generate.';

export const NO_DEEPCACHE_NOTICE =
  "The feature cache (DeepCache) is off for this model: its export has no DeepCache graphs (models/export.py --deepcache makes them).";

/** The model's defaults as the 'reference' preset reads them (ldm3d-pano's until a model is loaded). */
export function modelDefaultsOf(model: LoadedMessage | null): ModelDefaults {
  return model ? { scheduler: model.summary.defaults.scheduler, steps: model.summary.defaults.steps } : LDM3D_PANO_DEFAULTS;
}

/** The DeepCache interval a generation runs with: the setting where the loaded model supports it, else 1. */
export function effectiveDeepCacheInterval(settings: Pick<GenerationSettings, 'deepCacheInterval'>, model: LoadedMessage | null): number {
  return model && !model.supportsDeepCache ? 1 : settings.deepCacheInterval;
}

/**
 * Whether a generation wraps: the setting where the loaded model has wrapped graphs, else off
 * (such a model can only run diffusers' zero padding). No notice: the toggle shows the reason.
 */
export function effectiveWrap(settings: Pick<GenerationSettings, 'wrap'>, model: LoadedMessage | null): boolean {
  return settings.wrap && (model?.supportsWrap ?? false);
}

/**
 * The prompt template of the model the settings point at: the plan's (known before anything is
 * downloaded; cleared when the model address changes, so never a previous model's), else the
 * loaded model's, else null (not known yet, or the model has none).
 */
export function promptTemplateOf(state: Pick<GenerationState, 'model' | 'plan'>): string | null {
  if (state.plan) return state.plan.promptTemplate ?? null;
  return state.model?.summary.promptTemplate ?? null;
}

/**
 * What the next Generate will send for `prompt`, or null when it is sent as typed (no template,
 * or the setting is off): the panels show it next to the prompt field. The pipeline applies the
 * template itself (prompt-template.ts); this only mirrors it for display.
 */
export function sentPromptPreview(state: Pick<GenerationState, 'model' | 'plan'>, settings: Pick<GenerationSettings, 'promptTemplate'>, prompt: string): string | null {
  const template = promptTemplateOf(state);
  if (!template || !settings.promptTemplate) return null;
  return applyPromptTemplate(template, prompt);
}

const VALUE_KEYS = ['scheduler', 'steps', 'deepCacheInterval'] as const;

/** Applies a settings patch and keeps `preset` in step with the values (see GenerationState.updateSettings). */
export function applySettingsPatch(current: GenerationSettings, patch: Partial<GenerationSettings>, defaults: ModelDefaults): GenerationSettings {
  let next: GenerationSettings = { ...current, ...patch };
  if (isPresetName(patch.preset)) {
    const own: Partial<PresetValues> = {};
    for (const k of VALUE_KEYS) if (patch[k] !== undefined) Object.assign(own, { [k]: patch[k] });
    next = { ...next, ...presetValues(patch.preset, defaults), ...own };
  }
  return { ...next, preset: matchingPreset(next, defaults) };
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function createGenerationStore(deps: GenerationDeps, initial: Partial<GenerationSettings> = {}) {
  const confirmAbove = deps.confirmAboveBytes ?? CONFIRM_DOWNLOAD_ABOVE_BYTES;
  const previewInterval = deps.previewIntervalMs ?? 250;
  const now = deps.now ?? (() => performance.now());
  const drawSeed = deps.randomSeed ?? (() => crypto.getRandomValues(new Uint32Array(1))[0]);
  const publish =
    deps.publish ?? (async (panorama: RGBDPanorama, _r: GenerationResult, label: string) => deps.scene.getState().showPanorama(panorama, label));
  /** Base URL + backend of the model the client holds, to know when a reload is needed. */
  let loadedFor: string | null = null;
  /** Set by cancel() while the plan request is out (the worker has nothing to cancel yet). */
  let planCancelled = false;
  /** A link to a host declined before: the built-in model instead, said once the store exists. */
  let declinedAtStart: string | null = null;
  if (initial.modelUrl !== undefined && deps.hostGate) {
    try {
      const url = deps.resolveModelUrl(initial.modelUrl);
      if (deps.hostGate.isDenied(url)) {
        declinedAtStart = hostDeclinedText(hostLabel(url));
        initial = { ...initial, modelUrl: DEFAULT_MODEL_URL };
      }
    } catch {
      // An unusable address fails later, with the model store's message.
    }
  }
  /** The host to ask about before fetching from `baseUrl`, or null. */
  const hostToAsk = (baseUrl: string): string | null => deps.hostGate?.needsAsking(baseUrl) ?? null;

  return createStore<GenerationState>()((set, get) => {
    const setProgress = (progress: GenerationProgress | null): void => set({ progress });
    const addNotice = (text: string | null): void => {
      if (text && !get().notices.includes(text)) set({ notices: [...get().notices, text] });
    };
    const fail = (e: unknown): void => {
      const pe = e as Partial<PipelineError>;
      const error: GenerationError =
        typeof pe?.code === 'string'
          ? { code: pe.code, message: pe.message ?? String(e), ...(pe.file ? { file: pe.file } : {}) }
          : { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
      set({ status: 'error', error, progress: null });
    };
    const isCancel = (e: unknown): boolean => (e as Partial<PipelineError>)?.code === 'cancelled';
    /** A cancel ends as idle; one that needed the worker terminated also says the model reloads. */
    const cancelled = (e: unknown): void => {
      set({ status: 'idle', progress: null });
      if ((e as Partial<PipelineError>).workerRestarted) addNotice(WORKER_RESTARTED_NOTICE);
    };

    const onLoadProgress = (p: LoadProgressMessage): void => {
      if (p.phase === 'creating-sessions') {
        const stage = p.file ? `: ${p.file.replace('_', ' ')} (${p.loaded} of ${p.total})` : '';
        setProgress({ phase: 'sessions', fraction: p.total > 0 ? p.loaded / p.total : 0, text: `Preparing the model${stage}…`, preview: null });
        return;
      }
      const fraction = p.overall.total > 0 ? p.overall.loaded / p.overall.total : 1;
      const verb = p.phase === 'resuming' ? 'Checking the partial download of' : p.phase === 'cached' ? 'Cached:' : 'Downloading';
      setProgress({
        phase: 'download',
        fraction,
        text: `${verb} ${p.file} — ${formatBytes(p.overall.loaded)} of ${formatBytes(p.overall.total)}`,
        preview: null,
      });
    };

    /** Plans and loads the model of the current settings unless the client already holds it. */
    const ensureModel = async (confirmDownload: boolean): Promise<LoadedMessage | null> => {
      const { modelUrl, backend } = get().settings;
      const baseUrl = deps.resolveModelUrl(modelUrl);
      const key = `${baseUrl}|${backend}`;
      if (deps.client.loaded && loadedFor === key) return deps.client.loaded;
      const host = hostToAsk(baseUrl);
      if (host !== null) {
        set({ status: 'idle', awaitingHost: host, progress: null });
        return null;
      }
      set({ status: 'planning', error: null, model: null });
      planCancelled = false;
      const plan = await deps.client.plan(baseUrl);
      set({ plan });
      if (planCancelled) return null;
      if (plan.testWeights) addNotice(TEST_WEIGHTS_NOTICE);
      if (needsDownloadConfirm(plan, confirmAbove) && !confirmDownload) {
        set({ status: 'idle', awaitingConfirmation: plan, progress: null });
        return null;
      }
      set({ status: 'loading', awaitingConfirmation: null });
      if (needsDownloadConfirm(plan, confirmAbove)) await deps.persistStorage?.().catch(() => undefined);
      onLoadProgress({
        type: 'load-progress',
        id: 0,
        file: plan.files[0]?.path ?? '',
        loaded: 0,
        total: plan.files[0]?.bytes ?? 0,
        overall: { loaded: plan.cachedBytes, total: plan.totalBytes },
        phase: 'downloading',
      });
      const model = await deps.client.load(baseUrl, backend, onLoadProgress);
      loadedFor = key;
      // The reload it announced has happened.
      set({ notices: get().notices.filter((n) => n !== WORKER_RESTARTED_NOTICE) });
      for (const n of model.notices) addNotice(n);
      if (model.testWeights) addNotice(TEST_WEIGHTS_NOTICE);
      // 'reference' means this model's own defaults: a named preset takes its values for it, and
      // hand-made settings may now be one of its presets.
      const current = get().settings;
      const settings = applySettingsPatch(current, current.preset === 'custom' ? {} : { preset: current.preset }, modelDefaultsOf(model));
      set({ model, settings, plan: { ...plan, cachedBytes: plan.totalBytes, remainingBytes: 0, files: plan.files.map((f) => ({ ...f, cachedBytes: f.bytes })) } });
      return model;
    };

    return {
      status: 'idle',
      settings: applySettingsPatch(DEFAULT_SETTINGS, initial, LDM3D_PANO_DEFAULTS),
      plan: null,
      awaitingConfirmation: null,
      awaitingHost: null,
      model: null,
      notices: declinedAtStart ? [declinedAtStart] : [],
      error: null,
      progress: null,
      last: null,

      updateSettings(patch) {
        const settings = applySettingsPatch(get().settings, patch, modelDefaultsOf(get().model));
        const modelChanged = patch.modelUrl !== undefined && patch.modelUrl !== get().settings.modelUrl;
        set({ settings, ...(modelChanged ? { plan: null, awaitingConfirmation: null, awaitingHost: null } : {}) });
      },

      choosePreset(name) {
        set({ settings: applySettingsPatch(get().settings, { preset: name }, modelDefaultsOf(get().model)) });
      },

      async refreshPlan() {
        const s = get();
        if (s.status !== 'idle' && s.status !== 'error') return;
        try {
          const baseUrl = deps.resolveModelUrl(s.settings.modelUrl);
          const host = hostToAsk(baseUrl);
          if (host !== null) {
            set({ awaitingHost: host });
            return;
          }
          const plan = await deps.client.plan(baseUrl);
          set({ plan });
          if (plan.testWeights) addNotice(TEST_WEIGHTS_NOTICE);
        } catch (e) {
          if (get().status === 'idle' || get().status === 'error') fail(e);
        }
      },

      async generate(options = {}) {
        const s = get();
        if (s.status !== 'idle' && s.status !== 'error') return;
        // Notices about the previous prompt go; load notices come back from the model below.
        set({ error: null, notices: get().notices.filter((n) => !n.includes('tokens long')) });
        let model: LoadedMessage | null;
        try {
          model = await ensureModel(options.confirmDownload ?? false);
        } catch (e) {
          if (isCancel(e)) cancelled(e);
          else fail(e);
          return;
        }
        if (!model) return; // waiting for the user to confirm the download

        const settings = get().settings;
        const seed = settings.randomSeed ? drawSeed() >>> 0 : settings.seed;
        if (settings.randomSeed) set({ settings: { ...settings, seed } });
        const deepCacheInterval = effectiveDeepCacheInterval(settings, model);
        if (deepCacheInterval !== settings.deepCacheInterval) addNotice(NO_DEEPCACHE_NOTICE);
        const params: GenerateParams = {
          prompt: settings.prompt,
          negativePrompt: settings.negativePrompt,
          steps: settings.steps,
          guidance: settings.guidance,
          scheduler: settings.scheduler,
          seed,
          deepCacheInterval,
          wrap: effectiveWrap(settings, model),
          preset: settings.preset,
          promptTemplate: settings.promptTemplate,
        };
        set({ status: 'generating' });
        setProgress({ phase: 'denoise', fraction: 0, text: 'Encoding the prompt…', preview: null });

        // Previews go to the scene store's preview slot, which the sphere shows instead of the
        // current panorama until a result is shown or the preview is cleared.
        let lastPreviewAt = -Infinity;
        const onProgress = (p: ProgressMessage): void => {
          if (p.tokens) {
            addNotice(truncationNotice('Prompt', p.tokens.prompt.count, p.tokens.prompt.max));
            addNotice(truncationNotice('Negative prompt', p.tokens.negative.count, p.tokens.negative.max));
          }
          const eta = p.etaMs === null ? '' : ` — about ${formatDuration(p.etaMs)} left`;
          const text = p.step >= p.total ? 'Decoding the panorama…' : `Step ${p.step} of ${p.total}${eta}`;
          setProgress({ phase: p.step >= p.total ? 'decode' : 'denoise', fraction: p.total > 0 ? p.step / p.total : 0, text, preview: p.preview });
          const t = now();
          if (p.preview && get().status === 'generating' && (t - lastPreviewAt >= previewInterval || p.step === p.total)) {
            lastPreviewAt = t;
            deps.scene.getState().showPreview(previewPanorama(p.preview));
          }
        };
        try {
          const result = await deps.client.generate(params, {
            onProgress,
            onLoadProgress: (p) => onLoadProgress(p),
          });
          const panorama: RGBDPanorama = { width: result.width, height: result.height, rgba: result.rgba, depth: result.depth };
          const panoramaId = await publish(panorama, result, labelOf(params.prompt));
          set({ status: 'idle', progress: null, last: { result, panoramaId } });
        } catch (e) {
          deps.scene.getState().showPreview(null);
          if (isCancel(e)) cancelled(e);
          else fail(e);
          // A terminated worker (crash, or a cancel it ignored) lost the model: the next Generate
          // loads it again, lazily, rather than reloading now for a user who may not generate again.
          if (!deps.client.loaded) loadedFor = null;
        }
      },

      cancel() {
        const st = get().status;
        if (st === 'loading' || st === 'generating') {
          set({ status: 'cancelling' });
          setProgress({ ...(get().progress ?? { phase: 'denoise', fraction: 0, preview: null }), text: 'Cancelling…' });
          deps.client.cancel();
        } else if (st === 'planning' || get().awaitingConfirmation) {
          planCancelled = st === 'planning';
          set({ status: 'idle', awaitingConfirmation: null, progress: null });
        }
      },

      dismissError() {
        set({ error: null, status: get().status === 'error' ? 'idle' : get().status });
      },

      answerHost(allow) {
        const host = get().awaitingHost;
        if (host === null) return;
        const baseUrl = deps.resolveModelUrl(get().settings.modelUrl);
        deps.hostGate?.remember(baseUrl, allow ? 'allowed' : 'denied');
        set({ awaitingHost: null });
        if (allow) {
          void get().refreshPlan();
          return;
        }
        get().updateSettings({ modelUrl: DEFAULT_MODEL_URL });
        addNotice(hostDeclinedText(host));
      },
    };
  });
}

export type GenerationStore = ReturnType<typeof createGenerationStore>;

/** A preview as a panorama for the sphere: its colours on a flat, far depth (the real depth comes with the result). */
export function previewPanorama(p: Preview): RGBDPanorama {
  return { width: p.width, height: p.height, rgba: p.rgba, depth: new Float32Array(p.width * p.height) };
}
