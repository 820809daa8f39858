/**
 * The composition root: everything the app shares is created here, once, by createAppServices()
 * (src/main.tsx), handed to React through one context (services-context.tsx) and torn down by
 * destroy(). Nothing is created at import time; tests build their own with fakes.
 */
import type { XRStore } from '@react-three/xr';
import { createShownDetailStore, type ShownDetailStore } from '../export/shown-detail';
import { resolveModelBaseUrl } from '../model/model-store';
import { DEFAULT_DEPTH_MAPPING } from '../panorama/depth-mapping';
import { createGenerationStore, type GenerationStore } from '../state/generation';
import { pageModelHostGate, type ModelHostGate } from '../state/model-hosts';
import { createSharpenStore, type SharpenStore } from '../state/sharpen';
import { createSceneStore, type SceneStore } from '../state/viewer';
import { createCurrentSceneStore } from '../storage/shown-scene-files';
import {
  clearSavedDetail,
  saveDetailPatch,
  saveThenShowPublisher,
  sceneStoreOpener,
  watchDeletedScenes,
  type SceneServices,
} from '../storage/save-then-show';
import { PipelineClient } from '../workers/client';
import { createAppXRStore } from '../xr/xr-store';
import { createDebugHandle, debugHandle } from './debug-handle';
import { DEFAULT_SR_MODEL_URL, initialSettingsFromUrl, refineDefaultPreset, srSettingsFromUrl } from './page-settings';
import { startTelemetry, type DatasetTarget, type Telemetry } from './telemetry';

export interface AppServices {
  /** Immersive sessions; on a desktop without WebXR it brings the IWER emulator. */
  readonly xr: XRStore;
  /** What is on screen: panorama, depth mapping, messages. */
  readonly viewer: SceneStore;
  /** The one pipeline worker: generation and sharpening take turns on it. */
  readonly pipeline: PipelineClient;
  /** One for the page: a host allowed for the panorama model is allowed for the upscaler too. */
  readonly hostGate: ModelHostGate;
  readonly generation: GenerationStore;
  readonly sharpen: SharpenStore;
  /** The gallery's and "save, then show"'s view of viewer, shown scene and database. */
  readonly scenes: SceneServices;
  /** The detail layer drawn with the scene on screen, for the export buttons. */
  readonly shownDetail: ShownDetailStore;
  /** Writes the test handle (`window.__ldm3d`). */
  readonly telemetry: Telemetry;
  /** Ends the worker, unsubscribes everything, ends the XR store. */
  destroy(): void;
}

/** The page the app runs in; every field defaults to the browser's. */
export interface AppEnvironment {
  /** The address's query (`location.search`). */
  readonly search?: string;
  /** Relative model addresses resolve against it (the worker would resolve against its script). */
  readonly baseURI?: string;
  readonly userAgent?: string;
  readonly gpu?: GPU;
  readonly indexedDB?: IDBFactory;
  readonly persistStorage?: () => Promise<boolean>;
  readonly pipeline?: PipelineClient;
  readonly hostGate?: ModelHostGate;
  readonly createXR?: () => XRStore;
  readonly debugHandle?: Ldm3dDebugHandle;
  /** Where `sceneReady` / `xrSession` data attributes go (document.body). */
  readonly body?: DatasetTarget | null;
}

function browserEnvironment(): AppEnvironment {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  return {
    search: typeof location === 'undefined' ? '' : location.search,
    baseURI: typeof document === 'undefined' ? undefined : document.baseURI,
    userAgent: nav?.userAgent ?? '',
    gpu: nav?.gpu,
    // Without it the browser may evict gigabytes of weights under storage pressure.
    persistStorage: () => nav?.storage?.persist?.() ?? Promise.resolve(false),
    debugHandle: debugHandle(),
    body: typeof document === 'undefined' ? null : document.body,
  };
}

export function createAppServices(env: AppEnvironment = browserEnvironment()): AppServices {
  const search = env.search ?? '';
  const baseURI = env.baseURI ?? 'http://localhost/';
  const persistStorage = env.persistStorage ?? (() => Promise.resolve(false));
  const stops: (() => void)[] = [];

  const xr = (env.createXR ?? createAppXRStore)();
  const viewer = createSceneStore(DEFAULT_DEPTH_MAPPING);
  const pipeline = env.pipeline ?? new PipelineClient();
  const hostGate = env.hostGate ?? pageModelHostGate();
  const shownDetail = createShownDetailStore();
  const current = createCurrentSceneStore();

  // `sharpen` is created below; the sink is only called when a saved scene is opened, long after.
  const scenes: SceneServices = {
    viewer: {
      show: (panorama, label, mapping) => viewer.getState().showPanorama(panorama, label, mapping),
      say: (kind, text) => void viewer.getState().say(kind, text),
      depthMapping: () => viewer.getState().depthMapping,
    },
    current,
    store: sceneStoreOpener(env.indexedDB),
    // An opened scene's sharpened regions go to the sharpen store.
    detail: { show: (panoramaId, detail) => sharpen.getState().adopt(panoramaId, detail) },
  };

  const generation = createGenerationStore(
    {
      client: pipeline,
      scene: viewer,
      // The worker resolves relative URLs against its own script, so resolve against the page here.
      resolveModelUrl: (input) => resolveModelBaseUrl(input, baseURI),
      persistStorage,
      // Saved to the gallery (IndexedDB) before it is shown; a failed save still shows it, with a message.
      publish: saveThenShowPublisher(scenes),
      // A ?model= link (or a typed address) on another site is fetched only after the user allows that host.
      hostGate,
    },
    initialSettingsFromUrl(search, env.userAgent ?? ''),
  );
  refineDefaultPreset(generation, search, env.gpu);

  // One worker, one job at a time: the panels disable Sharpen while a generation runs and the other way round.
  const sr = srSettingsFromUrl(search);
  const sharpen = createSharpenStore(
    {
      client: pipeline,
      scene: viewer,
      modelUrl: () => resolveModelBaseUrl(sr.modelUrl, baseURI),
      backend: () => generation.getState().settings.backend,
      // Sharpened regions are saved with the scene (IndexedDB) and come back when it is opened.
      savePatch: (sceneId, patch) => saveDetailPatch(sceneId, patch, scenes),
      clearSaved: (sceneId) => clearSavedDetail(sceneId, scenes),
      persistStorage,
      // A ?sr= link on another site is fetched only after the user allows that host; a "no" uses the built-in one.
      hostGate,
      fallbackModelUrl: () => resolveModelBaseUrl(DEFAULT_SR_MODEL_URL, baseURI),
    },
    sr.steps ? { steps: sr.steps } : {},
  );

  // Deleting the scene on screen (in this tab's gallery or another tab's) leaves it shown but no
  // longer saved, instead of a "Saved" label over a record that is gone.
  stops.push(watchDeletedScenes(scenes));
  // When the viewer shows a panorama that is not ours (test room, plain image import), drop our
  // record of the previous scene so its pixels can be freed and it is not exported by mistake.
  stops.push(viewer.subscribe((s) => current.getState().forgetUnless(s.current?.id ?? null)));

  const telemetry = startTelemetry({ xr, viewer, sharpen }, env.debugHandle ?? createDebugHandle(), env.body ?? null);
  stops.push(() => telemetry.stop());

  let destroyed = false;
  return {
    xr,
    viewer,
    pipeline,
    hostGate,
    generation,
    sharpen,
    scenes,
    shownDetail,
    telemetry,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const stop of stops.splice(0).reverse()) stop();
      void pipeline.dispose();
      void scenes.store().then(
        (db) => db.close(),
        () => undefined,
      );
      xr.destroy();
    },
  };
}
