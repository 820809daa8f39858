/**
 * Scheduler parity with diffusers: test/fixtures/goldens/schedulers.json holds, for each scheduler
 * and N ∈ {1, 5, 20, 49, 50}, the timesteps, init_noise_sigma and a 16-element trace
 * (model_input = scale_model_input(x, t); x = step(eps[k], t, x)) computed by diffusers in float32.
 */
import { describe, expect, it } from 'vitest';
import { loadSchedulerGoldens } from '../goldens';
import { CpuLatents } from '../../../src/pipeline/lincomb';
import { alphasCumprod, createScheduler, readSchedulerConfig, SCHEDULER_NAMES, type SchedulerName } from '../../../src/pipeline/schedulers/index.ts';

interface Run {
  num_inference_steps: number;
  timesteps: number[];
  init_noise_sigma: number;
  steps: Array<{ t: number; eps: number[]; model_input: number[]; x: number[] }>;
}
interface Doc {
  base_config: Record<string, unknown>;
  x0: number[];
  alphas_cumprod: number[];
  schedulers: Record<SchedulerName, { config: Record<string, unknown>; runs: Run[] }>;
}

const doc = loadSchedulerGoldens<Doc>();

const relErr = (got: ArrayLike<number>, want: readonly number[]): number => {
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / scale);
  return m;
};

describe('schedulers vs diffusers goldens', () => {
  it('computes alphas_cumprod like torch (float32)', () => {
    const a = alphasCumprod(readSchedulerConfig('ddim', doc.base_config));
    expect(relErr(a, doc.alphas_cumprod)).toBeLessThan(1e-6);
  });

  for (const name of SCHEDULER_NAMES) {
    describe(name, () => {
      // From the checkpoint's config, as the pipeline does: the class defaults fill the gaps.
      const sched = createScheduler(name, doc.base_config);
      for (const run of doc.schedulers[name].runs) {
        const n = run.num_inference_steps;
        it(`N=${n}: timesteps, init_noise_sigma, scale_model_input and every step within 1e-5`, () => {
          const plan = sched.plan(n);
          expect(plan.steps.map((s) => s.timestep)).toEqual(run.timesteps.map(Math.fround));
          expect(plan.initNoiseSigma).toBeCloseTo(run.init_noise_sigma, 5);
          const lat = new CpuLatents(16, plan, Float32Array.from(doc.x0), 1);
          plan.steps.forEach((step, k) => {
            const golden = run.steps[k];
            expect(step.timestep).toBe(Math.fround(golden.t));
            expect(relErr(lat.unetInput(step, 1), golden.model_input), `model_input ${k}`).toBeLessThan(1e-5);
            lat.apply(step, Float32Array.from(golden.eps), null);
            expect(relErr(lat.x, golden.x), `x after step ${k}`).toBeLessThan(1e-5);
          });
        });
      }
    });
  }
});
