/**
 * What every scheduler shares: the config (diffusers' scheduler_config.json), the noise schedule,
 * and the shape of a plan.
 *
 * Why plans: with ε-prediction and η = 0, every update of DDIM, PLMS, Euler and DPM-Solver++ 2M is a
 * linear combination of latent-sized buffers (the sample x, the guided ε, stored history) with
 * per-step scalar coefficients. A scheduler therefore computes all coefficients up front on the CPU
 * in float64, and an executor (Float32Array loops on WASM, one WGSL kernel on WebGPU) applies them.
 * The latents never leave the GPU between steps. See docs/pipeline.md.
 */
import { PipelineError } from '../../model/errors';

export type SchedulerName = 'ddim' | 'pndm' | 'euler' | 'dpm';
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['ddim', 'pndm', 'euler', 'dpm'];

/**
 * A latent-sized buffer a plan reads or writes. 'x' is the current sample, 'eps' the guided model
 * output of this step (read-only; the executor expands it into the UNet output's halves with the
 * guidance scale). Other names are history buffers the scheduler owns (listed in `Plan.slots`).
 */
export type Slot = string;

export interface Term {
  readonly slot: Slot;
  readonly c: number;
}

/** out ← Σ cᵢ·slotᵢ, element-wise (so `out` may also appear among the terms). */
export interface LinOp {
  readonly out: Slot;
  readonly terms: readonly Term[];
}

export interface StepPlan {
  /** The value given to the UNet's float32 `timestep` input. */
  readonly timestep: number;
  /** scale_model_input: the UNet sees inputScale·x. */
  readonly inputScale: number;
  /** The predicted x̂0 as terms over 'x' and 'eps' (for the preview), valid before `ops` run. */
  readonly x0: readonly Term[];
  /** Applied in order after the UNet call. */
  readonly ops: readonly LinOp[];
}

export interface Plan {
  readonly scheduler: SchedulerName;
  readonly numInferenceSteps: number;
  /** diffusers multiplies the initial latents (random or injected) by this. */
  readonly initNoiseSigma: number;
  /** One per UNet call (PNDM makes N+1 calls). */
  readonly steps: readonly StepPlan[];
  /** History buffers the executor must provide, latent-sized, initial contents irrelevant. */
  readonly slots: readonly Slot[];
}

export interface Scheduler {
  readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  /** The whole run for N inference steps; pure and cheap (N ≤ 1000). */
  plan(numInferenceSteps: number): Plan;
}

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

/** The subset of diffusers' scheduler config this project implements, with diffusers' defaults. */
export interface SchedulerConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: 'linear' | 'scaled_linear';
  readonly trainedBetas: readonly number[] | null;
  readonly setAlphaToOne: boolean;
  readonly stepsOffset: number;
  readonly timestepSpacing: TimestepSpacing;
  readonly skipPrkSteps: boolean;
}

/** Per-class defaults that differ (diffusers' __init__ signatures). */
const CLASS_DEFAULTS: Record<SchedulerName, { timestepSpacing: TimestepSpacing; setAlphaToOne: boolean }> = {
  ddim: { timestepSpacing: 'leading', setAlphaToOne: true },
  pndm: { timestepSpacing: 'leading', setAlphaToOne: false },
  euler: { timestepSpacing: 'linspace', setAlphaToOne: false },
  dpm: { timestepSpacing: 'linspace', setAlphaToOne: false },
};

/** The class name diffusers writes in `_class_name` for each scheduler. */
export const CLASS_NAMES: Record<SchedulerName, string> = {
  ddim: 'DDIMScheduler',
  pndm: 'PNDMScheduler',
  euler: 'EulerDiscreteScheduler',
  dpm: 'DPMSolverMultistepScheduler',
};

function unsupported(name: SchedulerName, key: string, value: unknown, supported: string): never {
  throw new PipelineError(
    'unsupported-config',
    `scheduler config: ${CLASS_NAMES[name]} with ${key}=${JSON.stringify(value)} is not implemented (supported: ${supported})`,
  );
}

/**
 * Reads a diffusers scheduler_config.json for scheduler `name`, as diffusers' `from_config` does:
 * keys the class does not know are ignored, keys the config lacks take the class's defaults (so a
 * DDIM config swapped to Euler gets Euler's "linspace" spacing). Options that would make a step
 * non-linear or random (clipping, thresholding, η > 0, SDE variants) are refused with a clear error.
 */
export function readSchedulerConfig(name: SchedulerName, raw: Readonly<Record<string, unknown>>): SchedulerConfig {
  const get = <T>(key: string, fallback: T): T => {
    const v = raw[key];
    return v === undefined || v === null ? fallback : (v as T);
  };
  const num = (key: string, fallback: number): number => {
    const v = get<unknown>(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) unsupported(name, key, v, 'a finite number');
    return v;
  };
  const defaults = CLASS_DEFAULTS[name];
  const betaSchedule = get<string>('beta_schedule', 'linear');
  if (betaSchedule !== 'linear' && betaSchedule !== 'scaled_linear') {
    unsupported(name, 'beta_schedule', betaSchedule, '"linear", "scaled_linear"');
  }
  const prediction = get<string>('prediction_type', 'epsilon');
  if (prediction !== 'epsilon') unsupported(name, 'prediction_type', prediction, '"epsilon"');
  const spacing = get<string>('timestep_spacing', defaults.timestepSpacing);
  if (spacing !== 'leading' && spacing !== 'linspace' && spacing !== 'trailing') {
    unsupported(name, 'timestep_spacing', spacing, '"leading", "linspace", "trailing"');
  }
  if (get('rescale_betas_zero_snr', false)) unsupported(name, 'rescale_betas_zero_snr', true, 'false');
  if (name === 'ddim') {
    if (get('clip_sample', true)) unsupported(name, 'clip_sample', true, 'false (clipping is not linear)');
    if (get('thresholding', false)) unsupported(name, 'thresholding', true, 'false');
  }
  if (name === 'euler') {
    for (const key of ['use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas']) {
      if (get(key, false)) unsupported(name, key, true, 'false');
    }
    const interp = get<string>('interpolation_type', 'linear');
    if (interp !== 'linear') unsupported(name, 'interpolation_type', interp, '"linear"');
    const finalType = get<string>('final_sigmas_type', 'zero');
    if (finalType !== 'zero') unsupported(name, 'final_sigmas_type', finalType, '"zero"');
  }
  if (name === 'dpm') {
    const algorithm = get<string>('algorithm_type', 'dpmsolver++');
    if (algorithm !== 'dpmsolver++') unsupported(name, 'algorithm_type', algorithm, '"dpmsolver++"');
    const solverType = get<string>('solver_type', 'midpoint');
    if (solverType !== 'midpoint') unsupported(name, 'solver_type', solverType, '"midpoint"');
    const order = get<number>('solver_order', 2);
    if (order !== 2) unsupported(name, 'solver_order', order, '2');
    const finalType = get<string>('final_sigmas_type', 'zero');
    if (finalType !== 'zero') unsupported(name, 'final_sigmas_type', finalType, '"zero"');
    for (const key of ['use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas', 'thresholding']) {
      if (get(key, false)) unsupported(name, key, true, 'false');
    }
    const lmc = get<number>('lambda_min_clipped', -Infinity);
    if (lmc !== -Infinity) unsupported(name, 'lambda_min_clipped', lmc, '-inf');
    if (get<string | null>('variance_type', null) !== null) unsupported(name, 'variance_type', raw.variance_type, 'null');
  }
  const trained = get<readonly number[] | null>('trained_betas', null);
  return {
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.0001),
    betaEnd: num('beta_end', 0.02),
    betaSchedule,
    trainedBetas: trained,
    setAlphaToOne: get('set_alpha_to_one', defaults.setAlphaToOne),
    stepsOffset: num('steps_offset', 0),
    timestepSpacing: spacing,
    skipPrkSteps: get('skip_prk_steps', false),
  };
}

/**
 * ᾱ (alphas_cumprod) as diffusers computes it: betas in float32 (torch.linspace in float32, squared
 * in float32 for "scaled_linear"), α = 1 − β in float32, and torch's CPU cumprod, which accumulates
 * in float64 and rounds each output to float32.
 */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const betas = new Float64Array(n);
  if (config.trainedBetas) {
    if (config.trainedBetas.length !== n) {
      throw new PipelineError('unsupported-config', `scheduler config: trained_betas has ${config.trainedBetas.length} values, num_train_timesteps is ${n}`);
    }
    for (let i = 0; i < n; i++) betas[i] = Math.fround(config.trainedBetas[i]);
  } else if (config.betaSchedule === 'linear') {
    for (let i = 0; i < n; i++) betas[i] = Math.fround(linspaceAt(config.betaStart, config.betaEnd, n, i));
  } else {
    const a = Math.fround(Math.sqrt(config.betaStart));
    const b = Math.fround(Math.sqrt(config.betaEnd));
    for (let i = 0; i < n; i++) {
      const s = Math.fround(linspaceAt(a, b, n, i));
      betas[i] = Math.fround(s * s);
    }
  }
  const out = new Float64Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= Math.fround(1 - betas[i]);
    out[i] = Math.fround(acc);
  }
  return out;
}

/** torch.linspace's element i (it fills the two halves from each end to stay symmetric). */
function linspaceAt(start: number, end: number, steps: number, i: number): number {
  if (steps === 1) return start;
  const step = (end - start) / (steps - 1);
  return i < Math.floor(steps / 2) ? start + step * i : end - step * (steps - 1 - i);
}

/** numpy's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace(start, stop, num) in float64. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(start + i * step);
  // numpy sets the endpoint exactly.
  out[num - 1] = stop;
  return out;
}

/** numpy.interp on the grid 0..len-1 (what diffusers uses to turn timesteps into sigmas). */
export function interpOnIndexGrid(t: number, values: ArrayLike<number>): number {
  const last = values.length - 1;
  if (t <= 0) return values[0];
  if (t >= last) return values[last];
  const i = Math.floor(t);
  const f = t - i;
  return f === 0 ? values[i] : values[i] + (values[i + 1] - values[i]) * f;
}

/** σ_i = √((1 − ᾱ_i)/ᾱ_i), rounded to float32 as diffusers' float32 tensors are. */
export function sigmasFromAlphas(alphas: Float64Array): Float64Array {
  const out = new Float64Array(alphas.length);
  for (let i = 0; i < alphas.length; i++) {
    out[i] = Math.fround(Math.sqrt(Math.fround(Math.fround(1 - alphas[i]) / alphas[i])));
  }
  return out;
}

export function checkSteps(name: SchedulerName, config: SchedulerConfig, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > config.numTrainTimesteps) {
    throw new PipelineError(
      'bad-option',
      `${CLASS_NAMES[name]}: number of inference steps must be an integer from 1 to ${config.numTrainTimesteps}, got ${n}`,
    );
  }
}

/** Every history slot the steps read or write (all but 'x' and 'eps'), in first-use order. */
export function collectSlots(steps: readonly StepPlan[]): Slot[] {
  const seen = new Set<Slot>();
  for (const step of steps) {
    for (const op of step.ops) {
      for (const slot of [op.out, ...op.terms.map((t) => t.slot)]) {
        if (slot !== 'x' && slot !== 'eps') seen.add(slot);
      }
    }
  }
  return [...seen];
}
