/** UNet stage: (sample, float32 rank-0 timestep, encoder_hidden_states) → out_sample, kept on the GPU on WebGPU. */
import { cpuTensor, type OrtRuntime, type OrtSession, type RtTensor } from '../../runtime/ort';
import { PipelineError } from '../errors';
import type { ModelSource, SessionSpec } from '../manifest';
import { loadStageSession } from './session';

/** The UNet input shape a session is specialised for. */
export interface UNetShape {
  readonly batch: number;
  readonly latentHeight: number;
  readonly latentWidth: number;
}

/**
 * Symbolic dimension names of the UNet's inputs → their values for `shape`, read from the manifest
 * (sample [batch, C, h, w], encoder_hidden_states [batch, 77, hidden]); undefined when the export
 * names them inconsistently (one name for two different sizes), so nothing wrong is ever fixed.
 */
export function unetDimensionOverrides(spec: SessionSpec, shape: UNetShape): Record<string, number> | undefined {
  const wanted: Record<string, ReadonlyArray<number | null>> = {
    sample: [shape.batch, null, shape.latentHeight, shape.latentWidth],
    encoder_hidden_states: [shape.batch, null, null],
  };
  const out: Record<string, number> = {};
  for (const input of spec.inputs) {
    const values = wanted[input.name];
    if (!values) continue;
    for (let i = 0; i < input.shape.length; i++) {
      const dim = input.shape[i];
      const v = values[i] ?? null;
      if (typeof dim !== 'string' || v === null) continue;
      if (dim in out && out[dim] !== v) return undefined;
      out[dim] = v;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

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

  /**
   * `shape`: the one input shape this session will see (batch = 2 with guidance, latent size), given
   * to ORT as freeDimensionOverrides so it plans the graph for it (BENCHMARKS.md: UNet call −43 % CPU
   * side, −2 % per step, a much cheaper first run). The session then refuses any other shape.
   */
  static async load(
    runtime: OrtRuntime,
    source: ModelSource,
    options: { gpuOutputs?: boolean; shape?: UNetShape } = {},
  ): Promise<UNetStage> {
    const declared = source.manifest.sessions.unet;
    const overrides = declared && options.shape ? unetDimensionOverrides(declared, options.shape) : undefined;
    const { session, spec } = await loadStageSession(runtime, source, 'unet', { gpuOutputs: options.gpuOutputs ?? true, freeDimensionOverrides: overrides });
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
