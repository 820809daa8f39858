/**
 * DPM-Solver++ 2M (diffusers DPMSolverMultistepScheduler with its defaults: solver_order 2,
 * "midpoint", lower_order_final, final_sigmas_type "zero"), ε-prediction.
 *
 * σ_k as for Euler (σ_N = 0), α_k = 1/√(σ_k²+1), s_k = σ_k·α_k, λ_k = ln α_k − ln s_k.
 * Data prediction m_k = (x − s_k·ε)/α_k. With h = λ_{k+1} − λ_k and A = α_{k+1}(e^{−h} − 1):
 *   first order (step 0 and the last step):  x' = (s_{k+1}/s_k)·x − A·m_k
 *   second order: r0 = (λ_k − λ_{k−1})/h, x' = (s_{k+1}/s_k)·x − A·m_k − ½A·(m_k − m_{k−1})/r0
 * At σ_N = 0: λ = +∞, e^{−h} = 0, s = 0, so x' = m_k exactly (IEEE infinities do the right thing).
 */
import {
  alphasCumprod,
  checkSteps,
  collectSlots,
  interpOnIndexGrid,
  npLinspace,
  readSchedulerConfig,
  roundHalfEven,
  sigmasFromAlphas,
  type Plan,
  type Scheduler,
  type SchedulerConfig,
  type Slot,
  type StepPlan,
} from './common';

/** diffusers DPMSolverMultistepScheduler.set_timesteps (lambda_min_clipped = −∞): int64, descending. */
export function dpmTimesteps(config: SchedulerConfig, n: number): number[] {
  const T = config.numTrainTimesteps;
  const last = T; // T − searchsorted(flip(λ), −∞) = T
  switch (config.timestepSpacing) {
    case 'linspace':
      return npLinspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
    case 'leading': {
      const ratio = Math.floor(last / (n + 1));
      const out: number[] = [];
      for (let k = n; k >= 1; k--) out.push(k * ratio + config.stepsOffset);
      return out;
    }
    case 'trailing': {
      const ratio = T / n;
      const count = Math.ceil(last / ratio);
      return Array.from({ length: count }, (_, i) => roundHalfEven(last - i * ratio) - 1);
    }
  }
}

export class DPMSolverMultistepScheduler implements Scheduler {
  readonly name = 'dpm' as const;
  readonly config: SchedulerConfig;
  private readonly sigmaTable: Float64Array;

  constructor(raw: Readonly<Record<string, unknown>>) {
    this.config = readSchedulerConfig('dpm', raw);
    this.sigmaTable = sigmasFromAlphas(alphasCumprod(this.config));
  }

  sigmas(n: number): number[] {
    return [...dpmTimesteps(this.config, n).map((t) => Math.fround(interpOnIndexGrid(t, this.sigmaTable))), 0];
  }

  plan(n: number): Plan {
    checkSteps(this.name, this.config, n);
    const ts = dpmTimesteps(this.config, n);
    const sigma = this.sigmas(n);
    const alpha = sigma.map((s) => 1 / Math.sqrt(s * s + 1));
    const s = sigma.map((sg, k) => sg * alpha[k]);
    const lambda = alpha.map((a, k) => Math.log(a) - Math.log(s[k]));
    const mSlot = (k: number): Slot => (k % 2 === 0 ? 'm0' : 'm1');
    const steps: StepPlan[] = ts.map((t, k) => {
      const m = mSlot(k);
      const h = lambda[k + 1] - lambda[k];
      const A = alpha[k + 1] * (Math.exp(-h) - 1);
      const ratio = s[k + 1] / s[k];
      const firstOrder = k === 0 || k === ts.length - 1;
      const update = firstOrder
        ? [
            { slot: 'x', c: ratio },
            { slot: m, c: -A },
          ]
        : (() => {
            const r0 = (lambda[k] - lambda[k - 1]) / h;
            return [
              { slot: 'x', c: ratio },
              { slot: m, c: -A * (1 + 0.5 / r0) },
              { slot: mSlot(k - 1), c: (0.5 * A) / r0 },
            ];
          })();
      const x0 = [
        { slot: 'x', c: 1 / alpha[k] },
        { slot: 'eps', c: -s[k] / alpha[k] },
      ];
      return {
        timestep: t,
        inputScale: 1,
        x0,
        ops: [
          { out: m, terms: x0 },
          { out: 'x', terms: update },
        ],
      };
    });
    return { scheduler: this.name, numInferenceSteps: n, initNoiseSigma: 1, steps, slots: collectSlots(steps) };
  }
}
