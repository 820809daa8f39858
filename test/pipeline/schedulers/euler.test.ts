import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler } from '../../../src/pipeline/schedulers/euler';
import { LDM3D_PANO_SCHEDULER, compareWithReference } from './helpers';
import { refEuler } from './reference';

describe('Euler', () => {
  const sched = new EulerDiscreteScheduler(LDM3D_PANO_SCHEDULER);

  it('uses float "linspace" timesteps 999 … 0 and σ_N = 0', () => {
    const plan = sched.plan(4);
    expect(plan.steps.map((s) => s.timestep)).toEqual([999, 666, 333, 0]);
    const t7 = sched.plan(7).steps.map((s) => s.timestep);
    expect(t7[1]).toBe(Math.fround(832.5));
    const sig = sched.sigmas(4);
    expect(sig[4]).toBe(0);
    expect(sig[0]).toBeCloseTo(14.6146, 3);
  });

  it('scales the initial noise by max σ (≈ 14.6147) and the UNet input by 1/√(σ²+1)', () => {
    const plan = sched.plan(10);
    expect(plan.initNoiseSigma).toBeCloseTo(14.6147, 3);
    const sig = sched.sigmas(10);
    plan.steps.forEach((s, k) => expect(s.inputScale).toBeCloseTo(1 / Math.sqrt(sig[k] ** 2 + 1), 12));
  });

  it('matches diffusers step() for N = 1, 5, 20, 50 with and without guidance', () => {
    for (const n of [1, 5, 20, 50]) {
      for (const g of [null, 7]) {
        const { maxRel } = compareWithReference(sched, refEuler(LDM3D_PANO_SCHEDULER, n), n, g);
        expect(maxRel, `N=${n} g=${g}`).toBeLessThan(1e-5);
      }
    }
  });
});
