/**
 * VAE encoder stage: sample [1, 4, H, W] in [−1, 1] (RGB + depth) → latent_parameters [1, 8, H/8, W/8]
 * (mean ‖ logvar: optimum's export of vae.encode(x).latent_dist.parameters). Used by LDM3D-SR.
 */
import { cpuTensor, type OrtRuntime, type OrtSession } from '../../runtime/ort';
import type { ModelSource, SessionSpec } from '../../model/manifest';
import { dataInput, loadStageSession } from './session';
import { wrapFeeds, type WrapFeed } from './wrap';

export class VaeEncoderStage {
  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
    private readonly wrap: WrapFeed | null,
  ) {}

  static async load(runtime: OrtRuntime, source: ModelSource): Promise<VaeEncoderStage> {
    const { session, spec, wrap } = await loadStageSession(runtime, source, 'vae_encoder');
    return new VaeEncoderStage(session, spec, wrap);
  }

  /** `wrap`: the sample is a full panorama's width (circular padding; a wrapped graph only). Default false: diffusers. */
  async encode(sample: Float32Array, dims: readonly number[], wrap = false): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const out = await this.session.run({ ...wrapFeeds(this.wrap, wrap, this.spec.file), [dataInput(this.spec, this.wrap)]: cpuTensor('float32', sample, dims) });
    const t = out[this.spec.outputs[0].name];
    return { data: t.data as Float32Array, dims: t.dims };
  }

  dispose(): Promise<void> {
    this.wrap?.dispose();
    return this.session.release();
  }
}
