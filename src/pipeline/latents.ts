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
  /**
   * The text embeddings [batch, 77, hidden] as the UNet's encoder_hidden_states (uploaded once):
   * one tensor, or with guidance split the two batch-1 halves [uncond, text], one per UNet call.
   */
  embeddings(data: Float32Array, dims: readonly number[]): readonly RtTensor[];
  /** The UNet's `sample`: `batch` copies of inputScale·x (one with guidance split: both calls take it). */
  unetInput(step: StepPlan): RtTensor;
  /**
   * Guidance + the scheduler's ops, reading the UNet output: one tensor (the [uncond; text] halves
   * with guidance batched), or with guidance split the two calls' outputs [uncond, text], combined
   * exactly as the halves of a batch-2 output. Resolves when the step is done, with the preview of
   * x̂0 when asked for. The caller still owns (and disposes) the outputs.
   */
  apply(step: StepPlan, unetOutputs: readonly RtTensor[], preview: boolean): Promise<RGBDPanorama | null>;
  /** The VAE decoder's input x/scalingFactor, [1, C, h, w]. */
  vaeInput(scalingFactor: number): RtTensor;
  /** The same values as vaeInput, as a CPU tensor (the tiled VAE decode cuts its tiles on the CPU). */
  vaeInputCpu(scalingFactor: number): Promise<RtTensor>;
  /** A copy of the current x (tests, debugging). */
  readX(): Promise<Float32Array>;
  /** Frees every per-run buffer. Safe to call twice. */
  dispose(): void;
}

/** The UNet's batch per call and how many calls a step makes, for a run's guidance mode. */
export function unetCalls(guidance: number | null, split: boolean): { batch: number; calls: number } {
  if (guidance === null) return { batch: 1, calls: 1 };
  return split ? { batch: 1, calls: 2 } : { batch: 2, calls: 1 };
}

/** Checks that `outputs` are what a step of this mode produces: `calls` tensors of `batch`·n values. */
export function checkUnetOutputs(outputs: readonly RtTensor[], calls: number, batch: number, n: number): void {
  if (outputs.length !== calls) throw new Error(`expected ${calls} UNet output(s) per step, got ${outputs.length}`);
  for (const o of outputs) {
    const size = o.dims.reduce((a, b) => a * b, 1);
    if (size !== batch * n) throw new Error(`UNet output [${o.dims.join(', ')}] has ${size} values, expected ${batch * n}`);
  }
}

export class CpuExecutor implements LatentExecutor {
  private readonly lat: CpuLatents;
  private readonly n: number;
  private readonly batch: number;
  private readonly calls: number;
  private readonly input: Float32Array;
  private readonly x0: Float32Array;
  /** Split guidance: the two outputs side by side, [uncond; text], as one batch-2 output. */
  private readonly eps2: Float32Array | null;

  constructor(
    private readonly shape: LatentShape,
    plan: Plan,
    initial: Float32Array,
    /** null: no classifier-free guidance (batch 1). */
    private readonly guidance: number | null,
    /** Guidance as two batch-1 UNet calls (LoadOptions.guidanceBatch); ignored without guidance. */
    split = false,
  ) {
    this.n = shape.channels * shape.height * shape.width;
    ({ batch: this.batch, calls: this.calls } = unetCalls(guidance, split));
    this.lat = new CpuLatents(this.n, plan, initial);
    this.input = new Float32Array(this.batch * this.n);
    this.x0 = new Float32Array(this.n);
    this.eps2 = this.calls === 2 ? new Float32Array(2 * this.n) : null;
  }

  private dims(batch: number): number[] {
    return [batch, this.shape.channels, this.shape.height, this.shape.width];
  }

  embeddings(data: Float32Array, dims: readonly number[]): readonly RtTensor[] {
    if (this.calls === 1) return [cpuTensor('float32', data, dims)];
    const half = data.length / 2;
    const one = [1, ...dims.slice(1)];
    return [cpuTensor('float32', data.slice(0, half), one), cpuTensor('float32', data.slice(half), one)];
  }

  unetInput(step: StepPlan): RtTensor {
    this.lat.unetInput(step, this.batch, this.input);
    return cpuTensor('float32', this.input, this.dims(this.batch));
  }

  // async: a bad output is then a rejection, as on the GPU executor.
  async apply(step: StepPlan, unetOutputs: readonly RtTensor[], preview: boolean): Promise<RGBDPanorama | null> {
    checkUnetOutputs(unetOutputs, this.calls, this.batch, this.n);
    let eps = unetOutputs[0].data as Float32Array;
    if (this.eps2) {
      // The batched path's maths on the batched layout: same terms, same order, same roundings.
      this.eps2.set(eps.subarray(0, this.n), 0);
      this.eps2.set((unetOutputs[1].data as Float32Array).subarray(0, this.n), this.n);
      eps = this.eps2;
    }
    let image: RGBDPanorama | null = null;
    if (preview) {
      this.lat.predictX0(step, eps, this.guidance, this.x0);
      image = previewFromLatents(this.x0, this.shape.height, this.shape.width);
    }
    this.lat.apply(step, eps, this.guidance);
    return image;
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
