/**
 * Split guidance (two batch-1 UNet calls per step, the staged default) on WebGPU (Dawn in Node;
 * SwiftShader here, so few and short cases): the GPU executor combines the two outputs bit for bit
 * as the halves of one batch-2 output; a staged pipeline reproduces the diffusers goldens with a
 * batch-1 UNet; a cancel between the two calls of a step frees everything (GPU buffers counted from
 * JavaScript, bench/lib/gpu-buffers.ts); the warm-up warms the shapes the generation uses.
 * WASM (every case, per-step latents, split vs batched): guidance-split.wasm.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { gpuTensor } from '../../src/runtime/ort';
import { isPipelineError } from '../../src/model/errors';
import { GpuExecutor } from '../../src/pipeline/latents-gpu';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline, type GenerateResult } from '../../src/pipeline/pano/pipeline';
import { randomNormals } from '../../src/pipeline/prng';
import { createScheduler, SCHEDULER_NAMES } from '../../src/pipeline/schedulers/index.ts';
import { GpuBufferTracker } from '../../bench/lib/gpu-buffers';
import { loadCases, maxAbsDiff } from './goldens';
import { useGpuKernels } from './gpu-fixture';
import { cancelBetweenCalls, spyOnUNet } from './guidance-split-helpers';
import { caseOptions, expectGolden, runtimeOf, spyOnSessions } from './memory-helpers';
import { runCase, TOLERANCE } from './parity';
import { LDM3D_PANO_SCHEDULER } from './schedulers/helpers';

const MODELS = 'models/tiny/ldm3d-pano';
const TIMEOUT = 600_000;

function deviceOf(p: Ldm3dPipeline): GPUDevice {
  const d = runtimeOf(p).device;
  if (!d) throw new Error('no device');
  return d;
}

describe('GpuExecutor with split guidance', () => {
  const gpu = useGpuKernels();

  const shape = { channels: 4, height: 6, width: 10 };
  const n = 4 * 6 * 10;

  for (const name of SCHEDULER_NAMES) {
    it(`${name}: two batch-1 outputs give bit for bit what their batch-2 concatenation gives`, async () => {
      const device = gpu.device;
      const plan = createScheduler(name, LDM3D_PANO_SCHEDULER).plan(6);
      const init = randomNormals(7, n);
      const batched = await GpuExecutor.create(gpu.kernels, shape, plan, init, 7.5);
      const split = await GpuExecutor.create(gpu.kernels, shape, plan, init, 7.5, true);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const both = device.createBuffer({ size: 4 * 2 * n, usage });
      const uncond = device.createBuffer({ size: 4 * n, usage });
      const text = device.createBuffer({ size: 4 * n, usage });
      try {
        const hidden = split.embeddings(new Float32Array(2 * 3 * 8), [2, 3, 8]);
        expect(hidden.map((h) => h.dims)).toEqual([
          [1, 3, 8],
          [1, 3, 8],
        ]);
        for (let i = 0; i < plan.steps.length; i++) {
          const step = plan.steps[i];
          expect(split.unetInput(step).dims).toEqual([1, 4, 6, 10]);
          batched.unetInput(step);
          const eps = randomNormals(200 + i, 2 * n);
          device.queue.writeBuffer(both, 0, eps);
          device.queue.writeBuffer(uncond, 0, eps, 0, n);
          device.queue.writeBuffer(text, 0, eps, n, n);
          const pb = await batched.apply(step, [gpuTensor(both, 'float32', [2, 4, 6, 10])], true);
          const ps = await split.apply(step, [gpuTensor(uncond, 'float32', [1, 4, 6, 10]), gpuTensor(text, 'float32', [1, 4, 6, 10])], true);
          expect(Array.from(await split.readX()), `step ${i}`).toEqual(Array.from(await batched.readX()));
          expect(ps!.rgba).toEqual(pb!.rgba);
        }
        await expect(split.apply(plan.steps[0], [gpuTensor(both, 'float32', [2, 4, 6, 10])], false)).rejects.toThrow(/expected 2 UNet output/);
      } finally {
        batched.dispose();
        split.dispose();
        both.destroy();
        uncond.destroy();
        text.destroy();
      }
    });
  }
});

describe('Ldm3dPipeline with split guidance on WebGPU', () => {
  const tracker = new GpuBufferTracker();
  let staged: Ldm3dPipeline;
  let idle = 0;
  beforeAll(async () => {
    installNodeWebGPU();
    tracker.install();
    // 'auto' resolves to split when staged.
    staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'staged' });
    idle = tracker.liveBytesOn(deviceOf(staged));
  }, TIMEOUT);
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await staged?.dispose();
    tracker.uninstall();
  });

  for (const name of ['ddim-1-step', 'negative-prompt']) {
    it(`staged: golden case ${name} within 2e-3 with a batch-1 UNet, twice per step; the GPU buffers go back to idle`, async () => {
      expect(staged.guidanceBatch).toBe('split');
      const c = loadCases().cases.find((k) => k.name === name)!;
      const spy = spyOnUNet();
      const e = await runCase(staged, c, false);
      console.log(`webgpu split ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)}`);
      expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
      expect(spy.shapes).toEqual([{ batch: 1, latentHeight: 8, latentWidth: 16 }]);
      expect(spy.calls).toHaveLength(2 * c.num_inference_steps);
      for (const call of spy.calls) expect([call.sample, call.hidden]).toEqual([
        [1, 4, 8, 16],
        [1, 77, 32],
      ]);
      expect(tracker.liveBytesOn(deviceOf(staged)), 'back to idle').toBe(idle);
    }, TIMEOUT);
  }

  it('cancelled between the two calls of a step: rejects, frees every buffer, and the next generation works', async () => {
    const sessions = spyOnSessions();
    // Right after step 2's uncond call: its output is alive, the cond call must not run.
    const { err, spy } = await cancelBetweenCalls(staged);
    expect(isPipelineError(err, 'cancelled')).toBe(true);
    expect(spy.calls).toHaveLength(3);
    expect(sessions.live(runtimeOf(staged))).toEqual([]);
    expect(tracker.liveBytesOn(deviceOf(staged)), 'the executor and ORT freed everything').toBe(idle);
    vi.restoreAllMocks();
    expectGolden('ddim-1-step', await staged.generate(caseOptions('ddim-1-step')));
    expect(tracker.liveBytesOn(deviceOf(staged))).toBe(idle);
  }, TIMEOUT);

  it('the GPU buffers live during a denoising step peak lower split than batched (staged, same results within 2e-3)', async () => {
    const batched = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'staged', guidanceBatch: 'batched' });
    try {
      // The peak over step 2 (its UNet call(s) and update): the session and its buffers, no load,
      // text encoder or VAE in it.
      const stepPeak = async (p: Ldm3dPipeline): Promise<{ peak: number; out: GenerateResult }> => {
        let peak = 0;
        const out = await p.generate(
          caseOptions('ddim-1-step', {
            steps: 2,
            onProgress: (s) => {
              if (s.step === 2) peak = tracker.stats().peakBytes;
              tracker.resetPeak();
            },
          }),
        );
        return { peak, out };
      };
      const { peak: split, out: a } = await stepPeak(staged);
      const { peak: whole, out: b } = await stepPeak(batched);
      expect(maxAbsDiff(a.rgbFloat, b.rgbFloat)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(a.depth, b.depth)).toBeLessThanOrEqual(TOLERANCE);
      console.log(`GPU buffer peak during a step (tiny model, staged): batched ${(whole / 1024).toFixed(0)} KiB, split ${(split / 1024).toFixed(0)} KiB`);
      expect(split).toBeGreaterThan(0);
      expect(split).toBeLessThan(whole);
    } finally {
      await batched.dispose();
    }
  }, TIMEOUT);

  it('warm-up runs the UNet at batch 1; resident + split: the next default generation creates nothing', async () => {
    let spy = spyOnUNet();
    const w = await staged.warmUp();
    expect(w.batch).toBe(1);
    expect(spy.calls.map((c) => c.sample)).toEqual([[1, 4, 8, 16]]);
    expect(spy.shapes).toEqual([{ batch: 1, latentHeight: 8, latentWidth: 16 }]);
    vi.restoreAllMocks();

    const resident = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'resident', guidanceBatch: 'split' });
    try {
      expect(resident.runtimeSummary).toMatch(/all stages kept loaded; guidance as two UNet calls$/);
      expect((await resident.warmUp()).batch).toBe(1);
      const sessions = spyOnSessions();
      spy = spyOnUNet();
      // Guidance 7 (the manifest default), the default size: the warmed UNet is the one used.
      expectGolden('ddim-1-step', await resident.generate(caseOptions('ddim-1-step')));
      expect(sessions.created).toEqual([]);
      expect(spy.calls).toHaveLength(2);
    } finally {
      await resident.dispose();
    }
  }, TIMEOUT);
});
