import { describe, expect, it } from 'vitest';
import {
  alphasCumprod,
  interpOnIndexGrid,
  npLinspace,
  readSchedulerConfig,
  roundHalfEven,
} from '../../../src/pipeline/schedulers/common';
import { createScheduler } from '../../../src/pipeline/schedulers/index.ts';
import { isPipelineError } from '../../../src/model/errors';
import { LDM3D_PANO_SCHEDULER } from './helpers';

describe('noise schedule', () => {
  const cfg = readSchedulerConfig('ddim', LDM3D_PANO_SCHEDULER);

  it('matches the spec check values ᾱ₀ = 0.99915 and ᾱ₉₉₉ ≈ 0.0046601', () => {
    const a = alphasCumprod(cfg);
    expect(a.length).toBe(1000);
    expect(a[0]).toBeCloseTo(0.99915, 7);
    expect(Math.abs(a[999] - 0.0046601) / 0.0046601).toBeLessThan(2e-5);
    for (let i = 1; i < 1000; i++) expect(a[i]).toBeLessThan(a[i - 1]);
    // Stored as float32, like torch's tensors.
    for (const v of a) expect(Math.fround(v)).toBe(v);
  });

  it('reads the ldm3d-pano config with the per-class defaults of from_config', () => {
    expect(cfg.timestepSpacing).toBe('leading');
    expect(cfg.setAlphaToOne).toBe(false);
    expect(cfg.stepsOffset).toBe(1);
    expect(readSchedulerConfig('euler', LDM3D_PANO_SCHEDULER).timestepSpacing).toBe('linspace');
    expect(readSchedulerConfig('dpm', LDM3D_PANO_SCHEDULER).timestepSpacing).toBe('linspace');
    expect(readSchedulerConfig('pndm', LDM3D_PANO_SCHEDULER).skipPrkSteps).toBe(true);
    // An explicit timestep_spacing in the config wins over the class default.
    expect(readSchedulerConfig('euler', { ...LDM3D_PANO_SCHEDULER, timestep_spacing: 'leading' }).timestepSpacing).toBe('leading');
  });

  it('refuses options that would make a step non-linear, naming the option', () => {
    const bad: Array<[Parameters<typeof createScheduler>[0], Record<string, unknown>, string]> = [
      ['ddim', { clip_sample: true }, 'clip_sample'],
      ['ddim', { prediction_type: 'v_prediction' }, 'prediction_type'],
      ['pndm', { skip_prk_steps: false }, 'skip_prk_steps'],
      ['euler', { use_karras_sigmas: true }, 'use_karras_sigmas'],
      ['dpm', { algorithm_type: 'sde-dpmsolver++' }, 'algorithm_type'],
      ['dpm', { solver_order: 3 }, 'solver_order'],
    ];
    for (const [name, patch, key] of bad) {
      let err: unknown;
      try {
        createScheduler(name, { ...LDM3D_PANO_SCHEDULER, ...patch });
      } catch (e) {
        err = e;
      }
      expect(isPipelineError(err, 'unsupported-config'), `${name} ${key}`).toBe(true);
      expect((err as Error).message).toContain(key);
    }
  });

  it('rejects step counts outside 1..num_train_timesteps', () => {
    const s = createScheduler('ddim', LDM3D_PANO_SCHEDULER);
    for (const n of [0, -1, 1.5, 1001]) expect(() => s.plan(n)).toThrow(/inference steps/);
  });
});

describe('numpy helpers', () => {
  it('rounds half to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 166.5, 499.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 166, 500, 2, 3]);
  });

  it('linspace hits both ends and interp matches linear interpolation', () => {
    const l = npLinspace(0, 999, 7);
    expect(l[0]).toBe(0);
    expect(l[6]).toBe(999);
    expect(l[3]).toBeCloseTo(499.5, 12);
    const v = [0, 10, 30];
    expect(interpOnIndexGrid(0.5, v)).toBe(5);
    expect(interpOnIndexGrid(1.25, v)).toBe(15);
    expect(interpOnIndexGrid(2, v)).toBe(30);
    expect(interpOnIndexGrid(5, v)).toBe(30);
  });
});
