/**
 * The metadata of one scene as a versioned JSON document: what made it (prompt, settings, seed,
 * model) and how to read its depth. The same shape is written next to exported files
 * (`*.metadata.json`), inside the RGB PNG (a tEXt chunk) and inside the GLB (`asset.extras`), and
 * is the index entry of the scene store, so a scene can travel out of the app and back in.
 *
 * Parsing is strict about types and ranges because imported files come from anywhere: a bad file
 * gets a message that names the field, never a half-filled scene.
 */
import type { DepthMapping } from '../panorama/types';
import type { SeamMetrics } from '../panorama/seam';
import { MAX_DEEPCACHE_INTERVAL, MIN_DEEPCACHE_INTERVAL } from '../pipeline/presets';
import { version as packageVersion } from '../../package.json';

/** Bump when a field changes meaning or becomes required; readers accept every version ≤ this. */
export const METADATA_SCHEMA_VERSION = 1;
export const METADATA_FORMAT = 'ldm3d-xr.scene';
export const APP_VERSION: string = packageVersion;

/** How the 16-bit depth PNG encodes depth; written out so other tools can read the file. */
export const DEPTH16_ENCODING =
  'uint16 = floor(d * 65535), d = relative inverse depth in [0, 1], 65535 = nearest (as LDM3D writes it)';

export interface GenerationSettings {
  /** Denoising steps; 0 = unknown (a scene imported from pixels alone). */
  readonly steps: number;
  readonly guidance: number;
  /** 'ddim' | 'pndm' | 'euler' | 'dpm' today; kept open so a newer scheduler still imports. */
  readonly scheduler: string;
  /**
   * Integer seed the initial noise was drawn from (0 ≤ seed < 2^53). Absent when unknown (a scene
   * imported from pixels alone): 0 is a real seed, so it cannot stand for "none" (issue 14).
   */
  readonly seed?: number;
  /**
   * The generation preset (src/pipeline/presets.ts: 'headset' | 'reference' | 'custom' today; kept
   * open like `scheduler`). Absent in scenes made before presets existed.
   */
  readonly preset?: string;
  /** DeepCache interval the run used (1 = off, 1…10). Absent in scenes made before it existed: off. */
  readonly deepCacheInterval?: number;
  /**
   * Seamless 360° (issue 12): true = the convolutions padded the width circularly, false = zero
   * padding, exactly diffusers. Absent in scenes made before it existed: false.
   */
  readonly wrap?: boolean;
}

/** Everything about a scene except its pixels. */
export interface SceneMetadata {
  /** The user's words. */
  readonly prompt: string;
  /**
   * The prompt the text encoder read, when it differs from `prompt`: the user's words inside the
   * model's template ("360 view of {prompt}", issue 14 item 10). Absent: `prompt` was sent as is
   * (or the scene was made before templates existed, when it always was).
   */
  readonly sentPrompt?: string;
  readonly negativePrompt: string;
  readonly settings: GenerationSettings;
  /** Hub id or folder of the weights, e.g. "Intel/ldm3d-pano". */
  readonly modelId: string;
  /** True when made by random-weight test models: the app must say so. */
  readonly testWeights: boolean;
  /** ISO 8601 date-time of generation. */
  readonly createdAt: string;
  readonly width: number;
  readonly height: number;
  readonly depthMapping: DepthMapping;
  /**
   * The seam metric of the generated pixels (src/panorama/seam.ts: 1.0 = the 360° seam is no
   * different from any other column step). Absent for imported scenes and scenes made before it
   * existed.
   */
  readonly seam?: SeamMetrics;
}

/** The JSON document on disk. */
export interface SceneMetadataDocument extends SceneMetadata {
  readonly format: typeof METADATA_FORMAT;
  readonly schemaVersion: number;
  readonly appVersion: string;
  readonly depthEncoding: string;
}

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

export function toMetadataDocument(meta: SceneMetadata): SceneMetadataDocument {
  // Listed field by field so that extra properties of the caller's object (pixels, ids) never leak
  // into a file.
  return {
    format: METADATA_FORMAT,
    schemaVersion: METADATA_SCHEMA_VERSION,
    appVersion: APP_VERSION,
    createdAt: meta.createdAt,
    prompt: meta.prompt,
    ...(meta.sentPrompt !== undefined ? { sentPrompt: meta.sentPrompt } : {}),
    negativePrompt: meta.negativePrompt,
    settings: {
      steps: meta.settings.steps,
      guidance: meta.settings.guidance,
      scheduler: meta.settings.scheduler,
      ...(meta.settings.seed !== undefined ? { seed: meta.settings.seed } : {}),
      ...(meta.settings.preset !== undefined ? { preset: meta.settings.preset } : {}),
      ...(meta.settings.deepCacheInterval !== undefined ? { deepCacheInterval: meta.settings.deepCacheInterval } : {}),
      ...(meta.settings.wrap !== undefined ? { wrap: meta.settings.wrap } : {}),
    },
    modelId: meta.modelId,
    testWeights: meta.testWeights,
    width: meta.width,
    height: meta.height,
    depthMapping: { near: meta.depthMapping.near, far: meta.depthMapping.far },
    ...(meta.seam !== undefined ? { seam: { rgb: meta.seam.rgb, depth: meta.seam.depth } } : {}),
    depthEncoding: DEPTH16_ENCODING,
  };
}

export function stringifyMetadata(meta: SceneMetadata): string {
  return JSON.stringify(toMetadataDocument(meta), null, 2) + '\n';
}

/** Parses and validates a metadata document (text or already-parsed JSON). Throws MetadataError. */
export function parseMetadata(input: string | unknown): SceneMetadata {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new MetadataError(`The metadata file is not valid JSON (${(e as Error).message}).`);
    }
  }
  const o = record(doc, 'the metadata');
  if (o.format !== METADATA_FORMAT) {
    throw new MetadataError(
      `This JSON is not LDM3D-XR scene metadata (its "format" is ${JSON.stringify(o.format)}, expected "${METADATA_FORMAT}").`,
    );
  }
  const schemaVersion = integer(o, 'schemaVersion', 1);
  if (schemaVersion > METADATA_SCHEMA_VERSION) {
    throw new MetadataError(
      `This metadata uses schema version ${schemaVersion}, written by a newer LDM3D-XR (${String(o.appVersion)}); this app reads up to version ${METADATA_SCHEMA_VERSION}.`,
    );
  }
  const settings = record(o.settings, '"settings"');
  const mapping = record(o.depthMapping, '"depthMapping"');
  const createdAt = string(o, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) {
    throw new MetadataError(`"createdAt" is not a date: ${JSON.stringify(createdAt)}.`);
  }
  const near = positive(mapping, 'near', 'depthMapping.near');
  const far = positive(mapping, 'far', 'depthMapping.far');
  if (!(far > near)) {
    throw new MetadataError(`"depthMapping.far" (${far}) must be greater than "depthMapping.near" (${near}).`);
  }
  return {
    prompt: string(o, 'prompt'),
    // Optional like the preset: absent stays absent.
    ...(o.sentPrompt !== undefined ? { sentPrompt: string(o, 'sentPrompt') } : {}),
    negativePrompt: string(o, 'negativePrompt'),
    settings: {
      steps: integer(settings, 'steps', 0, 'settings.steps'),
      guidance: finite(settings, 'guidance', 'settings.guidance'),
      scheduler: string(settings, 'scheduler', 'settings.scheduler'),
      // Optional since issue 14 (absent = unknown); files that have it parse as before.
      ...(settings.seed !== undefined ? { seed: seedOf(settings) } : {}),
      // Optional (schema version 1 without them is still version 1): absent stays absent.
      ...(settings.preset !== undefined ? { preset: string(settings, 'preset', 'settings.preset') } : {}),
      ...(settings.deepCacheInterval !== undefined ? { deepCacheInterval: deepCacheInterval(settings) } : {}),
      ...(settings.wrap !== undefined ? { wrap: boolean(settings, 'wrap', 'settings.wrap') } : {}),
    },
    modelId: string(o, 'modelId'),
    testWeights: boolean(o, 'testWeights'),
    createdAt,
    width: integer(o, 'width', 1),
    height: integer(o, 'height', 1),
    depthMapping: { near, far },
    // Optional like the preset: absent stays absent.
    ...(o.seam !== undefined ? { seam: seamMetrics(o.seam) } : {}),
  };
}

/** modelId of scenes imported from pixels without metadata (src/storage/save-then-show.ts). */
export const IMPORTED_MODEL_ID = 'imported';

/**
 * The seed that made the scene, or undefined when none is known: absent, or the placeholder 0 that
 * imports without metadata stored before the seed became optional (model "imported", 0 steps).
 */
export function knownSeed(meta: Pick<SceneMetadata, 'settings' | 'modelId'>): number | undefined {
  const { seed, steps } = meta.settings;
  if (seed === undefined) return undefined;
  if (meta.modelId === IMPORTED_MODEL_ID && steps === 0 && seed === 0) return undefined;
  return seed;
}

function seamMetrics(v: unknown): SeamMetrics {
  const seam = record(v, '"seam"');
  const ratio = (key: 'rgb' | 'depth'): number => {
    const x = finite(seam, key, `seam.${key}`);
    if (x < 0) throw new MetadataError(`"seam.${key}" must be ≥ 0 (got ${x}).`);
    return x;
  };
  return { rgb: ratio('rgb'), depth: ratio('depth') };
}

/** Checks a metadata object made in the app (not parsed), e.g. before saving. */
export function validateMetadata(meta: SceneMetadata): SceneMetadata {
  return parseMetadata(toMetadataDocument(meta));
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new MetadataError(`${capitalise(what)} must be a JSON object.`);
  }
  return v as Record<string, unknown>;
}

function string(o: Record<string, unknown>, key: string, label = key): string {
  const v = o[key];
  if (typeof v !== 'string') throw new MetadataError(`"${label}" must be a string (got ${describe(v)}).`);
  return v;
}

function boolean(o: Record<string, unknown>, key: string, label = key): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new MetadataError(`"${label}" must be true or false (got ${describe(v)}).`);
  return v;
}

function finite(o: Record<string, unknown>, key: string, label = key): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new MetadataError(`"${label}" must be a finite number (got ${describe(v)}).`);
  }
  return v;
}

function positive(o: Record<string, unknown>, key: string, label = key): number {
  const v = finite(o, key, label);
  if (!(v > 0)) throw new MetadataError(`"${label}" must be greater than 0 (got ${v}).`);
  return v;
}

function integer(o: Record<string, unknown>, key: string, min: number, label = key): number {
  const v = finite(o, key, label);
  if (!Number.isSafeInteger(v) || v < min) {
    throw new MetadataError(`"${label}" must be an integer ≥ ${min} (got ${v}).`);
  }
  return v;
}

/**
 * The seed, written as a JSON number. A decimal string is read too: the command line's
 * metadata.json wrote it so before issue 14 item 14 (the generator takes 64-bit seeds); it is kept
 * only where it is exact as a number (≤ 2^53 − 1, all a seed can be here), else refused by name.
 */
function seedOf(settings: Record<string, unknown>): number {
  const v = settings.seed;
  if (typeof v === 'string' && /^\d+$/.test(v)) {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) {
      throw new MetadataError(`"settings.seed" (${v}) is above 2^53 − 1, the largest seed a scene can record exactly.`);
    }
    return n;
  }
  return integer(settings, 'seed', 0, 'settings.seed');
}

function deepCacheInterval(settings: Record<string, unknown>): number {
  const v = integer(settings, 'deepCacheInterval', MIN_DEEPCACHE_INTERVAL, 'settings.deepCacheInterval');
  if (v > MAX_DEEPCACHE_INTERVAL) {
    throw new MetadataError(`"settings.deepCacheInterval" must be from ${MIN_DEEPCACHE_INTERVAL} to ${MAX_DEEPCACHE_INTERVAL} (got ${v}).`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
