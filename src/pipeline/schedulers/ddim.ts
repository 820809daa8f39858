/**
 * DDIM (diffusers DDIMScheduler) with ε-prediction and η = 0, the ldm3d-pano default.
 *
 * Step at t with t' = t − ⌊T/N⌋ (ᾱ' = ᾱ[t'], or the final ᾱ when t' < 0):
 *   x̂0 = (x − √(1−ᾱ_t)·ε)/√ᾱ_t,   x' = √ᾱ'·x̂0 + √(1−ᾱ')·ε
 * which is x' = a·x + b·ε with a = √(ᾱ'/ᾱ_t), b = √(1−ᾱ') − √ᾱ'·√(1−ᾱ_t)/√ᾱ_t.
 */
import {
  alphasCumprod,
  checkSteps,
  readSchedulerConfig,
  roundHalfEven,
  npLinspace,
  type Plan,
  type Scheduler,
  type SchedulerConfig,
  type StepPlan,
} from './common';

/** diffusers DDIMScheduler.set_timesteps. */
export function ddimTimesteps(config: SchedulerConfig, n: number): number[] {
  const T = config.numTrainTimesteps;
  switch (config.timestepSpacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
    case 'leading': {
      const ratio = Math.floor(T / n);
      const out: number[] = [];
      for (let k = n - 1; k >= 0; k--) out.push(k * ratio + config.stepsOffset);
      return out;
    }
    case 'trailing': {
      const ratio = T / n;
      const out: number[] = [];
      // np.round(np.arange(T, 0, -ratio)) - 1; arange computes start + i·step, never a running sum.
      const count = Math.ceil(T / ratio);
      for (let i = 0; i < count; i++) out.push(roundHalfEven(T - i * ratio) - 1);
      return out;
    }
  }
}

export class DDIMScheduler implements Scheduler {
  readonly name = 'ddim' as const;
  readonly config: SchedulerConfig;
  private readonly alphas: Float64Array;
  private readonly finalAlpha: number;

  constructor(raw: Readonly<Record<string, unknown>>) {
    this.config = readSchedulerConfig('ddim', raw);
    this.alphas = alphasCumprod(this.config);
    this.finalAlpha = this.config.setAlphaToOne ? 1 : this.alphas[0];
  }

  plan(n: number): Plan {
    checkSteps(this.name, this.config, n);
    const ratio = Math.floor(this.config.numTrainTimesteps / n);
    const steps: StepPlan[] = ddimTimesteps(this.config, n).map((t) => {
      const prev = t - ratio;
      const at = this.alphas[t];
      const ap = prev >= 0 ? this.alphas[prev] : this.finalAlpha;
      const sa = Math.sqrt(at);
      const sb = Math.sqrt(1 - at);
      return {
        timestep: t,
        inputScale: 1,
        x0: [
          { slot: 'x', c: 1 / sa },
          { slot: 'eps', c: -sb / sa },
        ],
        ops: [
          {
            out: 'x',
            terms: [
              { slot: 'x', c: Math.sqrt(ap) / sa },
              { slot: 'eps', c: Math.sqrt(1 - ap) - (Math.sqrt(ap) * sb) / sa },
            ],
          },
        ],
      };
    });
    return { scheduler: this.name, numInferenceSteps: n, initNoiseSigma: 1, steps, slots: [] };
  }
}
