/** VAE decoder stage: latent_sample [1, 4, h, w] (already ÷ scaling factor) → sample [1, 4, 8h, 8w] in [−1, 1]. */
import type { OrtRuntime, OrtSession, RtTensor } from '../../runtime/ort';
import type { ModelSource, SessionSpec } from '../manifest';
import { loadStageSession } from './session';

export class VaeDecoderStage {
  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
  ) {}

  static async load(runtime: OrtRuntime, source: ModelSource): Promise<VaeDecoderStage> {
    const { session, spec } = await loadStageSession(runtime, source, 'vae_decoder');
    return new VaeDecoderStage(session, spec);
  }

  async decode(latents: RtTensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const out = await this.session.run({ [this.spec.inputs[0].name]: latents });
    const t = out[this.spec.outputs[0].name];
    // Outputs stay on the CPU for this session (no gpuOutputs): post-processing is on the CPU.
    return { data: t.data as Float32Array, dims: t.dims };
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
