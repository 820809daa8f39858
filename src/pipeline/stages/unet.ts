/**
 * UNet stage: (sample, float32 rank-0 timestep, encoder_hidden_states) → out_sample, kept on the GPU
 * on WebGPU. With DeepCache graphs in the manifest (manifest.ts DeepCacheSpec) the stage also holds
 * the shallow-branch session, created and released with the UNet's (one stage for the denoise loop).
 */
import { cpuTensor, type OrtRuntime, type OrtSession, type RtTensor } from '../../runtime/ort';
import { PipelineError } from '../../model/errors';
import type { DeepCacheSpec, ModelSource, SessionSpec } from '../../model/manifest';
import { loadStageSession } from './session';
import { wrapFeeds, type WrapFeed } from './wrap';

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

/** The shape of the float32 `timestep` input: optimum exports a rank-0 scalar, older exports [1]. */
function timestepShape(spec: SessionSpec): number[] {
  const t = spec.inputs.find((i) => i.name === 'timestep');
  if (!t || t.dtype !== 'float32') {
    throw new PipelineError('model-file', `${spec.file}: expected a float32 "timestep" input (Euler needs fractional timesteps)`, { file: spec.file });
  }
  // The UNet broadcasts either.
  return t.shape.length === 0 ? [] : [1];
}

/** The shallow-branch session of the DeepCache export and what it needs. */
interface ShallowBranch {
  readonly session: OrtSession;
  readonly spec: SessionSpec;
  readonly deepcache: DeepCacheSpec;
  readonly timestepShape: number[];
  readonly wrap: WrapFeed | null;
}

export class UNetStage {
  private readonly timestepShape: number[];
  /** The sample output: the first one that is not the DeepCache features. */
  private readonly outName: string;

  private constructor(
    private readonly session: OrtSession,
    private readonly spec: SessionSpec,
    private readonly shallow: ShallowBranch | null,
    /** The wrap input of the full UNet (the shallow branch has its own), or null: not wrapped. */
    private readonly wrap: WrapFeed | null,
  ) {
    this.timestepShape = timestepShape(spec);
    const feature = shallow?.deepcache.feature;
    const out = spec.outputs.find((o) => o.name !== feature);
    if (!out) throw new PipelineError('model-file', `${spec.file}: the unet has no sample output`, { file: spec.file });
    this.outName = out.name;
  }

  /**
   * `shape`: the one input shape this session will see (batch = 2 with guidance, latent size), given
   * to ORT as freeDimensionOverrides so it plans the graph for it (BENCHMARKS.md: UNet call −43 % CPU
   * side, −2 % per step, a much cheaper first run). The session then refuses any other shape. The
   * shallow session (DeepCache) is specialised the same way: it sees the same batch and latent size.
   */
  static async load(
    runtime: OrtRuntime,
    source: ModelSource,
    options: { gpuOutputs?: boolean; shape?: UNetShape } = {},
  ): Promise<UNetStage> {
    const m = source.manifest;
    const gpuOutputs = options.gpuOutputs ?? true;
    const overridesFor = (declared: SessionSpec | undefined): Record<string, number> | undefined =>
      declared && options.shape ? unetDimensionOverrides(declared, options.shape) : undefined;
    const { session, spec, wrap } = await loadStageSession(runtime, source, 'unet', { gpuOutputs, freeDimensionOverrides: overridesFor(m.sessions.unet) });
    let shallow: ShallowBranch | null = null;
    try {
      const dc = m.deepcache;
      if (dc) {
        if (!session.outputNames.includes(dc.feature)) {
          throw new PipelineError('model-file', `${spec.file}: the graph has no "${dc.feature}" output for DeepCache (it has ${session.outputNames.join(', ')})`, { file: spec.file });
        }
        const name = dc.shallow_session;
        const loaded = await loadStageSession(runtime, source, name, { gpuOutputs, freeDimensionOverrides: overridesFor(m.sessions[name]) });
        let shape: number[];
        try {
          shape = timestepShape(loaded.spec);
          if (!loaded.session.outputNames.includes('out_sample')) {
            throw new PipelineError('model-file', `${loaded.spec.file}: the graph has no "out_sample" output (it has ${loaded.session.outputNames.join(', ')})`, { file: loaded.spec.file });
          }
        } catch (e) {
          loaded.wrap?.dispose();
          await loaded.session.release();
          throw e;
        }
        shallow = { session: loaded.session, spec: loaded.spec, deepcache: dc, timestepShape: shape, wrap: loaded.wrap };
      }
      return new UNetStage(session, spec, shallow, wrap);
    } catch (e) {
      wrap?.dispose();
      shallow?.wrap?.dispose();
      await Promise.allSettled([session.release(), shallow?.session.release()]);
      throw e;
    }
  }

  /** The graph's input names (LDM3D-SR graphs may take class_labels). */
  get inputNames(): readonly string[] {
    return this.spec.inputs.map((i) => i.name);
  }

  /** Whether every graph of the stage takes the wrap input (the full UNet, and the shallow one if any). */
  get hasWrap(): boolean {
    return this.wrap !== null && (this.shallow === null || this.shallow.wrap !== null);
  }

  /** Whether the stage holds the DeepCache shallow branch (runFull / runShallow work). */
  get hasDeepCache(): boolean {
    return this.shallow !== null;
  }

  private timestep(value: number, shape: number[]): RtTensor {
    return cpuTensor('float32', new Float32Array([value]), shape);
  }

  /**
   * The caller owns the returned tensor and must dispose() it once read (GPU buffers go back to ORT).
   * Only the sample output is fetched: a DeepCache export's features are neither copied nor kept.
   * `wrap`: circular padding along the width (a wrapped export only; false = zero padding, diffusers).
   * `extra`: further inputs some UNets take (LDM3D-SR: class_labels, the noise level).
   */
  async run(sample: RtTensor, timestep: number, encoderHiddenStates: RtTensor, wrap: boolean, extra?: Readonly<Record<string, RtTensor>>): Promise<RtTensor> {
    const feeds = {
      ...extra,
      ...wrapFeeds(this.wrap, wrap, this.spec.file),
      sample,
      timestep: this.timestep(timestep, this.timestepShape),
      encoder_hidden_states: encoderHiddenStates,
    };
    const out = await this.session.run(feeds, [this.outName]);
    return out[this.outName];
  }

  /** A DeepCache full step: the sample output and the deep features to cache (the caller owns both). */
  async runFull(sample: RtTensor, timestep: number, encoderHiddenStates: RtTensor, wrap: boolean): Promise<{ out: RtTensor; features: RtTensor }> {
    const feature = this.needShallow().deepcache.feature;
    const feeds = {
      ...wrapFeeds(this.wrap, wrap, this.spec.file),
      sample,
      timestep: this.timestep(timestep, this.timestepShape),
      encoder_hidden_states: encoderHiddenStates,
    };
    const res = await this.session.run(feeds, [this.outName, feature]);
    const out = res[this.outName];
    const features = res[feature];
    if (!out || !features) {
      out?.dispose();
      features?.dispose();
      throw new PipelineError('runtime', `${this.spec.file}: the unet did not return ${this.outName} and ${feature}`);
    }
    return { out, features };
  }

  /** A DeepCache shallow step on the features of the latest full step (not consumed: the caller keeps them). */
  async runShallow(sample: RtTensor, timestep: number, encoderHiddenStates: RtTensor, features: RtTensor, wrap: boolean): Promise<RtTensor> {
    const s = this.needShallow();
    const feeds = {
      ...wrapFeeds(s.wrap, wrap, s.spec.file),
      sample,
      timestep: this.timestep(timestep, s.timestepShape),
      encoder_hidden_states: encoderHiddenStates,
      [s.deepcache.feature]: features,
    };
    const out = await s.session.run(feeds, ['out_sample']);
    return out.out_sample;
  }

  /** Runs each session once on zero inputs (warm-up: shader compilation, buffer allocation), full then shallow. */
  async warmUp(sample: RtTensor, encoderHiddenStates: RtTensor, wrap: boolean): Promise<void> {
    if (!this.shallow) {
      const out = await this.run(sample, 0, encoderHiddenStates, wrap);
      // Wait for the GPU: the point is that the compilation has happened when this resolves.
      if (out.location === 'gpu-buffer') await out.getData();
      out.dispose();
      return;
    }
    const { out, features } = await this.runFull(sample, 0, encoderHiddenStates, wrap);
    try {
      out.dispose();
      const shallowOut = await this.runShallow(sample, 0, encoderHiddenStates, features, wrap);
      if (shallowOut.location === 'gpu-buffer') await shallowOut.getData();
      shallowOut.dispose();
    } finally {
      features.dispose();
    }
  }

  private needShallow(): ShallowBranch {
    if (!this.shallow) throw new PipelineError('runtime', `${this.spec.file}: this export has no DeepCache graphs`);
    return this.shallow;
  }

  async dispose(): Promise<void> {
    // Both go even when one release fails (a lost device); the first failure is reported.
    this.wrap?.dispose();
    this.shallow?.wrap?.dispose();
    const results = await Promise.allSettled([this.session.release(), this.shallow?.session.release()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
