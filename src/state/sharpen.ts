/**
 * "Sharpen what you look at": status, progress and the viewer's detail layer, with actions that
 * drive the pipeline worker's sharpen job. No React or three here; the desktop and VR panels are
 * views over it and the Viewer uploads the layer to the panorama material.
 *
 * The detail layer (4096×2048 RGBA + float depth, 64 MB) is allocated on the first result for a
 * scene and dropped when the scene changes. `progress` is transient (every SR step): views read it
 * with `subscribe`, never with a React hook.
 *
 * Saved before shown: a finished patch goes to `deps.savePatch` (the scene's stored record) and is
 * composited only once that has settled; a failed save is said and the patch is shown anyway (it
 * then lasts until the scene changes). Opening a saved scene hands its rebuilt layer to `adopt`.
 */
import { createStore } from 'zustand/vanilla';
import { compositeRegion, mergeRects, type LayerRect, type RegionPatch } from '../panorama/detail-layer';
import { createDetailLayer, type DetailLayer } from '../panorama/gnomonic';
import type { SceneStore } from './viewer';
import type { PipelineError, SharpenOptions, SharpenParams, SharpenResult } from '../workers/client';
import type { BackendPreference, PlanModels, PlanSummary, SrModelInfo } from '../workers/protocol';
import { formatBytes } from '../model/model-store';
import { CONFIRM_DOWNLOAD_ABOVE_BYTES, needsDownloadConfirm } from './download-confirm';
import { hostDeclinedText, hostLabel, type ModelHostGate } from './model-hosts';

type Vec3 = { readonly x: number; readonly y: number; readonly z: number };

/** The part of PipelineClient used here (tests pass the real client on a fake worker). */
export interface SharpenClient {
  readonly srLoaded: SrModelInfo | null;
  /** Sizes the upscaler's files before anything is downloaded (called with 'sr'). */
  plan(baseUrl: string, models: PlanModels): Promise<PlanSummary>;
  sharpen(params: SharpenParams, options?: SharpenOptions): Promise<SharpenResult>;
  unloadSr(): Promise<void>;
  cancel(): void;
}

/** Where the viewer looks, in the panorama's frame; set by the Viewer (camera or headset). */
export type GazeSource = () => { gaze: Vec3; rightHint?: Vec3 } | null;

/** 'sharpening' includes saving the finished patch (cancel is ignored then). */
export type SharpenStatus = 'idle' | 'sharpening' | 'cancelling' | 'unloading' | 'clearing';

export interface SharpenProgress {
  readonly text: string;
  /** 0…1 of the current phase. */
  readonly fraction: number;
}

export interface SharpenState {
  readonly status: SharpenStatus;
  /** Transient; see the file comment. */
  readonly progress: SharpenProgress | null;
  readonly steps: number;
  readonly seed: number;
  /** The shown scene's detail layer, or null before its first sharpen. */
  readonly layer: DetailLayer | null;
  /** Scene id the layer belongs to. */
  readonly layerScene: number | null;
  /** Rectangles written by the last composite (the Viewer uploads these). */
  readonly lastRects: readonly LayerRect[];
  /** Everything sharpened in this scene, merged. */
  readonly touched: readonly LayerRect[];
  /** Number of regions composited into this scene's layer. */
  readonly regions: number;
  /** Of those, how many are on screen only (not stored with the scene). */
  readonly unsaved: number;
  readonly srModel: SrModelInfo | null;
  /**
   * The upscaler is not loaded and its download is too large to start without asking (the same
   * rule and words as the panorama model: download-confirm.ts); the panels ask, then call
   * sharpen({ confirmDownload: true }), or cancel() for "Not now".
   */
  readonly awaitingConfirmation: PlanSummary | null;
  /**
   * The upscaler's address (`?sr=`) is on another site the user has not allowed yet: nothing is
   * fetched from it until answerHost(true), which then goes on with the sharpen.
   */
  readonly awaitingHost: string | null;
  /** Border step of the last patch after the depth fit (inverse depth units). */
  readonly lastBorder: { readonly mean: number; readonly p95: number; readonly max: number } | null;
  setSteps(steps: number): void;
  setGazeSource(source: GazeSource | null): void;
  /**
   * Sharpens what the viewer looks at now. Errors go to the scene's messages. When the upscaler
   * must be downloaded first and that is large, it only sets awaitingConfirmation, unless
   * `confirmDownload` says the user has agreed.
   */
  sharpen(options?: { confirmDownload?: boolean }): Promise<void>;
  /** Stops the running sharpen, or answers "Not now" to the download question. */
  cancel(): void;
  /** The answer to awaitingHost (remembered for the host); no uses the built-in upscaler instead. */
  answerHost(allow: boolean): Promise<void>;
  /** Releases the SR models (GPU memory). */
  unload(): Promise<void>;
  /**
   * Shows a detail layer rebuilt from storage on scene `sceneId` (ignored if another scene is on
   * show by now). The layer is taken over, not copied.
   */
  adopt(sceneId: number, detail: AdoptedDetail): void;
  /** "Undo sharpening": removes the scene's patches from storage, then from the view. */
  clearAll(): Promise<void>;
}

export interface AdoptedDetail {
  readonly layer: DetailLayer;
  readonly rects: readonly LayerRect[];
  readonly regions: number;
}

/** A finished patch with the size of its layer, as handed to `savePatch`. */
export interface FinishedPatch extends RegionPatch {
  readonly layerWidth: number;
  readonly layerHeight: number;
}

export interface SharpenDeps {
  readonly client: SharpenClient;
  readonly scene: SceneStore;
  /** Absolute URL of the LDM3D-SR model folder. */
  readonly modelUrl: () => string;
  readonly backend: () => BackendPreference;
  readonly layerWidth?: number;
  /**
   * Stores a finished patch with scene `sceneId` before it is shown; rejects with an Error whose
   * message is for the user. Absent: patches live in memory only.
   */
  readonly savePatch?: (sceneId: number, patch: FinishedPatch) => Promise<'saved' | 'scene-not-saved'>;
  /** Removes scene `sceneId`'s stored patches (for clearAll); rejects like savePatch. */
  readonly clearSaved?: (sceneId: number) => Promise<unknown>;
  /** An upscaler download bigger than this waits for the user's yes (default: as the panorama model). */
  readonly confirmAboveBytes?: number;
  /** Asks the browser not to evict stored models; called once the user confirmed a large download. */
  readonly persistStorage?: () => Promise<unknown>;
  /** Asks before anything is fetched from another site (absent: no question). */
  readonly hostGate?: ModelHostGate;
  /** The built-in upscaler's URL, used once the user declines modelUrl's host. */
  readonly fallbackModelUrl?: () => string;
}

export const DEFAULT_SHARPEN_STEPS = 20;

export function createSharpenStore(deps: SharpenDeps, initial: { steps?: number } = {}) {
  let gazeSource: GazeSource | null = null;
  // The worker is done and the patch is being stored: too late to cancel.
  let saving = false;
  // Non-null while the upscaler's size is being asked for: there is no worker job yet, so cancel
  // only drops the answer (a new token makes the pending one stale).
  let planning: object | null = null;
  const confirmAbove = deps.confirmAboveBytes ?? CONFIRM_DOWNLOAD_ABOVE_BYTES;
  // After a "no" to the link's host (now or on an earlier visit): the built-in upscaler.
  let useFallback = false;
  const modelUrl = (): string => (useFallback && deps.fallbackModelUrl ? deps.fallbackModelUrl() : deps.modelUrl());
  const store = createStore<SharpenState>()((set, get) => ({
    status: 'idle',
    progress: null,
    steps: initial.steps ?? DEFAULT_SHARPEN_STEPS,
    seed: 1,
    layer: null,
    layerScene: null,
    lastRects: [],
    touched: [],
    regions: 0,
    unsaved: 0,
    srModel: deps.client.srLoaded,
    awaitingConfirmation: null,
    awaitingHost: null,
    lastBorder: null,
    setSteps(steps) {
      if (Number.isInteger(steps) && steps >= 1 && steps <= 1000) set({ steps });
    },
    setGazeSource(source) {
      gazeSource = source;
    },
    async sharpen(options = {}) {
      const say = deps.scene.getState().say;
      if (get().status !== 'idle') return;
      const current = deps.scene.getState().current;
      if (current === null) {
        say('error', 'Sharpen: there is no panorama on show.');
        return;
      }
      const view = gazeSource?.() ?? null;
      if (view === null) {
        say('error', 'Sharpen: the view direction is not known yet; try again once the scene is drawn.');
        return;
      }
      const { panorama } = current;
      if (!useFallback && deps.fallbackModelUrl && deps.hostGate?.isDenied(deps.modelUrl())) {
        useFallback = true;
        say('notice', hostDeclinedText(hostLabel(deps.modelUrl())));
      }
      const baseUrl = modelUrl();
      const host = deps.hostGate?.needsAsking(baseUrl) ?? null;
      if (host !== null) {
        set({ awaitingHost: host });
        return;
      }
      set({ status: 'sharpening', progress: { text: 'Starting…', fraction: 0 } });
      // Not loaded yet: the upscaler may have gigabytes to download, which the user must see first.
      if (deps.client.srLoaded === null) {
        const token = {};
        planning = token;
        set({ progress: { text: 'Checking the size of the upscaler…', fraction: 0 } });
        let plan: PlanSummary;
        try {
          plan = await deps.client.plan(baseUrl, 'sr');
        } catch (e) {
          if (planning !== token) return;
          planning = null;
          say('error', `Sharpen failed: ${(e as Partial<PipelineError>)?.message ?? String(e)}`);
          set({ status: 'idle', progress: null });
          return;
        }
        if (planning !== token) return; // cancelled meanwhile
        planning = null;
        const large = needsDownloadConfirm(plan, confirmAbove);
        if (large && !options.confirmDownload) {
          set({ status: 'idle', progress: null, awaitingConfirmation: plan });
          return;
        }
        set({ awaitingConfirmation: null });
        if (large) await deps.persistStorage?.().catch(() => undefined);
      }
      try {
        const result = await deps.client.sharpen(
          {
            baseUrl,
            backend: deps.backend(),
            width: panorama.width,
            height: panorama.height,
            // Copies: the buffers are transferred to the worker, and the scene keeps showing these.
            rgba: panorama.rgba.slice(),
            depth: panorama.depth.slice(),
            gaze: view.gaze,
            ...(view.rightHint ? { rightHint: view.rightHint } : {}),
            steps: get().steps,
            seed: get().seed,
            ...(deps.layerWidth ? { layerWidth: deps.layerWidth } : {}),
          },
          { onProgress: (p) => set({ progress: progressOf(p.phase, p.done, p.total) }) },
        );
        set({ srModel: result.sr, seed: (get().seed + 1) >>> 0 });
        for (const n of result.notices ?? []) say('notice', n);
        if (deps.scene.getState().current?.id !== current.id) {
          say('notice', 'The scene changed while sharpening; the sharpened patch was dropped.');
          return;
        }
        let saved = false;
        if (deps.savePatch) {
          saving = true;
          set({ status: 'sharpening', progress: { text: 'Saving the sharpened region with the scene', fraction: 1 } });
          try {
            const patch = { region: result.region, rgba: result.rgba, depth: result.depth, layerWidth: result.layerWidth, layerHeight: result.layerHeight };
            saved = (await deps.savePatch(current.id, patch)) === 'saved';
          } catch (e) {
            say('error', (e as Error)?.message ?? String(e));
          } finally {
            saving = false;
          }
        }
        if (deps.scene.getState().current?.id !== current.id) {
          say('notice', saved ? 'The scene changed while the sharpened region was saved; it is kept with its scene.' : 'The scene changed while sharpening; the sharpened patch was dropped.');
          return;
        }
        let layer = get().layerScene === current.id ? get().layer : null;
        if (layer === null || layer.width !== result.layerWidth) layer = createDetailLayer(result.layerWidth, result.layerHeight);
        const rects = compositeRegion(layer, { region: result.region, rgba: result.rgba, depth: result.depth });
        const sameLayer = layer === get().layer;
        set({
          layer,
          layerScene: current.id,
          lastRects: rects,
          touched: mergeRects([...(sameLayer ? get().touched : []), ...rects]),
          regions: (sameLayer ? get().regions : 0) + 1,
          unsaved: (sameLayer ? get().unsaved : 0) + (saved ? 0 : 1),
          lastBorder: result.border,
        });
      } catch (e) {
        const pe = e as PipelineError;
        if (pe?.code === 'cancelled') say('notice', 'Sharpen cancelled.');
        else say('error', `Sharpen failed: ${pe?.message ?? String(e)}`);
        set({ srModel: deps.client.srLoaded });
      } finally {
        set({ status: 'idle', progress: null });
      }
    },
    cancel() {
      if (get().awaitingConfirmation !== null || get().awaitingHost !== null) {
        set({ awaitingConfirmation: null, awaitingHost: null });
        return;
      }
      if (planning !== null) {
        planning = null;
        set({ status: 'idle', progress: null });
        return;
      }
      if (get().status !== 'sharpening' || saving) return;
      set({ status: 'cancelling' });
      deps.client.cancel();
    },
    async answerHost(allow) {
      const host = get().awaitingHost;
      if (host === null) return;
      deps.hostGate?.remember(modelUrl(), allow ? 'allowed' : 'denied');
      set({ awaitingHost: null });
      if (!allow) {
        if (!deps.fallbackModelUrl) return;
        useFallback = true;
        deps.scene.getState().say('notice', hostDeclinedText(host));
      }
      await get().sharpen();
    },
    async unload() {
      if (get().status !== 'idle') return;
      set({ status: 'unloading' });
      try {
        await deps.client.unloadSr();
      } catch (e) {
        deps.scene.getState().say('error', `Could not release the upscaler: ${(e as Error).message}`);
      } finally {
        set({ status: 'idle', srModel: deps.client.srLoaded });
      }
    },
    adopt(sceneId, detail) {
      if (deps.scene.getState().current?.id !== sceneId) return;
      set({ layer: detail.layer, layerScene: sceneId, lastRects: [], touched: mergeRects(detail.rects), regions: detail.regions, unsaved: 0, lastBorder: null });
    },
    async clearAll() {
      const sceneId = get().layerScene;
      if (get().status !== 'idle' || get().layer === null || sceneId === null) return;
      set({ status: 'clearing' });
      try {
        await deps.clearSaved?.(sceneId);
        // Only what storage no longer has leaves the screen.
        if (get().layerScene === sceneId) set({ layer: null, layerScene: null, lastRects: [], touched: [], regions: 0, unsaved: 0, lastBorder: null });
      } catch (e) {
        deps.scene.getState().say('error', (e as Error)?.message ?? String(e));
      } finally {
        set({ status: 'idle' });
      }
    },
  }));
  // A new scene: its layer starts empty (the old one is dropped, not cleared: 64 MB freed).
  deps.scene.subscribe((s, prev) => {
    if (s.current?.id !== prev.current?.id && store.getState().layer !== null) {
      store.setState({ layer: null, layerScene: null, lastRects: [], touched: [], regions: 0, unsaved: 0, lastBorder: null });
    }
  });
  return store;
}

export type SharpenStore = ReturnType<typeof createSharpenStore>;

function progressOf(phase: 'download' | 'sessions' | 'step' | 'compose', done: number, total: number): SharpenProgress {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  switch (phase) {
    case 'download':
      return { text: `Loading the upscaler: ${formatBytes(done)} of ${formatBytes(total)}`, fraction };
    case 'sessions':
      return { text: `Preparing the upscaler: ${done} of ${total}`, fraction };
    case 'step':
      return { text: `Step ${done} of ${total}`, fraction };
    case 'compose':
      return { text: 'Placing the sharpened patch', fraction: 1 };
  }
}

/** "Loaded: …" line: what the worker holds right now. */
export function loadedModelsText(pano: { modelId: string; testWeights: boolean } | null, sr: SrModelInfo | null): string {
  const name = (kind: string, m: { modelId: string; testWeights: boolean }): string => `${kind}${m.testWeights ? ' (tiny test weights)' : ''} [${m.modelId}]`;
  const parts = [pano ? name('LDM3D-pano', pano) : null, sr ? name('LDM3D-SR', sr) : null].filter((p): p is string => p !== null);
  return `Loaded: ${parts.length ? parts.join(', ') : 'no models'}`;
}
