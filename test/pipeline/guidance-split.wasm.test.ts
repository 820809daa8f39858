/**
 * Classifier-free guidance as two batch-1 UNet calls per step (LoadOptions.guidanceBatch 'split',
 * the staged default; issue #4) on WASM: every diffusers golden case with its per-step latents,
 * split vs batched (≤ 1e-5), the UNet really runs at batch 1 in diffusers' order (uncond, then
 * cond), the defaults per memory policy, and a cancel between the two calls of a step.
 * WebGPU: guidance-split.webgpu.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { preferLiftoff } from '../../src/node/webgpu';
import { cpuTensor } from '../../src/runtime/ort';
import { isPipelineError } from '../../src/model/errors';
import { CpuExecutor } from '../../src/pipeline/latents';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { randomNormals } from '../../src/pipeline/prng';
import { createScheduler, SCHEDULER_NAMES } from '../../src/pipeline/schedulers/index.ts';
import { loadCases, maxAbsDiff } from './goldens';
import { cancelBetweenCalls, spyOnUNet } from './guidance-split-helpers';
import { caseOptions, expectGolden, runtimeOf, spyOnSessions } from './memory-helpers';
import { runCase, TOLERANCE } from './parity';
import { LDM3D_PANO_SCHEDULER } from './schedulers/helpers';

const MODELS = 'models/tiny/ldm3d-pano';

describe('CpuExecutor with split guidance', () => {
  const shape = { channels: 4, height: 6, width: 10 };
  const n = 4 * 6 * 10;

  for (const name of SCHEDULER_NAMES) {
    it(`${name}: two batch-1 outputs give bit for bit what their batch-2 concatenation gives`, async () => {
      const plan = createScheduler(name, LDM3D_PANO_SCHEDULER).plan(6);
      const init = randomNormals(5, n);
      const batched = new CpuExecutor(shape, plan, init, 7.5);
      const split = new CpuExecutor(shape, plan, init, 7.5, true);
      const [hu, hc] = split.embeddings(Float32Array.from({ length: 2 * 3 * 8 }, (_, i) => i), [2, 3, 8]);
      expect([hu.dims, hc.dims]).toEqual([
        [1, 3, 8],
        [1, 3, 8],
      ]);
      expect(Array.from(hc.data as Float32Array)[0]).toBe(24);
      for (let i = 0; i < plan.steps.length; i++) {
        const step = plan.steps[i];
        const input = split.unetInput(step);
        expect(input.dims).toEqual([1, 4, 6, 10]);
        expect(Array.from(input.data as Float32Array)).toEqual(Array.from((batched.unetInput(step).data as Float32Array).subarray(0, n)));
        const eps = randomNormals(100 + i, 2 * n);
        const pb = await batched.apply(step, [cpuTensor('float32', eps, [2, 4, 6, 10])], true);
        const ps = await split.apply(step, [cpuTensor('float32', eps.slice(0, n), [1, 4, 6, 10]), cpuTensor('float32', eps.slice(n), [1, 4, 6, 10])], true);
        expect(Array.from(await split.readX()), `step ${i}`).toEqual(Array.from(await batched.readX()));
        expect(ps!.rgba).toEqual(pb!.rgba);
      }
      // A batch-2 output, or one output, is refused in split mode rather than misread.
      await expect(split.apply(plan.steps[0], [cpuTensor('float32', new Float32Array(2 * n), [2, 4, 6, 10])], false)).rejects.toThrow(/2 UNet output/);
      await expect(
        split.apply(plan.steps[0], [cpuTensor('float32', new Float32Array(2 * n), [2, 4, 6, 10]), cpuTensor('float32', new Float32Array(n), [1, 4, 6, 10])], false),
      ).rejects.toThrow(/has 480 values, expected 240/);
    });
  }
});

describe('Ldm3dPipeline guidanceBatch (wasm)', () => {
  let split: Ldm3dPipeline;
  let batched: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    split = await Ldm3dPipeline.load(await folderSource(MODELS, { verify: true }), { backend: 'wasm', guidanceBatch: 'split' });
    batched = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', guidanceBatch: 'batched' });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await split?.dispose();
    await batched?.dispose();
  });

  it("'auto' is split when staged and batched when resident; the model line says so; a bad value fails the load", async () => {
    expect(split.guidanceBatch).toBe('split');
    expect(split.runtimeSummary).toBe('WASM (CPU); all stages kept loaded; guidance as two UNet calls');
    expect(batched.runtimeSummary).toBe('WASM (CPU); all stages kept loaded');
    const resident = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'resident' });
    const staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged' });
    const stagedBatched = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged', guidanceBatch: 'batched' });
    try {
      expect(resident.guidanceBatch).toBe('batched');
      expect(staged.guidanceBatch).toBe('split');
      expect(staged.runtimeSummary).toBe('WASM (CPU); one stage at a time, image decoded in 256 px tiles; guidance as two UNet calls');
      expect(stagedBatched.guidanceBatch).toBe('batched');
    } finally {
      await resident.dispose();
      await staged.dispose();
      await stagedBatched.dispose();
    }
    // @ts-expect-error: a value the type refuses, as plain JS could pass it.
    const err = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', guidanceBatch: 'halves' }).catch((e: unknown) => e);
    expect(isPipelineError(err, 'bad-option')).toBe(true);
    expect((err as Error).message).toMatch(/guidanceBatch must be 'batched', 'split' or 'auto', got halves/);
  });

  it('reproduces every golden case (RGB, depth within 2e-3; latents after every step) with split guidance', async () => {
    const errors = [];
    for (const c of loadCases().cases) errors.push(await runCase(split, c));
    console.table(errors);
    for (const e of errors) {
      expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
    }
  });

  it('split and batched agree to 1e-5 on every case, latents after every step included', async () => {
    const worst = { rgb: 0, depth: 0, latents: 0 };
    for (const c of loadCases().cases) {
      const steps: Float32Array[] = [];
      const b = await batched.generate(caseOptions(c.name, { onStepLatents: (_, x) => steps.push(x) }));
      let latents = 0;
      const s = await split.generate(caseOptions(c.name, { onStepLatents: (k, x) => (latents = Math.max(latents, maxAbsDiff(x, steps[k - 1]))) }));
      worst.rgb = Math.max(worst.rgb, maxAbsDiff(s.rgbFloat, b.rgbFloat));
      worst.depth = Math.max(worst.depth, maxAbsDiff(s.depth, b.depth));
      worst.latents = Math.max(worst.latents, latents);
    }
    console.log(`split vs batched, worst over the cases: rgb ${worst.rgb.toExponential(2)} depth ${worst.depth.toExponential(2)} latents ${worst.latents.toExponential(2)}`);
    expect(worst.rgb).toBeLessThanOrEqual(1e-5);
    expect(worst.depth).toBeLessThanOrEqual(1e-5);
    expect(worst.latents).toBeLessThanOrEqual(1e-5);
  });

  it('split: the UNet session is batch 1 and runs twice per step, uncond first; batched: once per step at batch 2', async () => {
    const name = 'negative-prompt';
    const steps = loadCases().cases.find((k) => k.name === name)!.num_inference_steps;
    // A fresh split pipeline: its UNet session is created at load, for batch 1.
    let spy = spyOnUNet();
    const fresh = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', guidanceBatch: 'split' });
    try {
      expect(spy.shapes).toEqual([{ batch: 1, latentHeight: 8, latentWidth: 16 }]);
      await fresh.generate(caseOptions(name));
      expect(spy.shapes, 'no other UNet session').toHaveLength(1);
    } finally {
      await fresh.dispose();
    }
    expect(spy.calls).toHaveLength(2 * steps);
    for (const c of spy.calls) {
      expect(c.sample).toEqual([1, 4, 8, 16]);
      expect(c.hidden).toEqual([1, 77, 32]);
    }
    const splitCalls = spy.calls;
    vi.restoreAllMocks();

    spy = spyOnUNet();
    await batched.generate(caseOptions(name));
    expect(spy.calls).toHaveLength(steps);
    for (const c of spy.calls) expect(c.sample).toEqual([2, 4, 8, 16]);
    // diffusers' order: [negative, prompt] halves of the batch = the split calls' order.
    const half = 77 * 32;
    for (let s = 0; s < steps; s++) {
      expect(splitCalls[2 * s].hiddenData, `step ${s} uncond`).toEqual(spy.calls[s].hiddenData!.subarray(0, half));
      expect(splitCalls[2 * s + 1].hiddenData, `step ${s} cond`).toEqual(spy.calls[s].hiddenData!.subarray(half));
    }
    expect(maxAbsDiff(splitCalls[0].hiddenData!, splitCalls[1].hiddenData!)).toBeGreaterThan(1e-3);

    // Guidance ≤ 1: one batch-1 call per step in either mode.
    vi.restoreAllMocks();
    spy = spyOnUNet();
    await split.generate(caseOptions('guidance-1'));
    expect(spy.calls.map((c) => c.sample[0])).toEqual([1, 1, 1, 1, 1]);
  });

  it('a staged generation cancelled between the two calls of a step rejects, releases the UNet, and the next one works', async () => {
    const staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged', vaeTiling: 'off' });
    try {
      expect(staged.guidanceBatch).toBe('split');
      const sessions = spyOnSessions();
      // Aborted right after step 2's uncond call: the cond call must not run.
      const { err, spy } = await cancelBetweenCalls(staged);
      expect(isPipelineError(err, 'cancelled')).toBe(true);
      expect(spy.calls).toHaveLength(3);
      expect(sessions.live(runtimeOf(staged))).toEqual([]);
      expect(sessions.released).toEqual(['text_encoder', 'unet']);
      vi.restoreAllMocks();
      const ref = await batched.generate(caseOptions('ddim-20-cfg7'));
      const out = await staged.generate(caseOptions('ddim-20-cfg7'));
      expectGolden('ddim-20-cfg7', out);
      expect(maxAbsDiff(out.rgbFloat, ref.rgbFloat)).toBeLessThanOrEqual(1e-5);
    } finally {
      await staged.dispose();
    }
  });
});
