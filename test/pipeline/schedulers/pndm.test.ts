import { describe, expect, it } from 'vitest';
import { PNDMScheduler } from '../../../src/pipeline/schedulers/pndm';
import { LDM3D_PANO_SCHEDULER, compareWithReference } from './helpers';
import { refPndm } from './reference';

describe('PNDM (PLMS)', () => {
  const sched = new PNDMScheduler(LDM3D_PANO_SCHEDULER);

  it('makes N+1 UNet calls: 981, 961, 961, 941, …, 21, 1 for N = 50', () => {
    const t = sched.plan(50).steps.map((s) => s.timestep);
    expect(t.length).toBe(51);
    expect(t.slice(0, 4)).toEqual([981, 961, 961, 941]);
    expect(t.slice(-2)).toEqual([21, 1]);
    expect(sched.plan(1).steps.map((s) => s.timestep)).toEqual([1]);
    expect(sched.plan(2).steps.map((s) => s.timestep)).toEqual([501, 1, 1]);
  });

  it('keeps at most four ε buffers plus the saved sample', () => {
    expect([...sched.plan(20).slots].sort()).toEqual(['cur', 'e0', 'e1', 'e2', 'e3']);
    expect(sched.plan(1).slots).toEqual(['e0']);
  });

  it('matches diffusers step_plms() for N = 1, 2, 5, 20, 50 with and without guidance', () => {
    for (const n of [1, 2, 5, 20, 50]) {
      for (const g of [null, 5]) {
        const { maxRel, calls } = compareWithReference(sched, refPndm(LDM3D_PANO_SCHEDULER, n), n, g);
        expect(calls).toBe(n === 1 ? 1 : n + 1);
        expect(maxRel, `N=${n} g=${g}`).toBeLessThan(1e-5);
      }
    }
  });
});
