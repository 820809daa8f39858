/**
 * The three ways a scene reaches the screen, each keeping the rule "saved before shown":
 * - `saveThenShow`: a fresh generation result is encoded, committed to IndexedDB, then shown. If
 *   storage fails (full, private mode) it is shown anyway, with a message, and stays exportable.
 * - `showSavedScene`: a gallery entry is read back and shown, with its sharpened regions: the
 *   detail layer is rebuilt from the stored patches and handed to `detail` right after the show.
 * - `showImportedScene`: imported files are saved like a generation, then shown.
 *
 * Every function takes the `SceneServices` (viewer, current scene, database) it works on; the app
 * builds them once in src/app/services.ts. Sharpening keeps the same rule: `saveDetailPatch` adds
 * a finished patch to the shown scene's stored record before the sharpen flow shows it.
 */
import { decodeDepthPng, decodeRgbPng, encodeThumbnailPng, uint16ToDepth } from '../export/png';
import { encodeSceneFiles, toPanorama, THUMBNAIL_WIDTH, type SceneFiles } from '../export/scene-files';
import type { ImportedScene } from '../import/import';
import { IMPORTED_MODEL_ID, type SceneMetadata } from '../export/metadata';
import { seamRatio } from '../panorama/seam';
import type { DepthMapping, RGBDPanorama } from '../panorama/types';
import { DEFAULT_DEPTH_MAPPING } from '../panorama/depth-mapping';
import type { CurrentScene, CurrentSceneStore } from './shown-scene-files';
import { detailWriteFailedMessage, SceneStoreError, StorageWriteError, writeFailedMessage } from './errors';
import { SavedSceneStore } from './gallery-db';
import { encodeDetailPatch, restoreDetailLayer, type RestoredDetail, type SizedPatch } from './detail-patches';

/** What the viewer offers (src/state's scene store). */
export interface SceneViewer {
  /** Shows a panorama (with the scene's own depth mapping when given); returns its id. */
  show(panorama: RGBDPanorama, label: string, mapping?: DepthMapping): number;
  say(kind: 'error' | 'notice', text: string): void;
  /** The depth mapping in effect (what an export of the scene on screen records). */
  depthMapping(): DepthMapping;
}

/** Where a saved scene's sharpened regions go when it is opened (the sharpen store). */
export interface DetailSink {
  /** Panorama `panoramaId` was just shown; `detail` is its restored detail layer. */
  show(panoramaId: number, detail: RestoredDetail): void;
}

export interface SceneServices {
  readonly viewer: SceneViewer;
  readonly current: CurrentSceneStore;
  /** Opens the scene database (memoised by the caller); rejects with StorageUnavailableError. */
  readonly store: () => Promise<SavedSceneStore>;
  /** Without it, opened scenes show without their sharpened regions. */
  readonly detail?: DetailSink;
}

/** A generation result: the worker's result message has this shape (rgba + depth + depth16). */
export interface GeneratedImages {
  readonly width: number;
  readonly height: number;
  readonly rgba?: Uint8ClampedArray;
  /** H·W·3 RGB, if the producer has no RGBA. */
  readonly rgb?: Uint8Array;
  readonly depth: Float32Array;
  readonly depth16?: Uint16Array;
}

/**
 * What made the scene. Field names follow the worker protocol's GenerationMetadata (flat
 * `steps`/`guidance`/`scheduler`/`seed`), so its object can be passed as it is.
 */
export interface GenerationInfo {
  readonly prompt: string;
  /** What the text encoder read (GenerationMetadata.sentPrompt); recorded when it differs from `prompt`. */
  readonly sentPrompt?: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: string;
  readonly seed: number;
  /** The generation preset and DeepCache interval (GenerationMetadata has both); absent: not recorded. */
  readonly preset?: string;
  readonly deepCacheInterval?: number;
  /** Seamless 360° as run (GenerationMetadata.wrap); absent: not recorded. */
  readonly wrap?: boolean;
  readonly modelId: string;
  readonly testWeights: boolean;
  /** ISO date-time; now when absent. */
  readonly createdAt?: string;
}

export interface ShowOutcome {
  readonly panoramaId: number;
  /** Id in the scene store, or null when saving failed. */
  readonly savedId: string | null;
  readonly error: SceneStoreError | null;
}

/**
 * A scene database opener for SceneServices.store: opens on the first call and memoises it; a
 * failed open is retried on the next call (private mode may end, a blocked upgrade may clear).
 */
export function sceneStoreOpener(factory?: IDBFactory): () => Promise<SavedSceneStore> {
  let opening: Promise<SavedSceneStore> | null = null;
  return () =>
    (opening ??= SavedSceneStore.open(factory ?? globalThis.indexedDB).catch((e: unknown) => {
      opening = null;
      throw e;
    }));
}

export function sceneMetadataOf(
  images: { width: number; height: number; readonly rgba?: Uint8ClampedArray; readonly rgb?: Uint8Array; readonly depth?: Float32Array },
  info: GenerationInfo,
  mapping: DepthMapping,
): SceneMetadata {
  // Issue 12's seam metric of what was generated (1 = the 360° seam is like any other column),
  // recorded with every generated scene as the CLI records it; one pass over the pixels.
  const { rgba, rgb, depth } = images;
  const colour = rgba !== undefined ? { data: rgba, channels: 4 } : rgb !== undefined ? { data: rgb, channels: 3 } : null;
  const n = images.width * images.height;
  // Only pixels that fit the size: wrong sizes are refused later with the file encoder's message.
  const fits = colour !== null && depth !== undefined && images.width >= 3 && colour.data.length === n * colour.channels && depth.length === n;
  const seam =
    fits && colour !== null && depth !== undefined
      ? { rgb: seamRatio(colour.data, images.width, images.height, colour.channels, 3), depth: seamRatio(depth, images.width, images.height) }
      : undefined;
  return {
    prompt: info.prompt,
    ...(info.sentPrompt !== undefined && info.sentPrompt !== info.prompt ? { sentPrompt: info.sentPrompt } : {}),
    negativePrompt: info.negativePrompt,
    settings: {
      steps: info.steps,
      guidance: info.guidance,
      scheduler: info.scheduler,
      seed: info.seed,
      ...(info.preset !== undefined ? { preset: info.preset } : {}),
      ...(info.deepCacheInterval !== undefined ? { deepCacheInterval: info.deepCacheInterval } : {}),
      ...(info.wrap !== undefined ? { wrap: info.wrap } : {}),
    },
    modelId: info.modelId,
    testWeights: info.testWeights,
    createdAt: info.createdAt ?? new Date().toISOString(),
    width: images.width,
    height: images.height,
    depthMapping: { near: mapping.near, far: mapping.far },
    ...(seam !== undefined ? { seam } : {}),
  };
}

/**
 * Encodes the result's files, commits them to the scene store and only then shows the panorama.
 * Storage failures are reported to the user and in the outcome, never thrown: the scene is shown
 * regardless and remains exportable. Bad input (sizes that do not match) throws before anything
 * is saved or shown.
 */
export async function saveThenShow(
  result: GeneratedImages,
  info: GenerationInfo,
  s: SceneServices,
): Promise<ShowOutcome> {
  const rgb = result.rgba ?? result.rgb;
  if (!rgb) throw new RangeError('saveThenShow: the result has neither rgba nor rgb pixels.');
  const images = { width: result.width, height: result.height, rgb, depth: result.depth, depth16: result.depth16 };
  // A new scene opens at the documented near/far, not at whatever the previous scene (the test
  // room's 1.02 m / 5.9 m) was left at (issue 14 item 4); the user's slider changes apply from there.
  const metadata = sceneMetadataOf(result, info, DEFAULT_DEPTH_MAPPING);
  const files = encodeSceneFiles(images, metadata);
  return persistThenShow(toPanorama(images), metadata, files, s, metadata.depthMapping);
}

/**
 * Metadata for pixels that came without any: say so in the fields rather than inventing a prompt
 * or seed (no seed at all: 0 would read as a real one, issue 14).
 */
export function importedMetadata(
  label: string,
  size: { readonly width: number; readonly height: number },
  mapping: DepthMapping,
  createdAt?: string,
): SceneMetadata {
  return {
    prompt: label,
    negativePrompt: '',
    settings: { steps: 0, guidance: 0, scheduler: 'unknown' },
    modelId: IMPORTED_MODEL_ID,
    testWeights: false,
    createdAt: createdAt ?? new Date().toISOString(),
    width: size.width,
    height: size.height,
    depthMapping: { near: mapping.near, far: mapping.far },
  };
}

/**
 * Saves a panorama imported from plain images (the panel's "RGB + depth…" / "Over-under…" and
 * drops: issue 14) as a new gallery entry, then shows it, so it is exportable and kept like a
 * scene imported with "Import scene…". Encodes its files first: nothing came as our PNGs. The
 * pixels say nothing about metres, so it opens at the documented defaults (issue 14 item 4), like
 * a generated scene, rather than inheriting the previous scene's near/far.
 */
export async function showImportedPanorama(panorama: RGBDPanorama, label: string, s: SceneServices): Promise<ShowOutcome> {
  const metadata = importedMetadata(label, panorama, DEFAULT_DEPTH_MAPPING);
  const files = encodeSceneFiles({ width: panorama.width, height: panorama.height, rgb: panorama.rgba, depth: panorama.depth }, metadata);
  return persistThenShow(panorama, metadata, files, s, metadata.depthMapping);
}

/**
 * Shows a scene that is exportable but not stored (the synthetic test room: showing it at every
 * start must not fill the gallery). `files` is called on the first export only, so the start does
 * not pay for encoding PNGs nobody may download; its result is kept.
 */
export function showUnsavedScene(
  panorama: RGBDPanorama,
  metadata: SceneMetadata,
  mapping: DepthMapping | undefined,
  files: () => SceneFiles,
  s: SceneServices,
): number {
  const panoramaId = s.viewer.show(panorama, metadata.prompt, mapping);
  let encoded: SceneFiles | null = null;
  const current: CurrentScene = {
    panoramaId,
    panorama,
    metadata,
    get files(): SceneFiles {
      encoded ??= files();
      return encoded;
    },
    savedId: null,
    storageError: null,
  };
  s.current.getState().set(current);
  return panoramaId;
}

/** Saves an imported scene (as a new gallery entry) and shows it. */
export async function showImportedScene(
  imported: ImportedScene,
  fallback: { label: string; createdAt?: string },
  s: SceneServices,
): Promise<ShowOutcome> {
  const { panorama } = imported;
  // Its own near/far when its metadata has them; without metadata the documented defaults.
  const metadata: SceneMetadata =
    imported.metadata ?? importedMetadata(fallback.label, panorama, DEFAULT_DEPTH_MAPPING, fallback.createdAt);
  // Keep the imported PNGs as they are (lossless, maybe ours byte for byte); only the thumbnail is new.
  const thumbnail = encodeThumbnailPng(panorama.width, panorama.height, panorama.rgba, THUMBNAIL_WIDTH);
  const files: SceneFiles = {
    rgbPng: imported.rgbPng,
    depthPng: imported.depthPng,
    thumbnail: { mimeType: 'image/png', ...thumbnail },
  };
  return persistThenShow(panorama, metadata, files, s, metadata.depthMapping);
}

/**
 * Reads a saved scene and shows it, with its sharpened regions. Throws a SceneStoreError (or an
 * image error) if the scene itself cannot be read; damaged patches are only reported (the scene
 * shows without them).
 */
export async function showSavedScene(id: string, s: SceneServices): Promise<number> {
  const store = await s.store();
  const saved = await store.get(id);
  if (!saved) throw new StorageWriteError(`That scene is no longer in storage (deleted in another tab?).`);
  const rgb = decodeRgbPng(saved.rgbPng, 'the saved RGB image');
  const depth = decodeDepthPng(saved.depthPng, 'the saved depth image');
  const panorama: RGBDPanorama = { width: rgb.width, height: rgb.height, rgba: rgb.rgba, depth: uint16ToDepth(depth.depth16) };
  const { rgbPng, depthPng, thumbnail, detailLayers, id: _id, detailLayerCount: _n, byteSize: _b, ...metadata } = saved;
  // Rebuilt before the show, so the scene appears with its detail at once.
  const restored = detailLayers.length > 0 && s.detail ? restoreDetailLayer(detailLayers) : null;
  const panoramaId = s.viewer.show(panorama, saved.prompt, saved.depthMapping);
  s.current.getState().set({ panoramaId, panorama, metadata, files: { rgbPng, depthPng, thumbnail }, savedId: id, storageError: null });
  if (restored?.detail) s.detail!.show(panoramaId, restored.detail);
  if (restored && restored.problems.length > 0) {
    const n = restored.problems.length;
    const rest = restored.detail ? 'the others are shown' : 'the scene is shown without them';
    s.viewer.say('error', `${n} of ${detailLayers.length} sharpened regions of this scene could not be restored (${restored.problems.join('; ')}); ${rest}.`);
  }
  return panoramaId;
}

/** What became of a sharpened patch handed to saveDetailPatch. */
export type DetailSaveOutcome = 'saved' | 'scene-not-saved';

/**
 * Adds a finished patch to the stored record of the scene shown as `panoramaId`, resolving once
 * it is committed. A scene that is not in storage (the test room, a failed save) resolves with
 * 'scene-not-saved': its patches live in memory only. Rejects with a SceneStoreError whose message
 * is for the user (the patch is then shown anyway).
 */
export async function saveDetailPatch(panoramaId: number, patch: SizedPatch, s: SceneServices): Promise<DetailSaveOutcome> {
  const current = s.current.getState().scene;
  if (!current || current.panoramaId !== panoramaId || current.savedId === null) return 'scene-not-saved';
  let record;
  try {
    record = encodeDetailPatch(patch);
  } catch (e) {
    throw new StorageWriteError(detailWriteFailedMessage((e as Error).message ?? String(e)), { cause: e });
  }
  const store = await s.store();
  await store.addDetailLayers(current.savedId, [record]);
  return 'saved';
}

/** Removes the stored patches of the scene shown as `panoramaId` ("undo sharpening"). */
export async function clearSavedDetail(panoramaId: number, s: SceneServices): Promise<DetailSaveOutcome> {
  const current = s.current.getState().scene;
  if (!current || current.panoramaId !== panoramaId || current.savedId === null) return 'scene-not-saved';
  const store = await s.store();
  await store.clearDetailLayers(current.savedId);
  return 'saved';
}

async function persistThenShow(
  panorama: RGBDPanorama,
  metadata: SceneMetadata,
  files: SceneFiles,
  s: SceneServices,
  mapping?: DepthMapping,
): Promise<ShowOutcome> {
  let savedId: string | null = null;
  let error: SceneStoreError | null = null;
  try {
    const store = await s.store();
    savedId = (await store.save({ ...metadata, ...files })).id;
  } catch (e) {
    // Whatever went wrong with saving, the scene is shown: losing a generated scene is worse.
    error = e instanceof SceneStoreError ? e : new StorageWriteError(writeFailedMessage((e as Error).message ?? String(e)), { cause: e });
  }
  const panoramaId = s.viewer.show(panorama, metadata.prompt, mapping);
  const current: CurrentScene = { panoramaId, panorama, metadata, files, savedId, storageError: error };
  s.current.getState().set(current);
  if (error) s.viewer.say('error', error.message);
  return { panoramaId, savedId, error };
}

/**
 * `saveThenShow` in the shape of src/state/generation.ts's `publish` hook, so the generation flow
 * saves every result before showing it: `createGenerationStore({ ..., publish: saveThenShowPublisher(services) })`.
 * The panorama the flow built is not used: saveThenShow builds its own from the same (reused) pixels.
 */
export function saveThenShowPublisher(
  s: SceneServices,
): (panorama: RGBDPanorama, result: GeneratedImages & { readonly metadata: GenerationInfo }, label: string) => Promise<number> {
  return async (_panorama, result) => (await saveThenShow(result, result.metadata, s)).panoramaId;
}

/** Why the scene on screen is no longer saved after its stored copy was deleted. */
export function deletedSceneMessage(remote: boolean): string {
  return `This scene was deleted from the gallery${remote ? ' in another tab' : ''}, so it is no longer saved in this browser. It stays on screen and can still be exported.`;
}

/**
 * Keeps the scene on screen when its stored copy is deleted, here or in another tab (the store
 * re-emits other tabs' deletions): it stays shown and exportable, but is marked as no longer saved,
 * so the gallery does not claim "Saved" and sharpening does not write patches to a record that is
 * gone (saveDetailPatch then answers 'scene-not-saved' instead of failing). Returns a stop function.
 * A store that cannot be opened (private mode) has nothing to delete, so that failure is ignored.
 */
export function watchDeletedScenes(s: SceneServices): () => void {
  let stopped = false;
  let unsubscribe: (() => void) | null = null;
  s.store().then(
    (store) => {
      if (stopped) return;
      unsubscribe = store.subscribe((change) => {
        if (change.kind !== 'deleted') return;
        const current = s.current.getState().scene;
        if (!current || current.savedId !== change.id) return;
        const message = deletedSceneMessage(change.remote);
        s.current.getState().set({ ...current, savedId: null, storageError: new StorageWriteError(message) });
        s.viewer.say('notice', message);
      });
    },
    () => undefined,
  );
  return () => {
    stopped = true;
    unsubscribe?.();
  };
}
