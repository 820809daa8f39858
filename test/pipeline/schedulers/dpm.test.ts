import { describe, expect, it } from 'vitest';
import { DPMSolverMultistepScheduler } from '../../../src/pipeline/schedulers/dpm';
import { LDM3D_PANO_SCHEDULER, compareWithReference } from './helpers';
import { refDpm } from './reference';

describe('DPM-Solver++ 2M', () => {
  const sched = new DPMSolverMultistepScheduler(LDM3D_PANO_SCHEDULER);

  it('uses integer timesteps round(linspace(0, 999, N+1)) reversed without the last: 999, 979, …, 20 for N = 50', () => {
    const t = sched.plan(50).steps.map((s) => s.timestep);
    expect(t.length).toBe(50);
    expect(t[0]).toBe(999);
    expect(t[1]).toBe(979);
    expect(t[49]).toBe(20);
    // numpy rounds 166.5 to 166 (half to even).
    expect(sched.plan(6).steps.map((s) => s.timestep)).toEqual([999, 832, 666, 500, 333, 166]);
  });

  it('ends exactly on the predicted x̂0 (σ_N = 0) without NaNs', () => {
    const plan = sched.plan(5);
    const last = plan.steps[4].ops[1];
    expect(last.terms).toEqual([
      { slot: 'x', c: 0 },
      { slot: 'm0', c: 1 },
    ]);
    for (const s of plan.steps) for (const op of s.ops) for (const t of op.terms) expect(Number.isFinite(t.c)).toBe(true);
  });

  it('matches diffusers step() for N = 1, 2, 5, 20, 50 with and without guidance', () => {
    for (const n of [1, 2, 5, 20, 50]) {
      for (const g of [null, 7]) {
        const { maxRel } = compareWithReference(sched, refDpm(LDM3D_PANO_SCHEDULER, n), n, g);
        expect(maxRel, `N=${n} g=${g}`).toBeLessThan(1e-5);
      }
    }
  });
});
