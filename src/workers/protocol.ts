/**
 * The typed message protocol between the main thread (src/workers/client.ts) and the pipeline
 * worker (src/workers/pipeline.worker.ts). Plain data only: everything here survives
 * structuredClone, and the big arrays (result images, previews) travel as transferables so a
 * 512×1024 result crosses threads without a copy.
 *
 * Flow: plan → planned; load → load-progress* → loaded; generate → progress* → result;
 * cancel → cancelled (for that id); dispose → disposed. Any request may instead get an error.
 */
import type { SessionName } from '../model/manifest';
import { deepCacheIntervalError, isPresetChoice, PRESET_CHOICES, type PresetChoice } from '../pipeline/presets';
import type { ModelErrorReason } from '../model/model-store';
import { guidanceError, stepsError } from '../pipeline/setting-ranges';
import { SCHEDULER_NAMES, type SchedulerName } from '../pipeline/schedulers/common';
import type { Backend, BackendRequest as BackendPreference } from '../runtime/ort';

// One vocabulary (issue 15): the runtime's back ends and the schedulers' names, re-exported for the
// worker's clients under the names they use.
export type { Backend, BackendRequest as BackendPreference } from '../runtime/ort';
export type { SchedulerName } from '../pipeline/schedulers/common';
export { SCHEDULER_NAMES as SCHEDULERS } from '../pipeline/schedulers/common';

/** The sessions a text → panorama run needs (the VAE encoder is for LDM3D-SR). */
export const PANO_SESSIONS: readonly SessionName[] = ['text_encoder', 'unet', 'vae_decoder'];

// ---------------------------------------------------------------- main thread → worker

/**
 * Every request but dispose carries an id chosen by the client (one counter for all kinds), so
 * answers are matched to requests and `cancel` can stop a download as well as a generation.
 */
export interface PlanRequest {
  readonly type: 'plan';
  readonly id: number;
  /** Absolute URL of the model folder (a worker resolves relative URLs against its own script). */
  readonly baseUrl: string;
  /**
   * Whose files to size: the panorama pipeline's (default) or the upscaler's, which also needs the
   * VAE encoder; so the size the user confirms is what the load then downloads.
   */
  readonly models?: PlanModels;
}

export type PlanModels = 'pano' | 'sr';

export interface LoadRequest {
  readonly type: 'load';
  readonly id: number;
  readonly baseUrl: string;
  readonly backend: BackendPreference;
}

export interface GenerateParams {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  /** Unsigned 32-bit seed of the pipeline's PRNG. */
  readonly seed: number;
  /**
   * DeepCache: a full UNet step every N steps, only the shallow branch between (1 = off, exactly
   * diffusers; default 1). Whole number 1…10; above 1 the loaded model must have the DeepCache
   * graphs (LoadedMessage.supportsDeepCache).
   */
  readonly deepCacheInterval?: number;
  /**
   * Seamless 360° (issue 12): circular padding along the width in the UNet and the VAE; false = zero
   * padding, exactly diffusers. Default: on where the loaded model has wrapped graphs
   * (LoadedMessage.supportsWrap); true needs them.
   */
  readonly wrap?: boolean;
  /** The preset these settings are (src/pipeline/presets.ts), recorded in the metadata; default 'custom'. */
  readonly preset?: PresetChoice;
  /**
   * Send the prompt inside the model's prompt template (ManifestSummary.promptTemplate, e.g.
   * "360 view of {prompt}"); default true, false = the words as typed. No effect without a template.
   */
  readonly promptTemplate?: boolean;
}

export interface GenerateRequest extends GenerateParams {
  readonly type: 'generate';
  readonly id: number;
}

export interface CancelRequest {
  readonly type: 'cancel';
  readonly id: number;
}

export interface DisposeRequest {
  readonly type: 'dispose';
}

/**
 * "Sharpen what you look at": LDM3D-SR on the region in view. The SR models are loaded on the
 * first sharpen (kept until `unload-sr`); the panorama is a copy whose buffers are transferred.
 * Answered by sharpen-progress* → sharpen-result, or cancelled / error. `cancel` stops it.
 */
export interface SharpenRequest {
  readonly type: 'sharpen';
  readonly id: number;
  /** Absolute URL of the LDM3D-SR model folder. */
  readonly baseUrl: string;
  readonly backend: BackendPreference;
  readonly width: number;
  readonly height: number;
  /** RGBA8 of the shown panorama (a copy: transferred). */
  readonly rgba: Uint8ClampedArray;
  /** Its relative inverse depth (a copy: transferred). */
  readonly depth: Float32Array;
  /** View direction in the panorama's frame (three.js axes, −Z = centre column). */
  readonly gaze: { readonly x: number; readonly y: number; readonly z: number };
  /** The head's right, for the roll when looking straight up or down. */
  readonly rightHint?: { readonly x: number; readonly y: number; readonly z: number };
  readonly steps: number;
  readonly seed: number;
  /** Width of the detail layer (height = width / 2); default 4096. */
  readonly layerWidth?: number;
}

/** Releases the SR sessions (GPU memory); answered by sr-unloaded. */
export interface UnloadSrRequest {
  readonly type: 'unload-sr';
  readonly id: number;
}

export type WorkerRequest = PlanRequest | LoadRequest | GenerateRequest | CancelRequest | DisposeRequest | SharpenRequest | UnloadSrRequest;

// ---------------------------------------------------------------- worker → main thread

export interface PlannedFile {
  readonly path: string;
  readonly bytes: number;
  readonly cachedBytes: number;
}

export interface PlanSummary {
  readonly baseUrl: string;
  readonly modelId: string;
  readonly testWeights: boolean;
  /** The manifest's prompt_template, or null: shown next to the prompt field before anything loads. */
  readonly promptTemplate?: string | null;
  readonly files: readonly PlannedFile[];
  readonly totalBytes: number;
  readonly cachedBytes: number;
  readonly remainingBytes: number;
  /** What this origin may still store (navigator.storage.estimate), or null where unknown. */
  readonly availableBytes: number | null;
}

export interface PlannedMessage {
  readonly type: 'planned';
  readonly id: number;
  readonly plan: PlanSummary;
}

export interface LoadProgressMessage {
  readonly type: 'load-progress';
  readonly id: number;
  /** File being fetched, relative to the manifest. */
  readonly file: string;
  readonly loaded: number;
  readonly total: number;
  readonly overall: { readonly loaded: number; readonly total: number };
  /**
   * 'cached': already stored; 'creating-sessions': download done, sessions being created — then
   * `file` is the stage ('' before the first), and `loaded`/`total` count stages, not bytes.
   */
  readonly phase: 'cached' | 'resuming' | 'downloading' | 'done' | 'creating-sessions';
}

export interface ManifestSummary {
  readonly modelId: string;
  readonly license: string;
  readonly pipeline: string;
  readonly width: number;
  readonly height: number;
  readonly dtype: string;
  /** manifest.prompt_template ("360 view of {prompt}"), or null: prompts are sent as typed. */
  readonly promptTemplate?: string | null;
  readonly defaults: {
    readonly steps: number;
    readonly guidance: number;
    readonly scheduler: SchedulerName;
  };
}

export interface LoadedMessage {
  readonly type: 'loaded';
  readonly id: number;
  readonly summary: ManifestSummary;
  /** The back end the sessions run on, which may differ from the preference. */
  readonly backend: Backend;
  /** Things the user must be told, e.g. "WebGPU unavailable — running on WASM (slower)". */
  readonly notices: readonly string[];
  /** manifest.test_weights: random weights; the app must say so. */
  readonly testWeights: boolean;
  readonly loadMs: number;
  /** Where and how it runs: adapter, subgroups, fused-attention check, memory policy. */
  readonly runtime?: string;
  /** The export has the DeepCache graphs, so GenerateParams.deepCacheInterval may be above 1. */
  readonly supportsDeepCache: boolean;
  /** The export has wrapped graphs (manifest "wrap"), so GenerateParams.wrap may be true; absent = false. */
  readonly supportsWrap?: boolean;
}

export interface Preview {
  readonly width: number;
  readonly height: number;
  /** RGBA8, row-major from the top-left; its buffer is transferred. */
  readonly rgba: Uint8ClampedArray;
}

export interface TokenInfo {
  /** Tokens of the prompt before truncation, BOS/EOS included. */
  readonly count: number;
  /** The text encoder's length (77 for CLIP). */
  readonly max: number;
}

export interface ProgressMessage {
  readonly type: 'progress';
  readonly id: number;
  /** Denoising steps done (0 = text encoded, total = all UNet steps done; decoding follows). */
  readonly step: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** Estimated time to the result; null until a step has been timed. */
  readonly etaMs: number | null;
  readonly preview: Preview | null;
  /** Sent with step 0 once the prompt is tokenized, so an over-long prompt is reported early. */
  readonly tokens?: { readonly prompt: TokenInfo; readonly negative: TokenInfo };
}

export interface GenerationMetadata extends GenerateParams {
  /** As run (1 when the request had none). */
  readonly deepCacheInterval: number;
  /** As run: true = circular padding along the width (seamless 360°), false = diffusers' zero padding. */
  readonly wrap: boolean;
  readonly preset: PresetChoice;
  /** As requested (true when the request had none); it changed the prompt only where the model has a template. */
  readonly promptTemplate: boolean;
  /** The prompt the text encoder read: `prompt` inside the model's template, or `prompt` itself. */
  readonly sentPrompt: string;
  readonly modelId: string;
  readonly testWeights: boolean;
  readonly backend: Backend;
  readonly width: number;
  readonly height: number;
  readonly tokens: { readonly prompt: TokenInfo; readonly negative: TokenInfo };
  /** Wall time of the parts, ms. */
  readonly timings: Readonly<Record<string, number>>;
  readonly createdAt: string;
}

export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  readonly width: number;
  readonly height: number;
  /** RGBA8 (alpha 255), row-major from the top-left: RGBDPanorama.rgba as it is. Transferred. */
  readonly rgba: Uint8ClampedArray;
  /** Relative inverse depth in [0, 1] (1 = nearest). Transferred. */
  readonly depth: Float32Array;
  /** Depth as diffusers writes the 16-bit PNG: trunc(d · 65535). Transferred. */
  readonly depth16: Uint16Array;
  readonly metadata: GenerationMetadata;
}

/** Answers `cancel` for a generation or a load that was stopped before it finished. */
export interface CancelledMessage {
  readonly type: 'cancelled';
  readonly id: number;
}

export type ErrorCode =
  | `model-${ModelErrorReason}`
  | 'no-backend' // neither WebGPU nor WASM could create the sessions
  | 'load-failed'
  | 'not-loaded'
  | 'busy'
  | 'bad-request'
  | 'device-lost'
  | 'out-of-memory'
  | 'model-invalid' // a file passed its sha256 but the runtime cannot use it
  | 'unsupported-model'
  | 'generation-failed'
  | 'worker-crashed';

export interface ErrorMessage {
  readonly type: 'error';
  /** The request the error answers; absent only for a crash of the worker itself. */
  readonly id?: number;
  /** Which request failed. */
  readonly request: WorkerRequest['type'];
  readonly code: ErrorCode;
  /** Shown to the user as is: names the file and the reason for model errors. */
  readonly message: string;
  /** For model-* errors: the file, relative to the manifest. */
  readonly file?: string;
}

export interface DisposedMessage {
  readonly type: 'disposed';
}

/** What the worker has loaded for SR (null: nothing). */
export interface SrModelInfo {
  readonly modelId: string;
  readonly testWeights: boolean;
  readonly backend: Backend;
}

export interface SharpenProgressMessage {
  readonly type: 'sharpen-progress';
  readonly id: number;
  /** 'download' / 'sessions': loading the SR models (first sharpen only); 'step': an SR step done; 'compose': reprojecting. */
  readonly phase: 'download' | 'sessions' | 'step' | 'compose';
  readonly done: number;
  readonly total: number;
  readonly etaMs: number | null;
}

/**
 * The touched part of the detail layer, premultiplied over transparent (rgb = colour·alpha):
 * rows y0..y1, columns x0..x0+count−1 modulo layerWidth (a patch may straddle the 360° seam).
 */
export interface SharpenResultMessage {
  readonly type: 'sharpen-result';
  readonly id: number;
  readonly layerWidth: number;
  readonly layerHeight: number;
  readonly region: { readonly y0: number; readonly y1: number; readonly x0: number; readonly count: number };
  /** count·rows RGBA8, row-major. Transferred. */
  readonly rgba: Uint8ClampedArray;
  /** count·rows relative inverse depth, fitted to the base. Transferred. */
  readonly depth: Float32Array;
  /** |SR depth − base depth| on the crop's border after the fit. */
  readonly border: { readonly mean: number; readonly p95: number; readonly max: number };
  readonly sr: SrModelInfo;
  readonly timings: Readonly<Record<string, number>>;
  /** What the user must be told about loading the upscaler for this sharpen (a damaged stored file downloaded again). */
  readonly notices?: readonly string[];
}

export interface SrUnloadedMessage {
  readonly type: 'sr-unloaded';
  readonly id: number;
}

export type WorkerResponse =
  | SharpenProgressMessage
  | SharpenResultMessage
  | SrUnloadedMessage
  | PlannedMessage
  | LoadProgressMessage
  | LoadedMessage
  | ProgressMessage
  | ResultMessage
  | CancelledMessage
  | ErrorMessage
  | DisposedMessage;

/** Buffers of a message to hand to postMessage's transfer list. */
export function transferablesOf(m: WorkerResponse): Transferable[] {
  switch (m.type) {
    case 'result':
      return uniqueBuffers([m.rgba, m.depth, m.depth16]);
    case 'progress':
      return m.preview ? uniqueBuffers([m.preview.rgba]) : [];
    case 'sharpen-result':
      return uniqueBuffers([m.rgba, m.depth]);
    default:
      return [];
  }
}

function uniqueBuffers(views: ArrayBufferView[]): Transferable[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    // A SharedArrayBuffer cannot be transferred (and need not be).
    if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  }
  return [...out];
}

/** Checks a generate request's numbers; returns what is wrong, or null. */
export function validateGenerate(p: GenerateParams): string | null {
  if (typeof p.prompt !== 'string') return 'prompt must be text';
  if (typeof p.negativePrompt !== 'string') return 'negative prompt must be text';
  const badNumber = stepsError(p.steps) ?? guidanceError(p.guidance);
  if (badNumber) return badNumber;
  if (!SCHEDULER_NAMES.includes(p.scheduler)) return `scheduler must be one of ${SCHEDULER_NAMES.join(', ')} (got ${String(p.scheduler)})`;
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffff_ffff) return `seed must be a whole number from 0 to 4294967295 (got ${p.seed})`;
  if (p.deepCacheInterval !== undefined) {
    const bad = deepCacheIntervalError(p.deepCacheInterval);
    if (bad) return bad;
  }
  if (p.wrap !== undefined && typeof p.wrap !== 'boolean') return `wrap must be true or false (got ${String(p.wrap)})`;
  if (p.promptTemplate !== undefined && typeof p.promptTemplate !== 'boolean') return `promptTemplate must be true or false (got ${String(p.promptTemplate)})`;
  if (p.preset !== undefined && !isPresetChoice(p.preset)) return `preset must be one of ${PRESET_CHOICES.join(', ')} (got ${String(p.preset)})`;
  return null;
}
