/**
 * LDM3D-pano, text → 360° RGB + depth, on onnxruntime-web: diffusers' StableDiffusionLDM3DPipeline
 * step for step (tokenizer, CLIP text encoder, classifier-free guidance in diffusers' batch order,
 * DDIM / PNDM / Euler / DPM-Solver++ 2M, VAE decoder, post-processing).
 *
 *   const pipe = await Ldm3dPipeline.load(source, { backend: 'auto' });   // source: ModelSource
 *   if (pipe.notices.length) show(pipe.notices);                          // e.g. WASM fallback
 *   const out = await pipe.generate({
 *     prompt: 'a beach at sunset', negativePrompt: 'blurry', steps: 50, guidance: 7,
 *     scheduler: 'ddim', seed: 42, signal: controller.signal,
 *     onProgress: (p) => console.log(`${p.step}/${p.total}, ${p.etaMs} ms left`, p.preview),
 *   });
 *   const panorama = toPanorama(out);      // RGBDPanorama for the viewer
 *   await pipe.dispose();
 *
 * On WebGPU the latents stay on the GPU for the whole loop (docs/pipeline.md); on WASM everything is
 * Float32Arrays. Either way the same plan (src/pipeline/schedulers) drives the steps.
 *
 * Memory (LoadOptions.memory, docs/performance.md): 'resident' keeps the three sessions loaded;
 * 'staged' creates each one when its stage starts and releases it when the stage ends, re-reading
 * its bytes from the ModelSource (the model store: no download). `warmUp()` after loading runs
 * every stage once at the real shapes so the first generation compiles no shaders.
 * LoadOptions.vaeTiling decodes the image tile by tile (diffusers' tiled_decode), which bounds the
 * VAE decode's memory, the peak of a staged generation. LoadOptions.guidanceBatch 'split' (the
 * staged default) runs guidance as two batch-1 UNet calls per step, halving the UNet's activations.
 */
import type { RGBDPanorama } from '../../panorama/types';
import type { NarrowStorage } from '../../runtime/weight-decode-check';
import { cpuTensor, OrtRuntime, type Backend, type BackendRequest, type BufferCacheMode, type RtTensor, type SubgroupPolicy } from '../../runtime/ort';
import { modelNeeds, type LimitsPolicy } from '../../runtime/limits';
import { PipelineError, reasonOf } from '../../model/errors';
import type { Manifest, ModelSource } from '../../model/manifest';
import { checkManifest, readModelFile, TOKENIZER_FILES } from '../model-files';
import { deepCacheSchedule, DeepFeatureCache, resolveDeepCacheInterval } from '../deepcache';
import { CpuExecutor, type LatentExecutor, type LatentShape } from '../latents';
import { GpuExecutor, GpuKernels } from '../latents-gpu';
import { postprocess, type Ldm3dImage } from '../postprocess';
import { randomNormals } from '../prng';
import { createScheduler, SCHEDULER_NAMES, type SchedulerName } from '../schedulers/index.ts';
import { TextEncoderStage } from '../stages/text-encoder';
import { UNetStage, type UNetShape } from '../stages/unet';
import { VaeDecoderStage } from '../stages/vae-decoder';
import { needsTiling, resolveTiling, type VaeTiling } from '../vae-tiling';
import { ClipTokenizer, type Tokens } from '../tokenizer';
import { applyPromptTemplate } from '../prompt-template';
import { guidanceError, stepsError } from '../setting-ranges';
import {
  chooseMemoryPolicy,
  lowMemoryAdvice,
  memoryEnvironment,
  resolveGuidanceBatch,
  resolveVaeTiling,
  type GuidanceBatch,
  type MemoryPolicy,
  type VaeTilingOption,
} from './memory-policy';

export type { GuidanceBatch, MemoryPolicy, VaeTilingOption } from './memory-policy';

export interface LoadProgress {
  /** What was just loaded. */
  readonly stage: 'tokenizer' | 'text_encoder' | 'unet' | 'vae_decoder' | 'kernels';
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
}


export interface LoadOptions {
  /** 'auto' (default): WebGPU, else WASM with a notice. */
  readonly backend?: BackendRequest;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LoadProgress) => void;
  /** Default 'auto': see chooseMemoryPolicy. */
  readonly memory?: MemoryPolicy | 'auto';
  /**
   * Give the UNet session its input shape (batch, latent size) as freeDimensionOverrides (default
   * true). The session is then specialised: a generation with another batch (guidance ≤ 1 vs > 1
   * when batched; split guidance is batch 1 either way) or size re-creates it (resident) instead of
   * keeping one UNet per shape, which would double the largest weights in memory.
   */
  readonly staticShapes?: boolean;
  /**
   * Tiled VAE decode (vae-tiling.ts), exactly diffusers' AutoencoderKL.tiled_decode: the decoder's
   * memory is that of one tile instead of the whole image (at 512×1024 the untiled decode sets the
   * staged pipeline's peak, issue #4). Tiled output differs from the untiled decode by design (each
   * tile is decoded without its surroundings and the seams are cross-faded, in diffusers too); it
   * matches diffusers with `pipe.vae.enable_tiling()` and the same tile sizes.
   * 'auto' (default): on when the memory policy resolves to 'staged' (mobile, low memory), off
   * otherwise, so a desktop's output stays diffusers' default (untiled) output.
   * { latentTile }: tile_latent_min_size in latent cells (a multiple of 4; tile_sample_min_size =
   * latentTile × vae_scale_factor); the default tile is diffusers' for the model (defaultVaeTiling).
   */
  readonly vaeTiling?: VaeTilingOption;
  /** ORT's WebGPU buffer cache (ort.ts BufferCacheMode); default 'simple'. */
  readonly bufferCache?: BufferCacheMode;
  /**
   * How classifier-free guidance runs the UNet (issue #4): 'batched', one batch-2 call per step
   * ([uncond, cond], diffusers' order); 'split', two batch-1 calls per step (uncond, then cond) on
   * the same input, combined exactly as the batch-2 output would be. Split halves the UNet's
   * activations (~1 GiB at 512×1024) for a slower step; the session is then batch 1 whatever the
   * guidance. 'auto' (default): split when the memory policy resolves to 'staged', else batched.
   */
  readonly guidanceBatch?: GuidanceBatch | 'auto';
  /** WebGPU device limits (src/runtime/limits.ts): 'needed' (default), 'default' (WebGPU's, as a headset's browser gives), 'adapter'. */
  readonly limits?: LimitsPolicy;
  /** The 'subgroups' feature: 'auto' (default), 'on', 'off' (what a browser without it gives). */
  readonly subgroups?: SubgroupPolicy;
  /**
   * Staged policy only: keep the UNet session (the one with the largest weights and the most
   * kernels) loaded between generations instead of re-creating it for every one, while the text
   * encoder and the VAE decoder are still created and released per stage. Saves the UNet's session
   * creation (~2–3 s of a warm generation on an H100, issue #11) and, because ORT's per-device
   * context then survives, the other stages' shader compilation too; costs the UNet's weights and
   * ORT's cached UNet buffers staying on the GPU during the text-encoder and VAE stages.
   * Default false (the peak it adds is measured by bench/run-device-headset.sh before it may be a
   * default). Ignored by the resident policy, which keeps everything anyway.
   */
  readonly keepUNet?: boolean;
}



/** The manifest's narrowed weight storage, which the runtime self-tests on the GPU at load (undefined: float32). */
function narrowStorage(m: Manifest): NarrowStorage | undefined {
  const s = m.weight_storage;
  return s === 'float16-widened' || s === 'int8-per-channel' ? s : undefined;
}

/** What the model line adds for narrowed weights (models/narrow_weights.py). */
const WEIGHT_STORAGE_NOTES: Readonly<Record<NonNullable<Manifest['weight_storage']>, string>> = {
  float32: '',
  'float16-widened': '; float16 weights widened on the GPU',
  'int8-per-channel': '; int8 weights (per channel) dequantised on the GPU',
};



export interface WarmUpResult {
  /** Milliseconds per stage (creation included in 'staged'), and total. */
  readonly timings: Readonly<Record<string, number>>;
  /**
   * The shapes used: what the next default generation will run. `batch` is the UNet's batch per
   * call (2 with guidance batched, 1 with guidance split or off); the text encoder runs at 2 with
   * guidance either way.
   */
  readonly batch: number;
  readonly height: number;
  readonly width: number;
}

export interface TokenInfo {
  /** Tokens of the text before truncation, BOS and EOS included. */
  readonly count: number;
  /** The text encoder's length (77). */
  readonly max: number;
  readonly truncated: boolean;
}

export interface StepProgress {
  /** UNet calls done (1-based); PNDM makes steps + 1 calls, so `total` can exceed the step count. */
  readonly step: number;
  readonly total: number;
  readonly timestep: number;
  readonly elapsedMs: number;
  /** Time left to the result (remaining steps at the mean step time, plus the decode); null before a step is timed. */
  readonly etaMs: number | null;
  /** x̂0 of this step at 1/8 resolution (see preview.ts), or null when previews are off. */
  readonly preview: RGBDPanorama | null;
}

export interface GenerateOptions {
  /** Required; '' is allowed (diffusers' unconditional prompt). */
  readonly prompt: string;
  readonly negativePrompt?: string | null;
  /** Inference steps; default manifest.defaults.num_inference_steps. */
  readonly steps?: number;
  /** Classifier-free guidance scale (active when > 1); default manifest.defaults.guidance_scale. */
  readonly guidance?: number;
  readonly scheduler?: SchedulerName;
  /** Seed of the documented Philox generator (prng.ts); random when neither seed nor latents are given. */
  readonly seed?: number | bigint;
  /** Initial latents [1, C, H/8, W/8], unscaled (multiplied by init_noise_sigma like diffusers). Overrides `seed`. */
  readonly latents?: Float32Array;
  /** Output size in pixels, multiples of manifest.vae_scale_factor; default manifest.image. */
  readonly height?: number;
  readonly width?: number;
  readonly signal?: AbortSignal;
  /**
   * Awaited after every step: a worker returns a promise that settles on a new task, so a cancel
   * message can be handled between steps (on WASM, a run may never yield to the event loop).
   * Typed `unknown` rather than `void | Promise<void>` so that `(p) => list.push(p)` stays valid.
   */
  readonly onProgress?: (p: StepProgress) => unknown;
  /** Compute the per-step preview (default true). */
  readonly preview?: boolean;
  /** Test hook: the latents after every step (a GPU read-back per step on WebGPU). */
  readonly onStepLatents?: (step: number, x: Float32Array) => void;
  /**
   * DeepCache (deepcache.ts): a full UNet step every N steps, shallow ones in between on the cached
   * deep features; a whole number from 1 to 10, default 1 = off (exactly diffusers). N > 1 needs an
   * export with the DeepCache graphs (supportsDeepCache; models/export.py --deepcache).
   */
  readonly deepCacheInterval?: number;
  /**
   * Seamless 360° (issue 12): every convolution of the UNet and the VAE decoder pads left/right
   * with the opposite edge's columns, so the panorama's last and first columns are generated as
   * neighbours (no seam behind the viewer). Default: true where the export has the wrapped graphs
   * (supportsWrap; models/export.py --wrap), else false. false = zero padding, exactly diffusers.
   * true on an export without them is a 'bad-option' error.
   */
  readonly wrap?: boolean;
  /**
   * Send the prompt inside the manifest's prompt_template ("360 view of {prompt}" for the real
   * LDM3D-pano; prompt-template.ts), default true; false = the words exactly as given. No effect
   * where the manifest has no template (the tiny test models). The negative prompt is never wrapped.
   */
  readonly promptTemplate?: boolean;
}

export interface GenerateSettings {
  /** The user's words (GenerateOptions.prompt). */
  readonly prompt: string;
  /** What the text encoder read: `prompt` inside the template when one was applied, else `prompt`. */
  readonly sentPrompt: string;
  /** The manifest's template as applied, or null (off, or the model has none). */
  readonly promptTemplate: string | null;
  readonly negativePrompt: string | null;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: SchedulerName;
  /** Decimal string (a seed may exceed 2^53); null when latents were injected. */
  readonly seed: string | null;
  readonly latents: 'seed' | 'injected';
  readonly height: number;
  readonly width: number;
  readonly timesteps: readonly number[];
  /** GenerateOptions.deepCacheInterval as run: 1 when DeepCache is off. */
  readonly deepCacheInterval: number;
  /** GenerateOptions.wrap as run: true = circular padding along the width, false = diffusers' zeros. */
  readonly wrap: boolean;
}

export interface GenerateResult extends Ldm3dImage {
  readonly settings: GenerateSettings;
  readonly tokens: { readonly prompt: TokenInfo; readonly negative: TokenInfo };
  readonly backend: Backend;
  /**
   * Milliseconds: tokenize, textEncoder, denoise, stepMean, vaeDecode, postprocess, total; and
   * textEncoderCreate / unetCreate / vaeDecoderCreate when a session was created for this run
   * (always when staged; resident only when the UNet shape changed). Creation is included in
   * textEncoder, denoise and vaeDecode, not in stepMean. Also counts, not milliseconds: unetFull
   * and unetShallow, the UNet session runs of each kind (split guidance: two per step; shallow
   * ones only with DeepCache on).
   */
  readonly timings: Readonly<Record<string, number>>;
}

const now = (): number => performance.now();

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new PipelineError('cancelled', `${what} was cancelled`);
}

function tokenInfo(t: Tokens, max: number): TokenInfo {
  return { count: t.length, max, truncated: t.truncated };
}

/**
 * One stage's session, created on demand. `arg` is what the session is specialised for (the UNet's
 * shape); asking for another releases the old session first, so two never coexist.
 */
class StageSlot<S extends { dispose(): Promise<void> }, A = null> {
  private stage: S | null = null;
  private key = '';

  constructor(
    readonly name: 'text_encoder' | 'unet' | 'vae_decoder',
    private readonly make: (arg: A) => Promise<S>,
  ) {}

  get loaded(): boolean {
    return this.stage !== null;
  }

  /** The session for `arg`, and how long creating it took (0 when it was already there). */
  async get(arg: A): Promise<{ stage: S; createdMs: number }> {
    const key = JSON.stringify(arg);
    if (this.stage && this.key === key) return { stage: this.stage, createdMs: 0 };
    await this.release();
    const t = now();
    const stage = await this.make(arg);
    this.stage = stage;
    this.key = key;
    return { stage, createdMs: now() - t };
  }

  async release(): Promise<void> {
    const s = this.stage;
    this.stage = null;
    if (s) await s.dispose();
  }
}

export class Ldm3dPipeline {
  private busy = false;
  private disposed = false;
  private lastDecodeMs: number | null = null;

  private constructor(
    readonly manifest: Manifest,
    private readonly runtime: OrtRuntime,
    private readonly tokenizer: ClipTokenizer,
    private readonly textEncoder: StageSlot<TextEncoderStage>,
    private readonly unet: StageSlot<UNetStage, UNetShape | null>,
    private readonly vae: StageSlot<VaeDecoderStage>,
    private readonly kernels: GpuKernels | null,
    /** How sessions are kept between stages and generations (LoadOptions.memory, resolved). */
    readonly memory: MemoryPolicy,
    /** The VAE decode's tiling (LoadOptions.vaeTiling, resolved), or null: untiled. */
    readonly vaeTiling: VaeTiling | null,
    private readonly staticShapes: boolean,
    /** How guidance runs the UNet (LoadOptions.guidanceBatch, resolved). */
    readonly guidanceBatch: GuidanceBatch,
    /** Milliseconds per load stage. */
    readonly loadTimings: Readonly<Record<string, number>>,
    /** lowMemoryAdvice for this device and export, or null. */
    private readonly advice: string | null = null,
    /** Staged: the UNet session stays loaded between generations (LoadOptions.keepUNet, resolved). */
    readonly keepUNet: boolean = false,
  ) {}

  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Ldm3dPipeline> {
    const manifest = source.manifest;
    checkManifest(manifest);
    const t0 = now();
    const timings: Record<string, number> = {};
    const total = 5;
    let done = 0;
    const step = (stage: LoadProgress['stage'], started: number): void => {
      timings[stage] = now() - started;
      options.onProgress?.({ stage, done: ++done, total, elapsedMs: now() - t0 });
      checkAbort(options.signal, 'loading the model');
    };
    checkAbort(options.signal, 'loading the model');
    // A bad tile is reported before anything is loaded ('auto' cannot be bad).
    resolveVaeTiling(manifest, options.vaeTiling, 'resident');
    resolveGuidanceBatch(options.guidanceBatch, 'resident');
    const runtime = await OrtRuntime.create({ backend: options.backend ?? 'auto', verifyAttention: manifest.attention === 'mha', bufferCache: options.bufferCache, verifyWeights: narrowStorage(manifest), limits: options.limits, subgroups: options.subgroups, needs: () => modelNeeds(source) });
    try {
      const requested = options.memory ?? 'auto';
      const env = memoryEnvironment(runtime, manifest);
      const memory = requested === 'auto' ? chooseMemoryPolicy(env) : requested;
      const advice = lowMemoryAdvice(env, manifest);
      const staticShapes = options.staticShapes ?? true;
      const vaeTiling = resolveVaeTiling(manifest, options.vaeTiling, memory);
      const guidanceBatch = resolveGuidanceBatch(options.guidanceBatch, memory);
      const keepUNet = memory === 'staged' && (options.keepUNet ?? false);
      let t = now();
      const [tokJson, tokConfig] = await Promise.all(TOKENIZER_FILES.map((f) => readModelFile(source, f)));
      const tokenizer = ClipTokenizer.fromFiles(tokJson, tokConfig, manifest.text.max_length);
      step('tokenizer', t);
      const textEncoder = new StageSlot('text_encoder', () => TextEncoderStage.load(runtime, source));
      const unet = new StageSlot('unet', (shape: UNetShape | null) => UNetStage.load(runtime, source, { shape: shape ?? undefined }));
      const vae = new StageSlot('vae_decoder', () => VaeDecoderStage.load(runtime, source));
      // Every graph is created once here even when staged, so a file ORT cannot load (or a GPU
      // that runs out of memory creating it) is reported by the load, not by the first generation.
      // Staged releases each one at once: ORT frees a device's buffers, its cache included, when
      // the last session on it is released (measured: bench/lib/gpu-buffers.ts).
      t = now();
      await textEncoder.get(null);
      if (memory === 'staged') await textEncoder.release();
      step('text_encoder', t);
      t = now();
      await unet.get(staticShapes ? defaultUNetShape(manifest, guidanceBatch) : null);
      if (memory === 'staged' && !keepUNet) await unet.release();
      step('unet', t);
      t = now();
      await vae.get(null);
      if (memory === 'staged') await vae.release();
      step('vae_decoder', t);
      t = now();
      const kernels = runtime.device ? await createKernels(runtime.device) : null;
      step('kernels', t);
      return new Ldm3dPipeline(manifest, runtime, tokenizer, textEncoder, unet, vae, kernels, memory, vaeTiling, staticShapes, guidanceBatch, timings, advice, keepUNet);
    } catch (e) {
      await runtime.dispose();
      throw e;
    }
  }

  /** Sessions loaded right now (all three when resident; none between stages when staged). */
  get loadedSessions(): string[] {
    return [this.textEncoder, this.unet, this.vae].filter((s) => s.loaded).map((s) => s.name);
  }

  /**
   * Gets a stage's session, runs `use`, and in 'staged' mode releases the session afterwards (also
   * on failure or cancel). timings.textEncoderCreate / unetCreate / vaeDecoderCreate: the time
   * spent creating the session, when one was created.
   */
  private async withStage<S extends { dispose(): Promise<void> }, A, T>(
    slot: StageSlot<S, A>,
    arg: A,
    timings: Record<string, number>,
    use: (stage: S) => Promise<T>,
  ): Promise<T> {
    try {
      const { stage, createdMs } = await slot.get(arg);
      if (createdMs > 0) timings[CREATE_TIMING[slot.name]] = createdMs;
      return await use(stage);
    } finally {
      if (this.memory === 'staged' && !(this.keepUNet && slot.name === 'unet')) {
        // A release that fails (lost device) must not hide the error of the run itself.
        await slot.release().catch(() => undefined);
      }
    }
  }

  /** The UNet shape of a generation, or null when sessions are not specialised. */
  private unetShape(cfg: boolean, shape: LatentShape): UNetShape | null {
    return this.staticShapes ? { batch: unetBatch(cfg, this.guidanceBatch), latentHeight: shape.height, latentWidth: shape.width } : null;
  }

  /**
   * Runs every stage once at the shapes of a default generation (manifest defaults: UNet batch 2
   * when guidance > 1 is batched, 1 when it is split, the default image size) with zero inputs, so
   * the first real generation pays no first-run cost (shader compilation, pipeline creation, buffer
   * allocation). Meant for right after loading, while the user types; `signal` cancels it between
   * stages (a single UNet call cannot be interrupted). Rejects with 'cancelled' or 'busy' (a
   * generation is running).
   *
   * 'resident': the sessions stay loaded and warm. 'staged': each session is created, run once and
   * released, as in a generation, so peak memory stays that of one stage. What survives then is
   * outside ORT: the browser's and the driver's shader caches (Chrome keeps compiled WebGPU
   * pipelines on disk; NVIDIA keeps a driver cache), since ORT's own compiled programs belong to
   * its per-device context, which goes with the last session. The benchmark measures how much of
   * the first-run cost that removes (bench/pano-webgpu.ts --memory-compare).
   *
   * WASM: nothing to compile, and a full-size UNet call takes minutes there, which a Generate would
   * have to wait for, so it returns at once (timings empty).
   */
  async warmUp(signal?: AbortSignal): Promise<WarmUpResult> {
    if (this.disposed) throw new PipelineError('disposed', 'the pipeline was disposed; load it again');
    if (this.busy) throw new PipelineError('busy', 'a generation is already running on this pipeline');
    const m = this.manifest;
    const f = m.vae_scale_factor;
    const cfg = m.defaults.guidance_scale > 1;
    // The text encoder encodes [negative, prompt] in one call either way; only the UNet splits.
    const textBatch = cfg ? 2 : 1;
    const batch = unetBatch(cfg, this.guidanceBatch);
    const result = { batch, height: m.image.height, width: m.image.width };
    if (this.runtime.backend === 'wasm') return { ...result, timings: {} };
    this.busy = true;
    const timings: Record<string, number> = {};
    const t0 = now();
    try {
      const shape: LatentShape = { channels: m.latent_channels, height: m.image.height / f, width: m.image.width / f };
      const max = this.tokenizer.maxLength;
      checkAbort(signal, 'the warm-up');
      this.runtime.check('warm-up');
      let t = now();
      await this.withStage(this.textEncoder, null, timings, (te) => te.encode(Array.from({ length: textBatch }, () => new BigInt64Array(max)), max));
      timings.text_encoder = now() - t;
      checkAbort(signal, 'the warm-up');
      t = now();
      const n = shape.channels * shape.height * shape.width;
      // Also the DeepCache shallow session when the export has one (a full call feeds it).
      await this.withStage(this.unet, this.unetShape(cfg, shape), timings, (unet) =>
        unet.warmUp(
          cpuTensor('float32', new Float32Array(batch * n), [batch, shape.channels, shape.height, shape.width]),
          cpuTensor('float32', new Float32Array(batch * max * m.text.hidden_size), [batch, max, m.text.hidden_size]),
          // What a default generation runs with (the value is an input, not a shape: either compiles the same kernels).
          this.supportsWrap,
        ),
      );
      timings.unet = now() - t;
      checkAbort(signal, 'the warm-up');
      t = now();
      // Tiled, at the tiles' shapes: an untiled warm-up decode would reach the peak tiling avoids.
      await this.withStage(this.vae, null, timings, (vae) =>
        vae.decode(cpuTensor('float32', new Float32Array(n), [1, shape.channels, shape.height, shape.width]), { tiling: this.vaeTiling, wrap: this.supportsWrap }),
      );
      timings.vae_decoder = now() - t;
      timings.total = now() - t0;
      return { ...result, timings };
    } catch (e) {
      if (!(e instanceof PipelineError) && (await this.runtime.lostWithin(100))) {
        throw new PipelineError('device-lost', `the GPU device was lost during the warm-up (${reasonOf(e)}). Load the model again to continue.`, { cause: e });
      }
      throw e;
    } finally {
      this.busy = false;
    }
  }

  get backend(): Backend {
    return this.runtime.backend;
  }

  /**
   * One line for the "loaded" text: where it runs (adapter, subgroups, the fused-attention check)
   * and how memory is handled, so a user on a small device sees why a panorama takes longer.
   */
  get runtimeSummary(): string {
    const memory = this.memory === 'resident' ? 'all stages kept loaded' : this.keepUNet ? 'one stage at a time, UNet kept loaded' : 'one stage at a time';
    const tiles = this.vaeTiling ? `, image decoded in ${this.vaeTiling.sampleTile} px tiles` : '';
    const split = this.guidanceBatch === 'split' ? '; guidance as two UNet calls' : '';
    const weights = WEIGHT_STORAGE_NOTES[this.manifest.weight_storage ?? 'float32'];
    return `${this.runtime.summary}; ${memory}${tiles}${split}${weights}`;
  }

  /** What the user must be told about this load (e.g. the WASM fallback and why). */
  get notices(): readonly string[] {
    return [this.runtime.notice, this.advice].filter((n): n is string => n !== null);
  }

  get testWeights(): boolean {
    return this.manifest.test_weights;
  }

  /** Whether the export has the DeepCache graphs (GenerateOptions.deepCacheInterval > 1). */
  get supportsDeepCache(): boolean {
    return this.manifest.deepcache !== undefined;
  }

  /**
   * Whether the export has wrapped graphs (GenerateOptions.wrap; manifest "wrap"). checkManifest
   * has made sure then that every stage of a generation is wrapped, DeepCache's shallow UNet too.
   */
  get supportsWrap(): boolean {
    return this.manifest.wrap !== undefined;
  }

  /** Token count of a text and whether it will be truncated (for a notice while typing). */
  tokenize(text: string): TokenInfo {
    return tokenInfo(this.tokenizer.encode(text), this.tokenizer.maxLength);
  }

  /** The manifest's prompt_template ("360 view of {prompt}"), or null: prompts are sent as they are. */
  get promptTemplate(): string | null {
    return this.manifest.prompt_template ?? null;
  }

  /** The text a generation with these options sends to the text encoder (GenerateSettings.sentPrompt). */
  promptToSend(prompt: string, useTemplate = true): string {
    return applyPromptTemplate(useTemplate ? this.promptTemplate : null, prompt);
  }

  async generate(options: GenerateOptions): Promise<GenerateResult> {
    if (this.disposed) throw new PipelineError('disposed', 'the pipeline was disposed; load it again');
    if (this.busy) throw new PipelineError('busy', 'a generation is already running on this pipeline');
    this.busy = true;
    try {
      return await this.run(options);
    } catch (e) {
      // Our own GPU work (buffer maps, dispatches) fails with plain errors when the device goes.
      if (!(e instanceof PipelineError) && (await this.runtime.lostWithin(100))) {
        throw new PipelineError('device-lost', `the GPU device was lost during the generation (${reasonOf(e)}). Load the model again to continue.`, { cause: e });
      }
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private resolveSettings(o: GenerateOptions): { settings: GenerateSettings; shape: LatentShape; initial: Float32Array } {
    const m = this.manifest;
    if (o.prompt === undefined || o.prompt === null) {
      throw new PipelineError('empty-prompt', "a prompt is required (pass '' explicitly for an unconditional panorama)");
    }
    if (typeof o.prompt !== 'string') throw new PipelineError('bad-option', 'prompt must be text');
    const negative = o.negativePrompt ?? null;
    if (negative !== null && typeof negative !== 'string') throw new PipelineError('bad-option', 'negative prompt must be text');
    const steps = o.steps ?? m.defaults.num_inference_steps;
    const badSteps = stepsError(steps);
    if (badSteps) throw new PipelineError('bad-option', badSteps);
    const guidance = o.guidance ?? m.defaults.guidance_scale;
    const badGuidance = guidanceError(guidance);
    if (badGuidance) throw new PipelineError('bad-option', badGuidance);
    const scheduler = o.scheduler ?? m.defaults.scheduler;
    if (!SCHEDULER_NAMES.includes(scheduler)) throw new PipelineError('bad-option', `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got ${String(scheduler)}`);
    const f = m.vae_scale_factor;
    const height = o.height ?? m.image.height;
    const width = o.width ?? m.image.width;
    for (const [name, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % f !== 0) throw new PipelineError('bad-option', `${name} must be a positive multiple of ${f}, got ${v}`);
    }
    const deepCacheInterval = resolveDeepCacheInterval(o.deepCacheInterval, this.supportsDeepCache);
    const useTemplate = o.promptTemplate ?? true;
    if (typeof useTemplate !== 'boolean') throw new PipelineError('bad-option', `promptTemplate must be true or false, got ${String(useTemplate)}`);
    const promptTemplate = useTemplate ? (m.prompt_template ?? null) : null;
    const wrap = o.wrap ?? this.supportsWrap;
    if (typeof wrap !== 'boolean') throw new PipelineError('bad-option', `wrap must be true or false, got ${String(wrap)}`);
    if (wrap && !this.supportsWrap) {
      throw new PipelineError(
        'bad-option',
        'wrap (seamless 360°) needs graphs exported with wrap padding, which this export lacks; re-export the model with models/export.py --wrap, or set wrap to false',
      );
    }
    const shape: LatentShape = { channels: m.latent_channels, height: height / f, width: width / f };
    const n = shape.channels * shape.height * shape.width;
    let initial: Float32Array;
    let seed: string | null = null;
    if (o.latents) {
      if (o.latents.length !== n) {
        throw new PipelineError('bad-option', `latents have ${o.latents.length} values; a ${height}×${width} image needs [1, ${shape.channels}, ${shape.height}, ${shape.width}] = ${n}`);
      }
      initial = o.latents;
    } else {
      const s = o.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
      try {
        initial = randomNormals(s, n);
      } catch (e) {
        throw new PipelineError('bad-option', reasonOf(e));
      }
      seed = s.toString();
    }
    const settings: GenerateSettings = {
      prompt: o.prompt,
      sentPrompt: applyPromptTemplate(promptTemplate, o.prompt),
      promptTemplate,
      negativePrompt: negative,
      steps,
      guidance,
      scheduler,
      seed,
      latents: o.latents ? 'injected' : 'seed',
      height,
      width,
      timesteps: [],
      deepCacheInterval,
      wrap,
    };
    return { settings, shape, initial };
  }

  private async run(o: GenerateOptions): Promise<GenerateResult> {
    const tStart = now();
    const timings: Record<string, number> = {};
    const { settings, shape, initial } = this.resolveSettings(o);
    const schedule = createScheduler(settings.scheduler, this.manifest.scheduler).plan(settings.steps);
    const cfg = settings.guidance > 1;
    const signal = o.signal;
    checkAbort(signal, 'the generation');
    this.runtime.check('generate');

    let t = now();
    const max = this.tokenizer.maxLength;
    // The sent prompt: the template's words count towards the 77 tokens too.
    const promptTokens = this.tokenizer.encode(settings.sentPrompt);
    // diffusers encodes '' when the negative prompt is None.
    const negativeTokens = this.tokenizer.encode(settings.negativePrompt ?? '');
    timings.tokenize = now() - t;

    t = now();
    const ids = cfg ? [negativeTokens.ids, promptTokens.ids] : [promptTokens.ids];
    // The embeddings come back to the CPU, so (staged) the text encoder is gone before the UNet comes.
    const text = await this.withStage(this.textEncoder, null, timings, (te) => te.encode(ids, max));
    timings.textEncoder = now() - t;

    const guidance = cfg ? settings.guidance : null;
    const split = cfg && this.guidanceBatch === 'split';
    const executor: LatentExecutor = this.kernels
      ? await GpuExecutor.create(this.kernels, shape, schedule, initial, guidance, split)
      : new CpuExecutor(shape, schedule, initial, guidance, split);
    try {
      // One tensor, or (guidance split) the negative's and the prompt's, one UNet call each.
      const hidden = executor.embeddings(text.data, text.dims);
      checkAbort(signal, 'the generation');

      const tLoop = now();
      const total = schedule.steps.length;
      const wantPreview = o.preview ?? true;
      // DeepCache: which steps run the whole UNet; the others run the shallow branch on the deep
      // features of the latest full step (one cached tensor per UNet call of a step).
      const fullSteps = deepCacheSchedule(schedule.steps.map((st) => st.timestep), settings.deepCacheInterval);
      let unetFull = 0;
      let unetShallow = 0;
      await this.withStage(this.unet, this.unetShape(cfg, shape), timings, async (unet) => {
        // Off: nothing cached, the unet's features output is not even fetched. The cached tensors
        // are freed before the stage (staged: the sessions) goes, however the loop ends.
        const cache = settings.deepCacheInterval > 1 ? new DeepFeatureCache(hidden.length) : null;
        try {
          // Session creation (staged, or a new shape) is not a step: the ETA uses step times only.
          const tSteps = now();
          for (let i = 0; i < total; i++) {
            checkAbort(signal, 'the generation');
            const step = schedule.steps[i];
            const sample = executor.unetInput(step);
            // Split guidance: uncond then cond on the same sample; both outputs live until the
            // executor has combined them, and are disposed even when a call fails or is cancelled.
            const outs: RtTensor[] = [];
            let preview: RGBDPanorama | null;
            try {
              for (let k = 0; k < hidden.length; k++) {
                if (k > 0) checkAbort(signal, 'the generation');
                if (!cache) {
                  outs.push(await unet.run(sample, step.timestep, hidden[k], settings.wrap));
                } else if (fullSteps[i]) {
                  const { out, features } = await unet.runFull(sample, step.timestep, hidden[k], settings.wrap);
                  outs.push(out);
                  cache.set(k, features);
                } else {
                  outs.push(await unet.runShallow(sample, step.timestep, hidden[k], cache.get(k), settings.wrap));
                }
                if (fullSteps[i]) unetFull++;
                else unetShallow++;
              }
              preview = await executor.apply(step, outs, wantPreview);
            } finally {
              for (const out of outs) out.dispose();
            }
            this.runtime.check('denoising');
            if (o.onStepLatents) o.onStepLatents(i + 1, await executor.readX());
            const mean = (now() - tSteps) / (i + 1);
            await o.onProgress?.({
              step: i + 1,
              total,
              timestep: step.timestep,
              elapsedMs: now() - tStart,
              etaMs: mean * (total - i - 1) + (this.lastDecodeMs ?? 0),
              preview,
            });
          }
          timings.stepMean = (now() - tSteps) / total;
        } finally {
          cache?.dispose();
        }
      });
      timings.denoise = now() - tLoop;
      timings.unetFull = unetFull;
      timings.unetShallow = unetShallow;

      checkAbort(signal, 'the generation');
      t = now();
      const sf = this.manifest.vae_scaling_factor;
      const tiling = this.vaeTiling;
      const decoded = await this.withStage(this.vae, null, timings, async (vae) =>
        tiling && needsTiling(shape.height, shape.width, tiling)
          ? vae.decode(await executor.vaeInputCpu(sf), { tiling, wrap: settings.wrap })
          : vae.decode(executor.vaeInput(sf), { wrap: settings.wrap }),
      );
      timings.vaeDecode = now() - t;
      this.lastDecodeMs = timings.vaeDecode;
      const [, channels, height, width] = decoded.dims;
      if (channels !== 4 || height !== settings.height || width !== settings.width) {
        throw new PipelineError('runtime', `vae_decoder returned [${decoded.dims.join(', ')}], expected [1, 4, ${settings.height}, ${settings.width}]`);
      }
      t = now();
      const image = postprocess(decoded.data, height, width);
      timings.postprocess = now() - t;
      timings.total = now() - tStart;
      return {
        ...image,
        settings: { ...settings, timesteps: schedule.steps.map((s) => s.timestep) },
        tokens: { prompt: tokenInfo(promptTokens, max), negative: tokenInfo(negativeTokens, max) },
        backend: this.backend,
        timings,
      };
    } finally {
      executor.dispose();
    }
  }

  /** Releases the sessions and the GPU device. A generation in flight fails with 'disposed'. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.kernels?.dispose();
    await this.runtime.dispose();
  }
}

const CREATE_TIMING = { text_encoder: 'textEncoderCreate', unet: 'unetCreate', vae_decoder: 'vaeDecoderCreate' } as const;

/** The UNet's batch per call: 2 only for guidance run as one batched call. */
function unetBatch(cfg: boolean, guidanceBatch: GuidanceBatch): number {
  return cfg && guidanceBatch === 'batched' ? 2 : 1;
}

/** The UNet shape of a generation with the manifest's defaults (what load() and warmUp() prepare). */
function defaultUNetShape(m: Manifest, guidanceBatch: GuidanceBatch): UNetShape {
  return {
    batch: unetBatch(m.defaults.guidance_scale > 1, guidanceBatch),
    latentHeight: m.image.height / m.vae_scale_factor,
    latentWidth: m.image.width / m.vae_scale_factor,
  };
}

async function createKernels(device: GPUDevice): Promise<GpuKernels> {
  device.pushErrorScope('validation');
  const kernels = new GpuKernels(device);
  const error = await device.popErrorScope();
  if (error) {
    kernels.dispose();
    throw new PipelineError('runtime', `the pipeline's WGSL kernels do not compile on this GPU: ${error.message}`);
  }
  return kernels;
}
