/** CLIP text encoder stage: token ids [B, 77] → last_hidden_state [B, 77, hidden] (no attention mask, as diffusers). */
import { cpuTensor, type OrtRuntime, type OrtSession } from '../../runtime/ort';
import type { ModelSource, SessionSpec } from '../../model/manifest';
import { dataInput, loadStageSession } from './session';
import type { WrapFeed } from './wrap';

export class TextEncoderStage {
  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
    private readonly wrap: WrapFeed | null,
  ) {}

  static async load(runtime: OrtRuntime, source: ModelSource): Promise<TextEncoderStage> {
    const { session, spec, wrap } = await loadStageSession(runtime, source, 'text_encoder');
    return new TextEncoderStage(session, spec, wrap);
  }

  /** Encodes the prompts as one batch, in the given order (diffusers: [negative, positive]). */
  async encode(ids: readonly BigInt64Array[], length: number): Promise<{ data: Float32Array; dims: number[] }> {
    const batch = new BigInt64Array(ids.length * length);
    ids.forEach((row, b) => batch.set(row, b * length));
    const inputName = dataInput(this.spec, this.wrap);
    const outputName = this.spec.outputs[0].name;
    // A wrapped text encoder (should an export list one) has no width to wrap: always zero padding.
    const out = await this.session.run({ ...this.wrap?.feed(false), [inputName]: cpuTensor('int64', batch, [ids.length, length]) });
    const hidden = out[outputName];
    return { data: hidden.data as Float32Array, dims: [...hidden.dims] };
  }

  dispose(): Promise<void> {
    this.wrap?.dispose();
    return this.session.release();
  }
}
