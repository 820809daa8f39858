/**
 * manifest.json, written by models/export.py next to the ONNX graphs of one exported pipeline.
 * The app and the CLI read only this file to learn what to download, how big it is, how to check
 * it (sha256) and how to drive the graphs. Field names are snake_case because Python writes them.
 */
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

export type SessionName = 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder' | 'unet_shallow';

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
}

/** Where an exported pipeline's files come from: a folder on disk (CLI, tests) or the browser's model store. */
export interface ModelSource {
  readonly manifest: Manifest;
  /** Bytes of one file listed in the manifest (path relative to the manifest). */
  read(path: string): Promise<Uint8Array>;
}
