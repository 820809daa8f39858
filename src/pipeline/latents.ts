/**
 * Per-run latent state behind one interface, so the denoising loop is the same on both back ends:
 * CpuExecutor (WASM: Float32Arrays, UNet output read on the CPU) and GpuExecutor in
 * latents-gpu.ts (WebGPU: buffers on ORT's device, UNet output never leaves the GPU).
 */
import type { RGBDPanorama } from '../panorama/types';
import { cpuTensor, type RtTensor } from '../runtime/ort';
import { CpuLatents, lincombCpu } from './lincomb';
import { previewFromLatents } from './preview';
import type { Plan, StepPlan } from './schedulers/common';

export interface LatentShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface LatentExecutor {
  /** The text embeddings [batch, 77, hidden] as the UNet's encoder_hidden_states (uploaded once). */
  embeddings(data: Float32Array, dims: readonly number[]): RtTensor;
  /** The UNet's `sample`: `batch` copies of inputScale·x. */
  unetInput(step: StepPlan): RtTensor;
  /**
   * Guidance + the scheduler's ops, reading the UNet output ([uncond; text] halves with guidance).
   * Resolves when the step is done, with the preview of x̂0 when asked for.
   */
  apply(step: StepPlan, unetOutput: RtTensor, preview: boolean): Promise<RGBDPanorama | null>;
  /** The VAE decoder's input x/scalingFactor, [1, C, h, w]. */
  vaeInput(scalingFactor: number): RtTensor;
  /** The same values as vaeInput, as a CPU tensor (the tiled VAE decode cuts its tiles on the CPU). */
  vaeInputCpu(scalingFactor: number): Promise<RtTensor>;
  /** A copy of the current x (tests, debugging). */
  readX(): Promise<Float32Array>;
  /** Frees every per-run buffer. Safe to call twice. */
  dispose(): void;
}

export class CpuExecutor implements LatentExecutor {
  private readonly lat: CpuLatents;
  private readonly n: number;
  private readonly batch: number;
  private readonly input: Float32Array;
  private readonly x0: Float32Array;

  constructor(
    private readonly shape: LatentShape,
    plan: Plan,
    initial: Float32Array,
    /** null: no classifier-free guidance (batch 1). */
    private readonly guidance: number | null,
  ) {
    this.n = shape.channels * shape.height * shape.width;
    this.batch = guidance === null ? 1 : 2;
    this.lat = new CpuLatents(this.n, plan, initial);
    this.input = new Float32Array(this.batch * this.n);
    this.x0 = new Float32Array(this.n);
  }

  private dims(batch: number): number[] {
    return [batch, this.shape.channels, this.shape.height, this.shape.width];
  }

  embeddings(data: Float32Array, dims: readonly number[]): RtTensor {
    return cpuTensor('float32', data, dims);
  }

  unetInput(step: StepPlan): RtTensor {
    this.lat.unetInput(step, this.batch, this.input);
    return cpuTensor('float32', this.input, this.dims(this.batch));
  }

  apply(step: StepPlan, unetOutput: RtTensor, preview: boolean): Promise<RGBDPanorama | null> {
    const eps = unetOutput.data as Float32Array;
    let image: RGBDPanorama | null = null;
    if (preview) {
      this.lat.predictX0(step, eps, this.guidance, this.x0);
      image = previewFromLatents(this.x0, this.shape.height, this.shape.width);
    }
    this.lat.apply(step, eps, this.guidance);
    return Promise.resolve(image);
  }

  vaeInput(scalingFactor: number): RtTensor {
    const z = new Float32Array(this.n);
    lincombCpu(z, 0, this.n, [{ data: this.lat.x, offset: 0, c: 1 / scalingFactor }]);
    return cpuTensor('float32', z, this.dims(1));
  }

  vaeInputCpu(scalingFactor: number): Promise<RtTensor> {
    return Promise.resolve(this.vaeInput(scalingFactor));
  }

  readX(): Promise<Float32Array> {
    return Promise.resolve(this.lat.x.slice());
  }

  dispose(): void {
    // Nothing to free: the arrays go with the executor.
  }
}
