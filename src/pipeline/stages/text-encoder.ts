/** CLIP text encoder stage: token ids [B, 77] → last_hidden_state [B, 77, hidden] (no attention mask, as diffusers). */
import { cpuTensor, type OrtRuntime, type OrtSession } from '../../runtime/ort';
import type { ModelSource, SessionSpec } from '../manifest';
import { loadStageSession } from './session';

export class TextEncoderStage {
  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
  ) {}

  static async load(runtime: OrtRuntime, source: ModelSource): Promise<TextEncoderStage> {
    const { session, spec } = await loadStageSession(runtime, source, 'text_encoder');
    return new TextEncoderStage(session, spec);
  }

  /** Encodes the prompts as one batch, in the given order (diffusers: [negative, positive]). */
  async encode(ids: readonly BigInt64Array[], length: number): Promise<{ data: Float32Array; dims: number[] }> {
    const batch = new BigInt64Array(ids.length * length);
    ids.forEach((row, b) => batch.set(row, b * length));
    const inputName = this.spec.inputs[0].name;
    const outputName = this.spec.outputs[0].name;
    const out = await this.session.run({ [inputName]: cpuTensor('int64', batch, [ids.length, length]) });
    const hidden = out[outputName];
    return { data: hidden.data as Float32Array, dims: [...hidden.dims] };
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
