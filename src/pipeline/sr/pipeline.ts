/**
 * LDM3D-SR on onnxruntime-web: diffusers' community StableDiffusionUpscaleLDM3DPipeline step for step,
 * sharing the pano pipeline's runtime, tokenizer, stages, schedulers and CPU plan executor.
 *
 *   const sr = await Ldm3dSrPipeline.load(source, { backend: 'auto' });
 *   const out = await sr.upscale({ rgb, depth, height: 512, width: 512, seed: 1, signal });
 *   await sr.dispose();                     // SR is loaded only when asked for: release it after
 *
 * Data flow (LDM3D-SPEC.md "SR data flow"):
 *   x = 2·[rgb, depth] − 1 (planar [1,4,H,W]) → vae_encoder → mean ‖ logvar
 *   low = (mean + exp(½·clamp(logvar, −30, 20))·noise) · scaling_factor   (no noise is ADDED to the
 *   low-res input: noise_level only goes to the UNet as class_labels)
 *   per step: sample = cat([scale_model_input(x) (×2 with CFG), low (×2)], channel axis) → UNet
 *   (class_labels = noise_level, int64 [batch]) → guidance → DDIM (the manifest's scheduler config)
 *   decode(x / scaling_factor) → the pano post-processing.
 * The input size is the output size (diffusers ignores target_res for array input): the caller
 * upsamples its low-res crop first (gnomonic.ts samples the crop directly at the SR size).
 *
 * The latents (4·H/8·W/8 floats, 64 KiB at 512²) live on the CPU on both back ends: the UNet's
 * 8-channel input is assembled on the CPU each step and ORT uploads it. Small next to a UNet call;
 * a GPU-resident loop like the pano pipeline's is possible later.
 */
import { cpuTensor, OrtRuntime, type Backend, type BackendRequest, type RtTensor } from '../../runtime/ort';
import { PipelineError, reasonOf } from '../../model/errors';
import { checkWrap, type Manifest, type ModelSource } from '../../model/manifest';
import { readModelFile, TOKENIZER_FILES } from '../model-files';
import { CpuLatents, lincombCpu } from '../lincomb';
import { postprocess, type Ldm3dImage } from '../postprocess';
import { randomNormals } from '../prng';
import { createScheduler } from '../schedulers/index.ts';
import { TextEncoderStage } from '../stages/text-encoder';
import { UNetStage } from '../stages/unet';
import { VaeDecoderStage } from '../stages/vae-decoder';
import { VaeEncoderStage } from '../stages/vae-encoder';
import { ClipTokenizer } from '../tokenizer';
import { guidanceError, stepsError } from '../setting-ranges';

/** The prompt of Intel/ldm3d-sr's README example. */
export const SR_DEFAULT_PROMPT = 'high quality high resolution uhd 4k image';
/** max_noise_level of Intel/ldm3d-sr's model_index.json (the pipeline refuses more). */
export const SR_MAX_NOISE_LEVEL = 350;

export interface SrLoadProgress {
  readonly stage: 'tokenizer' | 'text_encoder' | 'vae_encoder' | 'unet' | 'vae_decoder';
  readonly done: number;
  readonly total: number;
}

export interface SrLoadOptions {
  readonly backend?: BackendRequest;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SrLoadProgress) => void;
}

export interface SrStepProgress {
  readonly step: number;
  readonly total: number;
  readonly timestep: number;
  readonly elapsedMs: number;
  readonly etaMs: number | null;
}

export interface SrOptions {
  /** H·W·3 sRGB values in [0, 1] (row-major from the top-left). */
  readonly rgb: Float32Array;
  /** H·W relative inverse depth in [0, 1] — the real depth (see LDM3D-SPEC.md on convert("L")). */
  readonly depth: Float32Array;
  readonly height: number;
  readonly width: number;
  /** Default SR_DEFAULT_PROMPT. */
  readonly prompt?: string;
  readonly negativePrompt?: string | null;
  readonly steps?: number;
  readonly guidance?: number;
  /** Integer 0..350, default manifest.defaults.noise_level (20). */
  readonly noiseLevel?: number;
  /** Seeds both draws (initial latents, then the encoder sample noise) with prng.ts's generator. */
  readonly seed?: number | bigint;
  /** Injected initial latents [1, 4, H/8, W/8], unscaled. */
  readonly latents?: Float32Array;
  /** Injected N(0,1) noise of latent_dist.sample(), [1, 4, H/8, W/8]. */
  readonly encoderNoise?: Float32Array;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SrStepProgress) => void | Promise<void>;
  /** Test hook: the latents after every step. */
  readonly onStepLatents?: (step: number, x: Float32Array) => void;
  /** Test hook: the scaled low-res latents the UNet is conditioned on. */
  readonly onLowResLatents?: (x: Float32Array) => void;
}

export interface SrResult extends Ldm3dImage {
  readonly settings: {
    readonly prompt: string;
    readonly negativePrompt: string | null;
    readonly steps: number;
    readonly guidance: number;
    readonly noiseLevel: number;
    readonly seed: string | null;
    readonly timesteps: readonly number[];
  };
  readonly backend: Backend;
  readonly timings: Readonly<Record<string, number>>;
}

const now = (): number => performance.now();

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new PipelineError('cancelled', `${what} was cancelled`);
}

/** manifest.json problems SR cannot work around, named precisely. */
export function checkSrManifest(m: Manifest): void {
  const bad = (what: string): never => {
    throw new PipelineError('model-file', `manifest.json: ${what}`, { file: 'manifest.json' });
  };
  if (m.format !== 'ldm3d-xr-manifest@1') bad(`unknown format ${JSON.stringify(m.format)}`);
  if (m.pipeline !== 'ldm3d-sr') bad(`pipeline is ${JSON.stringify(m.pipeline)}; the upscaler runs "ldm3d-sr"`);
  for (const s of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'] as const) if (!m.sessions[s]) bad(`no "${s}" session`);
  if (m.vae_out_channels !== 4) bad(`vae_out_channels is ${m.vae_out_channels}; LDM3D-SR decodes RGB + depth (4)`);
  if (m.unet_in_channels !== 2 * m.latent_channels) bad(`unet_in_channels ${m.unet_in_channels} ≠ 2 × latent_channels ${m.latent_channels}`);
  for (const f of TOKENIZER_FILES) if (!m.tokenizer.files.includes(f)) bad(`tokenizer.files lacks ${f}`);
  checkWrap(m);
}

/**
 * SR runs on a perspective crop of the panorama (gnomonic.ts), never on its full width, so the
 * crop's left and right edges are not neighbours: a wrapped SR export is always fed wrap off
 * (zero padding, diffusers), and the crop itself is what makes a region across the seam work.
 */
const SR_WRAP = false;

export class Ldm3dSrPipeline {
  private busy = false;
  private disposed = false;

  private constructor(
    readonly manifest: Manifest,
    private readonly runtime: OrtRuntime,
    private readonly tokenizer: ClipTokenizer,
    private readonly textEncoder: TextEncoderStage,
    private readonly encoder: VaeEncoderStage,
    private readonly unet: UNetStage,
    private readonly decoder: VaeDecoderStage,
  ) {}

  static async load(source: ModelSource, options: SrLoadOptions = {}): Promise<Ldm3dSrPipeline> {
    const manifest = source.manifest;
    checkSrManifest(manifest);
    checkAbort(options.signal, 'loading the upscaler');
    const runtime = await OrtRuntime.create({ backend: options.backend ?? 'auto', verifyAttention: manifest.attention === 'mha' });
    let done = 0;
    const loaded = (stage: SrLoadProgress['stage']): void => {
      options.onProgress?.({ stage, done: ++done, total: 5 });
      checkAbort(options.signal, 'loading the upscaler');
    };
    try {
      const [tokJson, tokConfig] = await Promise.all(TOKENIZER_FILES.map((f) => readModelFile(source, f)));
      const tokenizer = ClipTokenizer.fromFiles(tokJson, tokConfig, manifest.text.max_length);
      loaded('tokenizer');
      const textEncoder = await TextEncoderStage.load(runtime, source);
      loaded('text_encoder');
      const encoder = await VaeEncoderStage.load(runtime, source);
      loaded('vae_encoder');
      // CPU outputs: the SR loop keeps its latents on the CPU (see the header).
      const unet = await UNetStage.load(runtime, source, { gpuOutputs: false });
      loaded('unet');
      const decoder = await VaeDecoderStage.load(runtime, source);
      loaded('vae_decoder');
      return new Ldm3dSrPipeline(manifest, runtime, tokenizer, textEncoder, encoder, unet, decoder);
    } catch (e) {
      // the runtime owns every session created so far
      await runtime.dispose();
      throw e;
    }
  }

  get backend(): Backend {
    return this.runtime.backend;
  }

  get notices(): readonly string[] {
    return this.runtime.notice ? [this.runtime.notice] : [];
  }

  async upscale(options: SrOptions): Promise<SrResult> {
    if (this.disposed) throw new PipelineError('disposed', 'the upscaler was released; load it again');
    if (this.busy) throw new PipelineError('busy', 'an upscale is already running');
    this.busy = true;
    try {
      return await this.run(options);
    } finally {
      this.busy = false;
    }
  }

  private async run(o: SrOptions): Promise<SrResult> {
    const tStart = now();
    const timings: Record<string, number> = {};
    const m = this.manifest;
    const bad = (what: string): never => {
      throw new PipelineError('bad-option', what);
    };
    const { height, width } = o;
    const f = m.vae_scale_factor;
    for (const [name, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % f !== 0) bad(`${name} must be a positive multiple of ${f}, got ${v}`);
    }
    const hw = height * width;
    if (!(o.rgb instanceof Float32Array) || o.rgb.length !== hw * 3) bad(`rgb must be a Float32Array of ${height}×${width}×3 values`);
    if (!(o.depth instanceof Float32Array) || o.depth.length !== hw) bad(`depth must be a Float32Array of ${height}×${width} values`);
    const prompt = o.prompt ?? SR_DEFAULT_PROMPT;
    if (typeof prompt !== 'string') bad('prompt must be text');
    const negative = o.negativePrompt ?? null;
    const steps = o.steps ?? m.defaults.num_inference_steps;
    const badSteps = stepsError(steps);
    if (badSteps) bad(badSteps);
    const guidance = o.guidance ?? m.defaults.guidance_scale;
    const badGuidance = guidanceError(guidance);
    if (badGuidance) bad(badGuidance);
    const noiseLevel = o.noiseLevel ?? m.defaults.noise_level ?? 20;
    if (!Number.isInteger(noiseLevel) || noiseLevel < 0 || noiseLevel > SR_MAX_NOISE_LEVEL) {
      bad(`noise level must be a whole number from 0 to ${SR_MAX_NOISE_LEVEL}, got ${noiseLevel}`);
    }
    const c = m.latent_channels;
    const h = height / f;
    const w = width / f;
    const n = c * h * w;
    let latents: Float32Array;
    let noise: Float32Array;
    let seed: string | null = null;
    try {
      const s = o.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
      const drawn = o.latents && o.encoderNoise ? null : randomNormals(s, 2 * n);
      if (drawn) seed = s.toString();
      latents = o.latents ?? drawn!.subarray(0, n);
      noise = o.encoderNoise ?? drawn!.subarray(n, 2 * n);
    } catch (e) {
      throw new PipelineError('bad-option', reasonOf(e));
    }
    if (latents.length !== n) bad(`latents have ${latents.length} values; [1, ${c}, ${h}, ${w}] = ${n} needed`);
    if (noise.length !== n) bad(`encoder noise has ${noise.length} values; [1, ${c}, ${h}, ${w}] = ${n} needed`);

    // m.defaults.scheduler is "ddim" for SR: model_index names DDIMScheduler (LDM3D-SPEC.md).
    const plan = createScheduler(m.defaults.scheduler, m.scheduler).plan(steps);
    const cfg = guidance > 1;
    const batch = cfg ? 2 : 1;
    checkAbort(o.signal, 'the upscale');
    this.runtime.check('upscale');

    // 1. text
    let t = now();
    const max = this.tokenizer.maxLength;
    const promptIds = this.tokenizer.encode(prompt).ids;
    const ids = cfg ? [this.tokenizer.encode(negative ?? '').ids, promptIds] : [promptIds];
    const text = await this.textEncoder.encode(ids, max);
    const hidden = cpuTensor('float32', text.data, text.dims);
    timings.textEncoder = now() - t;

    // 2. the low-res RGBD → latent space
    t = now();
    const image = new Float32Array(4 * hw);
    for (let i = 0; i < hw; i++) {
      image[i] = 2 * o.rgb[3 * i] - 1;
      image[hw + i] = 2 * o.rgb[3 * i + 1] - 1;
      image[2 * hw + i] = 2 * o.rgb[3 * i + 2] - 1;
      image[3 * hw + i] = 2 * o.depth[i] - 1;
    }
    const moments = await this.encoder.encode(image, [1, 4, height, width], SR_WRAP);
    if (moments.data.length !== 2 * n) {
      throw new PipelineError('runtime', `vae_encoder returned [${moments.dims.join(', ')}], expected [1, ${2 * c}, ${h}, ${w}]`);
    }
    const sf = m.vae_scaling_factor;
    const low = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const logvar = Math.min(20, Math.max(-30, moments.data[n + i]));
      low[i] = (moments.data[i] + Math.exp(0.5 * logvar) * noise[i]) * sf;
    }
    o.onLowResLatents?.(low);
    timings.vaeEncode = now() - t;

    // 3. denoise
    const lat = new CpuLatents(n, plan, latents);
    const scaled = new Float32Array(batch * n);
    const sample = new Float32Array(batch * 2 * n);
    for (let b = 0; b < batch; b++) sample.set(low, (2 * b + 1) * n);
    const extra: Record<string, RtTensor> = {};
    if (this.unet.inputNames.includes('class_labels')) {
      extra.class_labels = cpuTensor('int64', new BigInt64Array(batch).fill(BigInt(noiseLevel)), [batch]);
    }
    const tLoop = now();
    const total = plan.steps.length;
    for (let i = 0; i < total; i++) {
      checkAbort(o.signal, 'the upscale');
      const step = plan.steps[i];
      lat.unetInput(step, batch, scaled);
      for (let b = 0; b < batch; b++) sample.set(scaled.subarray(b * n, (b + 1) * n), 2 * b * n);
      const out = await this.unet.run(cpuTensor('float32', sample, [batch, 2 * c, h, w]), step.timestep, hidden, SR_WRAP, extra);
      try {
        lat.apply(step, out.data as Float32Array, cfg ? guidance : null);
      } finally {
        out.dispose();
      }
      this.runtime.check('upscaling');
      o.onStepLatents?.(i + 1, lat.x.slice());
      const mean = (now() - tLoop) / (i + 1);
      await o.onProgress?.({ step: i + 1, total, timestep: step.timestep, elapsedMs: now() - tStart, etaMs: mean * (total - i - 1) });
    }
    timings.denoise = now() - tLoop;

    // 4. decode
    checkAbort(o.signal, 'the upscale');
    t = now();
    const z = new Float32Array(n);
    lincombCpu(z, 0, n, [{ data: lat.x, offset: 0, c: 1 / sf }]);
    const decoded = await this.decoder.decode(cpuTensor('float32', z, [1, c, h, w]), { wrap: SR_WRAP });
    if (decoded.dims[1] !== 4 || decoded.dims[2] !== height || decoded.dims[3] !== width) {
      throw new PipelineError('runtime', `vae_decoder returned [${decoded.dims.join(', ')}], expected [1, 4, ${height}, ${width}]`);
    }
    const result = postprocess(decoded.data, height, width);
    timings.vaeDecode = now() - t;
    timings.total = now() - tStart;
    return {
      ...result,
      settings: { prompt, negativePrompt: negative, steps, guidance, noiseLevel, seed, timesteps: plan.steps.map((s) => s.timestep) },
      backend: this.backend,
      timings,
    };
  }

  /** Releases every session and the runtime (the GPU device, on WebGPU). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runtime.dispose();
  }
}
