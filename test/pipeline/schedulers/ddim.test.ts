import { describe, expect, it } from 'vitest';
import { DDIMScheduler, ddimTimesteps } from '../../../src/pipeline/schedulers/ddim';
import { readSchedulerConfig } from '../../../src/pipeline/schedulers/common';
import { LDM3D_PANO_SCHEDULER, compareWithReference } from './helpers';
import { refDdim } from './reference';

describe('DDIM', () => {
  const sched = new DDIMScheduler(LDM3D_PANO_SCHEDULER);

  it('uses "leading" timesteps with steps_offset 1: N=50 → 981, 961, …, 1; N=49 → 961, …, 1', () => {
    const t50 = sched.plan(50).steps.map((s) => s.timestep);
    expect(t50.length).toBe(50);
    expect(t50[0]).toBe(981);
    expect(t50[1]).toBe(961);
    expect(t50[49]).toBe(1);
    const t49 = sched.plan(49).steps.map((s) => s.timestep);
    expect(t49[0]).toBe(961);
    expect(t49[48]).toBe(1);
    expect(sched.plan(1).steps.map((s) => s.timestep)).toEqual([1]);
  });

  it('supports the other spacings as diffusers computes them', () => {
    const cfg = (spacing: string) => readSchedulerConfig('ddim', { ...LDM3D_PANO_SCHEDULER, timestep_spacing: spacing });
    expect(ddimTimesteps(cfg('linspace'), 4)).toEqual([999, 666, 333, 0]);
    expect(ddimTimesteps(cfg('trailing'), 4)).toEqual([999, 749, 499, 249]);
    expect(ddimTimesteps(cfg('trailing'), 3)).toEqual([999, 666, 332]);
  });

  it('is deterministic with σ = 1 and no input scaling', () => {
    const plan = sched.plan(5);
    expect(plan.initNoiseSigma).toBe(1);
    expect(plan.slots).toEqual([]);
    for (const s of plan.steps) expect(s.inputScale).toBe(1);
  });

  it('matches diffusers step() for N = 1, 5, 20, 50 with and without guidance', () => {
    for (const n of [1, 5, 20, 50]) {
      for (const g of [null, 7]) {
        const { maxRel } = compareWithReference(sched, refDdim(LDM3D_PANO_SCHEDULER, n), n, g);
        expect(maxRel, `N=${n} g=${g}`).toBeLessThan(1e-5);
      }
    }
  });
});
