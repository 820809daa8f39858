/** UNet stage: (sample, float32 rank-0 timestep, encoder_hidden_states) → out_sample, kept on the GPU on WebGPU. */
import { cpuTensor, type OrtRuntime, type OrtSession, type RtTensor } from '../../runtime/ort';
import { PipelineError } from '../errors';
import type { ModelSource, SessionSpec } from '../manifest';
import { loadStageSession } from './session';

export class UNetStage {
  private readonly timestepShape: number[];

  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
  ) {
    const t = spec.inputs.find((i) => i.name === 'timestep');
    if (!t || t.dtype !== 'float32') {
      throw new PipelineError('model-file', `${spec.file}: expected a float32 "timestep" input (Euler needs fractional timesteps)`, { file: spec.file });
    }
    // optimum exports a rank-0 scalar; older exports use [1] (the UNet broadcasts either).
    this.timestepShape = t.shape.length === 0 ? [] : [1];
  }

  static async load(runtime: OrtRuntime, source: ModelSource, options: { gpuOutputs?: boolean } = {}): Promise<UNetStage> {
    const { session, spec } = await loadStageSession(runtime, source, 'unet', { gpuOutputs: options.gpuOutputs ?? true });
    return new UNetStage(session, spec);
  }

  /** The graph's input names (LDM3D-SR graphs may take class_labels). */
  get inputNames(): readonly string[] {
    return this.spec.inputs.map((i) => i.name);
  }

  /** The caller owns the returned tensor and must dispose() it once read (GPU buffers go back to ORT). */
  /** `extra`: further inputs some UNets take (LDM3D-SR: class_labels, the noise level). */
  async run(sample: RtTensor, timestep: number, encoderHiddenStates: RtTensor, extra?: Readonly<Record<string, RtTensor>>): Promise<RtTensor> {
    const out = await this.session.run({
      ...extra,
      sample,
      timestep: cpuTensor('float32', new Float32Array([timestep]), this.timestepShape),
      encoder_hidden_states: encoderHiddenStates,
    });
    return out[this.spec.outputs[0].name];
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
