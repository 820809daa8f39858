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
 */
import type { RGBDPanorama } from '../panorama/types';
import { OrtRuntime, type Backend, type BackendRequest, type RtTensor } from '../runtime/ort';
import { PipelineError, reasonOf } from './errors';
import type { Manifest, ModelSource } from './manifest';
import { checkManifest, readModelFile, TOKENIZER_FILES } from './model-files';
import { CpuExecutor, type LatentExecutor, type LatentShape } from './latents';
import { GpuExecutor, GpuKernels } from './latents-gpu';
import { postprocess, type Ldm3dImage } from './postprocess';
import { randomNormals } from './prng';
import { createScheduler, SCHEDULER_NAMES, type SchedulerName } from './schedulers';
import { TextEncoderStage } from './stages/text-encoder';
import { UNetStage } from './stages/unet';
import { VaeDecoderStage } from './stages/vae-decoder';
import { ClipTokenizer, type Tokens } from './tokenizer';

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
}

export interface GenerateSettings {
  readonly prompt: string;
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
}

export interface GenerateResult extends Ldm3dImage {
  readonly settings: GenerateSettings;
  readonly tokens: { readonly prompt: TokenInfo; readonly negative: TokenInfo };
  readonly backend: Backend;
  /** Milliseconds: tokenize, textEncoder, denoise, stepMean, vaeDecode, postprocess, total. */
  readonly timings: Readonly<Record<string, number>>;
}

const now = (): number => performance.now();

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new PipelineError('cancelled', `${what} was cancelled`);
}

function tokenInfo(t: Tokens, max: number): TokenInfo {
  return { count: t.length, max, truncated: t.truncated };
}

export class Ldm3dPipeline {
  private busy = false;
  private disposed = false;
  private lastDecodeMs: number | null = null;

  private constructor(
    readonly manifest: Manifest,
    private readonly runtime: OrtRuntime,
    private readonly tokenizer: ClipTokenizer,
    private readonly textEncoder: TextEncoderStage,
    private readonly unet: UNetStage,
    private readonly vae: VaeDecoderStage,
    private readonly kernels: GpuKernels | null,
    /** Milliseconds per load stage. */
    readonly loadTimings: Readonly<Record<string, number>>,
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
    const runtime = await OrtRuntime.create({ backend: options.backend ?? 'auto' });
    const stages: Array<{ dispose(): unknown }> = [];
    try {
      let t = now();
      const [tokJson, tokConfig] = await Promise.all(TOKENIZER_FILES.map((f) => readModelFile(source, f)));
      const tokenizer = ClipTokenizer.fromFiles(tokJson, tokConfig, manifest.text.max_length);
      step('tokenizer', t);
      t = now();
      const textEncoder = await TextEncoderStage.load(runtime, source);
      stages.push(textEncoder);
      step('text_encoder', t);
      t = now();
      const unet = await UNetStage.load(runtime, source);
      stages.push(unet);
      step('unet', t);
      t = now();
      const vae = await VaeDecoderStage.load(runtime, source);
      stages.push(vae);
      step('vae_decoder', t);
      t = now();
      const kernels = runtime.device ? await createKernels(runtime.device) : null;
      step('kernels', t);
      return new Ldm3dPipeline(manifest, runtime, tokenizer, textEncoder, unet, vae, kernels, timings);
    } catch (e) {
      await runtime.dispose();
      throw e;
    }
  }

  get backend(): Backend {
    return this.runtime.backend;
  }

  /** What the user must be told about this load (e.g. the WASM fallback and why). */
  get notices(): readonly string[] {
    return this.runtime.notice ? [this.runtime.notice] : [];
  }

  get testWeights(): boolean {
    return this.manifest.test_weights;
  }

  /** Token count of a text and whether it will be truncated (for a notice while typing). */
  tokenize(text: string): TokenInfo {
    return tokenInfo(this.tokenizer.encode(text), this.tokenizer.maxLength);
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
    if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new PipelineError('bad-option', `steps must be a whole number from 1 to 1000, got ${steps}`);
    const guidance = o.guidance ?? m.defaults.guidance_scale;
    if (!Number.isFinite(guidance) || guidance < 0) throw new PipelineError('bad-option', `guidance must be a number ≥ 0, got ${guidance}`);
    const scheduler = o.scheduler ?? m.defaults.scheduler;
    if (!SCHEDULER_NAMES.includes(scheduler)) throw new PipelineError('bad-option', `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got ${String(scheduler)}`);
    const f = m.vae_scale_factor;
    const height = o.height ?? m.image.height;
    const width = o.width ?? m.image.width;
    for (const [name, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % f !== 0) throw new PipelineError('bad-option', `${name} must be a positive multiple of ${f}, got ${v}`);
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
      negativePrompt: negative,
      steps,
      guidance,
      scheduler,
      seed,
      latents: o.latents ? 'injected' : 'seed',
      height,
      width,
      timesteps: [],
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
    const promptTokens = this.tokenizer.encode(settings.prompt);
    // diffusers encodes '' when the negative prompt is None.
    const negativeTokens = this.tokenizer.encode(settings.negativePrompt ?? '');
    timings.tokenize = now() - t;

    const executor: LatentExecutor = this.kernels
      ? await GpuExecutor.create(this.kernels, shape, schedule, initial, cfg ? settings.guidance : null)
      : new CpuExecutor(shape, schedule, initial, cfg ? settings.guidance : null);
    try {
      t = now();
      const ids = cfg ? [negativeTokens.ids, promptTokens.ids] : [promptTokens.ids];
      const text = await this.textEncoder.encode(ids, max);
      const hidden = executor.embeddings(text.data, text.dims);
      timings.textEncoder = now() - t;

      const tLoop = now();
      const total = schedule.steps.length;
      const wantPreview = o.preview ?? true;
      for (let i = 0; i < total; i++) {
        checkAbort(signal, 'the generation');
        const step = schedule.steps[i];
        const out: RtTensor = await this.unet.run(executor.unetInput(step), step.timestep, hidden);
        let preview: RGBDPanorama | null;
        try {
          preview = await executor.apply(step, out, wantPreview);
        } finally {
          out.dispose();
        }
        this.runtime.check('denoising');
        if (o.onStepLatents) o.onStepLatents(i + 1, await executor.readX());
        const elapsed = now() - tLoop;
        const mean = elapsed / (i + 1);
        await o.onProgress?.({
          step: i + 1,
          total,
          timestep: step.timestep,
          elapsedMs: now() - tStart,
          etaMs: mean * (total - i - 1) + (this.lastDecodeMs ?? 0),
          preview,
        });
      }
      timings.denoise = now() - tLoop;
      timings.stepMean = timings.denoise / total;

      checkAbort(signal, 'the generation');
      t = now();
      const decoded = await this.vae.decode(executor.vaeInput(this.manifest.vae_scaling_factor));
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
