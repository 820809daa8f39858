/**
 * DeepCache on WebGPU (Dawn; SwiftShader without a GPU). With the synthetic DeepCache export
 * (deepcache-helpers.ts): the cached deep features stay on the GPU (ORT gpu-buffer outputs), each is
 * freed once, the result equals WASM's (N = 1 too), split equals batched, and warmUp() runs the
 * shallow session too. With the exported model and the authors' goldens: every golden case within
 * 2e-3 on RGB and depth and the latents after every step (one test per case: SwiftShader is slow).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { installNodeWebGPU, preferLiftoff } from '../../src/node/webgpu';
import { OrtSession } from '../../src/runtime/ort';
import { deepCacheSchedule } from '../../src/pipeline/deepcache';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline, type GenerateOptions } from '../../src/pipeline/pano/pipeline';
import { maxAbsDiff } from './goldens';
import {
  DEEPCACHE_MODEL,
  expectDeepCacheCalls,
  loadDeepCacheCases,
  removeModel,
  runDeepCacheCase,
  spyOnDeepCache,
  syntheticDeepCacheModel,
} from './deepcache-helpers';
import { TOLERANCE } from './parity';

const CASE_TIMEOUT = 600_000;

describe('DeepCache on WebGPU with a synthetic DeepCache export', () => {
  let dir: string;
  let gpu: Ldm3dPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    preferLiftoff();
    dir = syntheticDeepCacheModel();
    gpu = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'webgpu', guidanceBatch: 'batched' });
  }, CASE_TIMEOUT);
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await gpu?.dispose();
    removeModel(dir);
  });

  const options: GenerateOptions = { prompt: 'a beach at sunset', negativePrompt: 'blurry', seed: 3, steps: 6, guidance: 7, scheduler: 'pndm', height: 64, width: 128, preview: false, deepCacheInterval: 2 };

  it('keeps the features on the GPU, frees each once, and equals WASM; split equals batched', async () => {
    expect(gpu.backend).toBe('webgpu');
    const spy = spyOnDeepCache();
    const steps: Float32Array[] = [];
    const out = await gpu.generate({ ...options, onStepLatents: (_k, x) => steps.push(x.slice()) });
    expectDeepCacheCalls(spy, deepCacheSchedule(out.settings.timesteps, 2), 1);
    expect(new Set(spy.calls.filter((c) => c.features).map((c) => c.featuresLocation))).toEqual(new Set(['gpu-buffer']));
    vi.restoreAllMocks();

    const cpu = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'wasm', guidanceBatch: 'batched' });
    try {
      const ref = await cpu.generate(options);
      expect(maxAbsDiff(out.rgbFloat, ref.rgbFloat)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(out.depth, ref.depth)).toBeLessThanOrEqual(TOLERANCE);
      // Off (N = 1): the plain path, whose unet run fetches out_sample only, also on the GPU.
      const [gpuOff, cpuOff] = [await gpu.generate({ ...options, deepCacheInterval: 1 }), await cpu.generate({ ...options, deepCacheInterval: 1 })];
      expect(maxAbsDiff(gpuOff.rgbFloat, cpuOff.rgbFloat)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(gpuOff.rgbFloat, out.rgbFloat)).toBeGreaterThan(0);
    } finally {
      await cpu.dispose();
    }

    const split = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'webgpu', guidanceBatch: 'split' });
    try {
      let latents = 0;
      const s = await split.generate({ ...options, onStepLatents: (k, x) => (latents = Math.max(latents, maxAbsDiff(x, steps[k - 1]))) });
      expect(latents).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(s.rgbFloat, out.rgbFloat)).toBeLessThanOrEqual(1e-5);
    } finally {
      await split.dispose();
    }
  }, CASE_TIMEOUT);

  it('warmUp() runs the shallow session as well as the UNet', async () => {
    const ran: string[] = [];
    const run = OrtSession.prototype.run;
    vi.spyOn(OrtSession.prototype, 'run').mockImplementation(function (this: OrtSession, feeds, fetches) {
      ran.push(this.label);
      return run.call(this, feeds, fetches);
    });
    await gpu.warmUp();
    expect(ran.filter((l) => l.startsWith('unet'))).toEqual(['unet', 'unet_shallow']);
  }, CASE_TIMEOUT);
});

describe("DeepCache on WebGPU (Dawn) vs the authors' DeepCacheSDHelper goldens", () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    pipe = await Ldm3dPipeline.load(await folderSource(DEEPCACHE_MODEL), { backend: 'webgpu', guidanceBatch: 'batched' });
  }, CASE_TIMEOUT);
  afterAll(() => pipe?.dispose());

  // Read at collection time only when the files are there (the describe is skipped otherwise).
  const cases = loadDeepCacheCases().cases;
  for (const c of cases) {
    it(`golden case ${c.name} (${c.scheduler}, ${c.num_inference_steps} steps, guidance ${c.guidance_scale}, N = ${c.deepcache_interval}) within 2e-3, latents after every step`, async () => {
      expect(pipe.backend).toBe('webgpu');
      const e = await runDeepCacheCase(pipe, c);
      console.log(`webgpu deepcache ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)} latents ${e.latents.toExponential(2)}`);
      const schedule = deepCacheSchedule(c.timesteps.map(Math.fround), c.deepcache_interval);
      expect([e.unetFull, e.unetShallow]).toEqual([schedule.filter(Boolean).length, schedule.filter((f) => !f).length]);
      expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, 'latents').toBeLessThan(1e-3);
    }, CASE_TIMEOUT);
  }
});
