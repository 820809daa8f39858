import { CpuLatents } from '../../../src/pipeline/lincomb';
import { randomNormals } from '../../../src/pipeline/prng';
import type { Scheduler } from '../../../src/pipeline/schedulers/common';
import type { RefScheduler } from './reference';

/** The ldm3d-pano scheduler/scheduler_config.json (spec §1). */
export const LDM3D_PANO_SCHEDULER = {
  _class_name: 'DDIMScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
} as const;

/**
 * Runs a plan on the CPU executor and the diffusers-style reference side by side, with a fake model
 * whose output depends on its input (so any divergence compounds) and optional guidance.
 * Returns the largest error relative to the trajectory's largest magnitude.
 */
export function compareWithReference(sched: Scheduler, ref: RefScheduler, n: number, guidance: number | null): { maxRel: number; calls: number } {
  const size = 64;
  const plan = sched.plan(n);
  const init = randomNormals(7, size);
  const lat = new CpuLatents(size, plan, init);
  let refX: Float64Array<ArrayBufferLike> = Float64Array.from(init, (v) => v * ref.initNoiseSigma);
  let maxRel = 0;
  const fake = (xIn: ArrayLike<number>, i: number, half: number): Float64Array => {
    const noise = randomNormals(1000 + 2 * i + half, size);
    return Float64Array.from({ length: size }, (_, j) => 0.5 * Math.tanh(xIn[j]) + 0.3 * noise[j]);
  };
  plan.steps.forEach((step, i) => {
    if (step.timestep !== ref.timesteps[i]) throw new Error(`step ${i}: timestep ${step.timestep} vs reference ${ref.timesteps[i]}`);
    const batch = guidance === null ? 1 : 2;
    const xIn = lat.unetInput(step, batch);
    const refIn = ref.scaleModelInput(refX, i);
    const eps = new Float32Array(batch * size);
    const u = fake(xIn.subarray(0, size), i, 0);
    eps.set(u);
    let refEps = Float64Array.from(fake(refIn, i, 0));
    if (guidance !== null) {
      const t = fake(xIn.subarray(size), i, 1);
      eps.set(t, size);
      const refT = fake(refIn, i, 1);
      refEps = Float64Array.from(refEps, (v, j) => v + guidance * (refT[j] - v));
    }
    lat.apply(step, eps, guidance);
    refX = ref.step(refEps, i, refX);
    const scale = Math.max(1, ...Array.from(refX, Math.abs));
    for (let j = 0; j < size; j++) maxRel = Math.max(maxRel, Math.abs(lat.x[j] - refX[j]) / scale);
  });
  return { maxRel, calls: plan.steps.length };
}
