/**
 * Euler (diffusers EulerDiscreteScheduler), ε-prediction, no churn (γ = 0), linear interpolation.
 *
 * σ_i = √((1−ᾱ_i)/ᾱ_i); σ_k = interp(t_k) and σ_N = 0. The UNet sees x/√(σ_k²+1) and the float t_k.
 *   x̂0 = x − σ_k·ε,   x' = x + (σ_{k+1} − σ_k)·ε
 * The initial latents are multiplied by max σ (or √(max σ² + 1) with "leading" spacing).
 */
import {
  alphasCumprod,
  checkSteps,
  interpOnIndexGrid,
  npLinspace,
  readSchedulerConfig,
  roundHalfEven,
  sigmasFromAlphas,
  type Plan,
  type Scheduler,
  type SchedulerConfig,
  type StepPlan,
} from './common';

/** diffusers EulerDiscreteScheduler.set_timesteps: float32 timesteps, descending. */
export function eulerTimesteps(config: SchedulerConfig, n: number): number[] {
  const T = config.numTrainTimesteps;
  switch (config.timestepSpacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n).map(Math.fround).reverse();
    case 'leading': {
      const ratio = Math.floor(T / n);
      const out: number[] = [];
      for (let k = n - 1; k >= 0; k--) out.push(Math.fround(k * ratio + config.stepsOffset));
      return out;
    }
    case 'trailing': {
      const ratio = T / n;
      const count = Math.ceil(T / ratio);
      return Array.from({ length: count }, (_, i) => Math.fround(roundHalfEven(T - i * ratio) - 1));
    }
  }
}

export class EulerDiscreteScheduler implements Scheduler {
  readonly name = 'euler' as const;
  readonly config: SchedulerConfig;
  private readonly sigmaTable: Float64Array;

  constructor(raw: Readonly<Record<string, unknown>>) {
    this.config = readSchedulerConfig('euler', raw);
    this.sigmaTable = sigmasFromAlphas(alphasCumprod(this.config));
  }

  /** σ_0..σ_N (σ_N = 0), float32 values as diffusers stores them. */
  sigmas(n: number): number[] {
    const ts = eulerTimesteps(this.config, n);
    return [...ts.map((t) => Math.fround(interpOnIndexGrid(t, this.sigmaTable))), 0];
  }

  plan(n: number): Plan {
    checkSteps(this.name, this.config, n);
    const ts = eulerTimesteps(this.config, n);
    const sigmas = this.sigmas(n);
    const maxSigma = Math.max(...sigmas);
    const initNoiseSigma =
      this.config.timestepSpacing === 'leading' ? Math.fround(Math.sqrt(maxSigma * maxSigma + 1)) : maxSigma;
    const steps: StepPlan[] = ts.map((t, k) => ({
      timestep: t,
      inputScale: 1 / Math.sqrt(sigmas[k] * sigmas[k] + 1),
      x0: [
        { slot: 'x', c: 1 },
        { slot: 'eps', c: -sigmas[k] },
      ],
      ops: [
        {
          out: 'x',
          terms: [
            { slot: 'x', c: 1 },
            { slot: 'eps', c: sigmas[k + 1] - sigmas[k] },
          ],
        },
      ],
    }));
    return { scheduler: this.name, numInferenceSteps: n, initNoiseSigma, steps, slots: [] };
  }
}
