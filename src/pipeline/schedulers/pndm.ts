/**
 * PNDM with skip_prk_steps = true, i.e. PLMS (diffusers PNDMScheduler.step_plms), ε-prediction.
 *
 * N inference steps make N+1 UNet calls: the second call repeats the first step with the averaged
 * ε (a Heun-like correction); after that, Adams–Bashforth combinations of up to four stored ε's.
 * Update (formula 9 of the PNDM paper), with ᾱ' = ᾱ[t'] or the final ᾱ when t' < 0:
 *   x' = √(ᾱ'/ᾱ_t)·x − (ᾱ' − ᾱ_t)·e / (ᾱ_t·√(1−ᾱ') + √(ᾱ_t(1−ᾱ_t)ᾱ'))
 */
import { PipelineError } from '../../model/errors';
import {
  alphasCumprod,
  checkSteps,
  collectSlots,
  npLinspace,
  readSchedulerConfig,
  roundHalfEven,
  type LinOp,
  type Plan,
  type Scheduler,
  type SchedulerConfig,
  type Slot,
  type StepPlan,
  type Term,
} from './common';

/** The ascending `_timesteps` of diffusers PNDMScheduler.set_timesteps. */
function ascendingTimesteps(config: SchedulerConfig, n: number): number[] {
  const T = config.numTrainTimesteps;
  switch (config.timestepSpacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n).map(roundHalfEven);
    case 'leading': {
      const ratio = Math.floor(T / n);
      return Array.from({ length: n }, (_, k) => k * ratio + config.stepsOffset);
    }
    case 'trailing': {
      const ratio = T / n;
      const count = Math.ceil(T / ratio);
      const desc = Array.from({ length: count }, (_, i) => roundHalfEven(T - i * ratio));
      return desc.reverse().map((t) => t - 1);
    }
  }
}

/** The order of UNet calls: reverse([_t[:-1], _t[-2:-1], _t[-1:]]). */
export function pndmTimesteps(config: SchedulerConfig, n: number): number[] {
  const t = ascendingTimesteps(config, n);
  return [...t.slice(0, -1), ...t.slice(-2, -1), ...t.slice(-1)].reverse();
}

const ETS_SLOTS: readonly Slot[] = ['e0', 'e1', 'e2', 'e3'];

export class PNDMScheduler implements Scheduler {
  readonly name = 'pndm' as const;
  readonly config: SchedulerConfig;
  private readonly alphas: Float64Array;
  private readonly finalAlpha: number;

  constructor(raw: Readonly<Record<string, unknown>>) {
    this.config = readSchedulerConfig('pndm', raw);
    if (!this.config.skipPrkSteps) {
      throw new PipelineError(
        'unsupported-config',
        'scheduler config: PNDMScheduler with skip_prk_steps=false (Runge–Kutta warm-up) is not implemented; set skip_prk_steps=true (PLMS), as Stable Diffusion configs do',
      );
    }
    this.alphas = alphasCumprod(this.config);
    this.finalAlpha = this.config.setAlphaToOne ? 1 : this.alphas[0];
  }

  plan(n: number): Plan {
    checkSteps(this.name, this.config, n);
    const ratio = Math.floor(this.config.numTrainTimesteps / n);
    const calls = pndmTimesteps(this.config, n);
    let ets: Slot[] = [];
    const steps: StepPlan[] = calls.map((callT, counter) => {
      const ops: LinOp[] = [];
      let t = callT;
      let prev = t - ratio;
      if (counter !== 1) {
        const keep = ets.slice(-3);
        const slot = ETS_SLOTS.find((s) => !keep.includes(s)) as Slot;
        ops.push({ out: slot, terms: [{ slot: 'eps', c: 1 }] });
        ets = [...keep, slot];
      } else {
        prev = t;
        t = t + ratio;
      }
      const E = (k: number): Slot => ets[ets.length - k];
      let sample: Slot = 'x';
      let e: Term[];
      if (ets.length === 1 && counter === 0) {
        e = [{ slot: 'eps', c: 1 }];
        // cur_sample: the second call redoes this step from the same x.
        if (calls.length > 1) ops.push({ out: 'cur', terms: [{ slot: 'x', c: 1 }] });
      } else if (ets.length === 1 && counter === 1) {
        e = [
          { slot: 'eps', c: 0.5 },
          { slot: E(1), c: 0.5 },
        ];
        sample = 'cur';
      } else if (ets.length === 2) {
        e = [
          { slot: E(1), c: 3 / 2 },
          { slot: E(2), c: -1 / 2 },
        ];
      } else if (ets.length === 3) {
        e = [
          { slot: E(1), c: 23 / 12 },
          { slot: E(2), c: -16 / 12 },
          { slot: E(3), c: 5 / 12 },
        ];
      } else {
        e = [
          { slot: E(1), c: 55 / 24 },
          { slot: E(2), c: -59 / 24 },
          { slot: E(3), c: 37 / 24 },
          { slot: E(4), c: -9 / 24 },
        ];
      }
      const at = this.alphas[t];
      const ap = prev >= 0 ? this.alphas[prev] : this.finalAlpha;
      const sampleCoeff = Math.sqrt(ap / at);
      const denom = at * Math.sqrt(1 - ap) + Math.sqrt(at * (1 - at) * ap);
      const k = -(ap - at) / denom;
      ops.push({ out: 'x', terms: [{ slot: sample, c: sampleCoeff }, ...e.map((term) => ({ slot: term.slot, c: term.c * k }))] });
      // The preview uses the DDIM x̂0 at the timestep the UNet was called with.
      const ac = this.alphas[callT];
      return {
        timestep: callT,
        inputScale: 1,
        x0: [
          { slot: 'x', c: 1 / Math.sqrt(ac) },
          { slot: 'eps', c: -Math.sqrt(1 - ac) / Math.sqrt(ac) },
        ],
        ops,
      };
    });
    return { scheduler: this.name, numInferenceSteps: n, initNoiseSigma: 1, steps, slots: collectSlots(steps) };
  }
}
