/**
 * manifest.json, written by models/export.py next to the ONNX graphs of one exported pipeline.
 * The app and the CLI read only this file to learn what to download, how big it is, how to check
 * it (sha256) and how to drive the graphs. Field names are snake_case because Python writes them.
 */
import { PipelineError } from './errors';
export type OnnxDType = 'float32' | 'float16' | 'int64' | 'int32';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: OnnxDType;
  /** Symbolic dimensions are strings ("batch"); a rank-0 scalar has shape []. */
  readonly shape: ReadonlyArray<number | string>;
}

export interface ManifestFile {
  /** Path relative to the manifest's folder, with forward slashes. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly kind: 'onnx' | 'onnx-data' | 'tokenizer' | 'config';
}

export interface SessionSpec {
  /** The .onnx graph. */
  readonly file: string;
  /** External-data files the graph references, by the exact location string written in the graph. */
  readonly external_data: readonly string[];
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export const SESSION_NAMES = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder', 'unet_shallow'] as const;
export type SessionName = (typeof SESSION_NAMES)[number];

/**
 * DeepCache graphs (models/export.py --deepcache; src/pipeline/deepcache.ts): `sessions.unet` then
 * has a second output `feature` (the deep features a full step keeps), and `shallow_session` runs
 * only the outer branch on them: inputs sample, timestep, encoder_hidden_states, `feature`; output
 * out_sample.
 */
export interface DeepCacheSpec {
  /** The reference implementation the graphs were cut to match (the authors' DeepCacheSDHelper). */
  readonly reference: string;
  /** The authors' cache_branch_id: which skip branch is the shallow path (0: the outermost). */
  readonly cache_branch_id: number;
  /** Name of the deep-features output of `unet` and input of the shallow graph ("deep_features"). */
  readonly feature: string;
  /** The session that runs a shallow step ("unet_shallow"). */
  readonly shallow_session: SessionName;
  /** FLOPs of one shallow call ÷ one full call, as measured at export. */
  readonly shallow_flops_share: number;
}

/**
 * Horizontal wrap padding (issue 12; models/export.py --wrap, models/wrap_conv.py): every listed
 * graph takes one more input, `input` (float32 [1]). 1 = each convolution pads left/right with the
 * opposite edge's columns (the panorama is a cylinder), 0 = zero padding, exactly diffusers. One
 * graph serves both, so "exactly diffusers" stays available without a second export.
 */
export interface WrapSpec {
  /** Name of the extra input ("circular_pad"). */
  readonly input: string;
  /** The sessions whose graphs take it (e.g. unet, unet_shallow, vae_decoder, vae_encoder). */
  readonly sessions: readonly SessionName[];
}

export interface Manifest {
  readonly format: 'ldm3d-xr-manifest@1';
  readonly pipeline: 'ldm3d-pano' | 'ldm3d-sr';
  /** The Hub id or folder the weights came from, e.g. "Intel/ldm3d-pano". */
  readonly model_id: string;
  readonly license: string;
  /** True for the random-weight test models: the app must say so instead of pretending. */
  readonly test_weights: boolean;
  /** Storage dtype of the weights. */
  readonly dtype: 'float32' | 'float16';
  /** Default output size in pixels. */
  readonly image: { readonly height: number; readonly width: number };
  /** Pixels per latent cell: 2 ** (len(vae.block_out_channels) - 1). */
  readonly vae_scale_factor: number;
  /**
   * vae.config.sample_size: diffusers' default VAE tile (tile_sample_min_size; 256 for
   * Intel/ldm3d-pano). Absent in manifests written before the tiled decode.
   */
  readonly vae_sample_size?: number;
  /** vae.config.scaling_factor (0.18215 for SD-1.x VAEs). */
  readonly vae_scaling_factor: number;
  readonly latent_channels: number;
  readonly unet_in_channels: number;
  /** Output channels of the VAE decoder: 4 (RGB + depth) for ldm3d-pano and ldm3d-sr. */
  readonly vae_out_channels: number;
  readonly text: {
    readonly max_length: number;
    readonly hidden_size: number;
    readonly bos_token_id: number;
    readonly eos_token_id: number;
    readonly pad_token_id: number;
  };
  readonly defaults: {
    readonly num_inference_steps: number;
    readonly guidance_scale: number;
    readonly scheduler: 'ddim' | 'pndm' | 'euler' | 'dpm';
    /** LDM3D-SR only. */
    readonly noise_level?: number;
  };
  /** scheduler/scheduler_config.json of the checkpoint, verbatim. */
  readonly scheduler: Readonly<Record<string, unknown>>;
  readonly files: readonly ManifestFile[];
  readonly sessions: Readonly<Partial<Record<SessionName, SessionSpec>>>;
  /** Tokenizer files (tokenizer.json, tokenizer_config.json, ...) as @huggingface/transformers loads them. */
  readonly tokenizer: { readonly files: readonly string[] };
  /**
   * How models/export.py wrote the attention layers (--attention); absent in older manifests, which
   * are 'sliced'. 'mha': fused com.microsoft.MultiHeadAttention nodes, which the runtime self-tests
   * on the GPU at load (OrtRuntime verifyAttention) because some adapters compute them wrongly.
   */
  readonly attention?: 'sliced' | 'default' | 'mha';
  /**
   * How the large weights are stored (models/narrow_weights.py); absent = 'float32'.
   * 'float16-widened': float16 bit patterns that the graph itself widens exactly to float32 on the
   * GPU right before each use, so the weights take half the download and half the GPU memory and
   * the model computes in float32 with weights rounded to float16.
   * 'int8-per-channel': int8 weights with a float32 scale per output channel, dequantised on the GPU
   * right before each use: a quarter of the float32 memory; the weights differ more from the
   * original ones than float16's (the reference is diffusers with the same rounded weights).
   */
  readonly weight_storage?: 'float32' | 'float16-widened' | 'int8-per-channel';
  /** Present when the export has the DeepCache graphs (GenerateOptions.deepCacheInterval > 1 needs them). */
  readonly deepcache?: DeepCacheSpec;
  /** Present when graphs were exported with wrap padding (GenerateOptions.wrap needs them). */
  readonly wrap?: WrapSpec;
  /**
   * How the model expects prompts to be phrased, with `{prompt}` standing for the user's words
   * ("360 view of {prompt}" for Intel/ldm3d-pano: its model card's usage). Absent: the words are
   * sent as they are (the tiny test models). Checked by checkPromptTemplate (prompt-template.ts).
   */
  readonly prompt_template?: string;
}

/** Where an exported pipeline's files come from: a folder on disk (CLI, tests) or the browser's model store. */
export interface ModelSource {
  readonly manifest: Manifest;
  /** Bytes of one file listed in the manifest (path relative to the manifest). */
  read(path: string): Promise<Uint8Array>;
}

/**
 * Checks the manifest's `wrap` field (WrapSpec); throws a 'model-file' error naming what is wrong.
 * A manifest comes from a download or a user's folder, so the shape is checked, not trusted: a
 * graph that is fed a wrong input name fails deep inside ORT with a message nobody can act on.
 */
export function checkWrap(m: Manifest): void {
  const bad = (what: string): never => {
    throw new PipelineError('model-file', `manifest.json: ${what} (re-export with models/export.py --wrap)`, { file: 'manifest.json' });
  };
  const w = (m as { wrap?: unknown }).wrap;
  if (w === undefined) {
    // A graph that declares an input nobody feeds would fail at its first run; say so at load.
    for (const [name, spec] of Object.entries(m.sessions)) {
      if (spec?.inputs.some((i) => i.name === 'circular_pad')) bad(`the ${name} graph takes "circular_pad" but there is no "wrap" entry to drive it`);
    }
    return;
  }
  if (typeof w !== 'object' || w === null || Array.isArray(w)) bad(`"wrap" must be an object { input, sessions }, got ${JSON.stringify(w)}`);
  const { input, sessions } = w as { input?: unknown; sessions?: unknown };
  if (typeof input !== 'string' || input === '') bad(`"wrap.input" must name the graphs' wrap input (e.g. "circular_pad"), got ${JSON.stringify(input)}`);
  if (!Array.isArray(sessions) || sessions.length === 0) bad(`"wrap.sessions" must be a non-empty list of session names, got ${JSON.stringify(sessions)}`);
  const seen = new Set<string>();
  for (const s of sessions as unknown[]) {
    if (typeof s !== 'string' || !(SESSION_NAMES as readonly string[]).includes(s)) {
      bad(`"wrap.sessions" lists ${JSON.stringify(s)}, which is not a session name (${SESSION_NAMES.join(', ')})`);
    }
    if (seen.has(s as string)) bad(`"wrap.sessions" lists "${String(s)}" twice`);
    seen.add(s as string);
    const spec = m.sessions[s as SessionName];
    if (!spec) bad(`"wrap.sessions" lists "${String(s)}", but the manifest has no such session`);
    const declared = spec!.inputs.find((i) => i.name === input);
    // Older writers may leave the input out of `inputs`; the stage checks the graph itself at load.
    if (declared && declared.dtype !== 'float32') bad(`the ${String(s)} graph's "${String(input)}" input is ${declared.dtype}, expected float32 [1]`);
  }
  for (const [name, spec] of Object.entries(m.sessions)) {
    if (!seen.has(name) && spec?.inputs.some((i) => i.name === input)) bad(`the ${name} graph takes "${String(input)}" but "wrap.sessions" does not list it`);
  }
}

/** The wrap input a session's graph takes, or null when it is not wrapped (call checkWrap first). */
export function wrapInputOf(m: Manifest, session: SessionName): string | null {
  return m.wrap && m.wrap.sessions.includes(session) ? m.wrap.input : null;
}
