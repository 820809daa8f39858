/**
 * Ldm3dPipeline on WebGPU in Node (Dawn; SwiftShader on machines without a GPU): every diffusers
 * golden case, with the latents kept on the GPU between steps, plus cancel-then-run-again.
 * SwiftShader is slow (a tiny UNet call is 1–3 s here), hence one test per case, and the per-step
 * latents are compared on WASM only (pipeline.wasm.test.ts); latents-gpu.test.ts checks the GPU
 * step maths against the CPU's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../../src/node/webgpu';
import { isPipelineError, PipelineError } from '../../../src/model/errors';
import { folderSource } from '../../../src/node/folder-source';
import { Ldm3dPipeline } from '../../../src/pipeline/pano/pipeline';
import { loadCases, loadNpy } from '../goldens';
import { runCase, TOLERANCE } from '../parity';

const MODELS = 'models/tiny/ldm3d-pano';

/** The device a pipeline's runtime owns (private; reached for here to simulate a loss). */
function lostDevice(p: Ldm3dPipeline): GPUDevice {
  return (p as unknown as { runtime: { device: GPUDevice } }).runtime.device;
}

async function pipeRejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}
const CASE_TIMEOUT = 600_000;

describe('Ldm3dPipeline on WebGPU (Dawn) vs diffusers goldens', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu' });
  }, CASE_TIMEOUT);
  afterAll(() => pipe?.dispose());

  it('runs on WebGPU without a notice', () => {
    expect(pipe.backend).toBe('webgpu');
    expect(pipe.notices).toEqual([]);
  });

  it('cancels between steps, frees the run, and the next run works', async () => {
    const c = loadCases().cases.find((k) => k.name === 'ddim-1-step')!;
    const controller = new AbortController();
    const seen: number[] = [];
    const run = pipe.generate({
      prompt: c.prompt,
      steps: 4,
      latents: loadNpy(c.latents).data,
      height: c.height,
      width: c.width,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.step);
        expect(p.preview?.width).toBe(c.width / 8);
        if (p.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toSatisfy((e) => isPipelineError(e, 'cancelled'));
    expect(seen).toEqual([1, 2]);
    // Same pipeline, same sessions: a full golden case right after.
    const e = await runCase(pipe, c, false);
    expect(e.rgb).toBeLessThanOrEqual(TOLERANCE);
    expect(e.depth).toBeLessThanOrEqual(TOLERANCE);
  }, CASE_TIMEOUT);

  it('a lost GPU device mid-run fails with device-lost, and loading again works', async () => {
    const lostPipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu' });
    const c = loadCases().cases.find((k) => k.name === 'ddim-1-step')!;
    try {
      const err = await pipeRejection(
        lostPipe.generate({
          prompt: c.prompt,
          steps: 3,
          seed: 1,
          height: c.height,
          width: c.width,
          // What a driver reset or a backgrounded tab does to the app's device.
          onProgress: (p) => (p.step === 1 ? lostDevice(lostPipe).destroy() : undefined),
        }),
      );
      expect(err.code).toBe('device-lost');
      expect(err.message).toMatch(/GPU device was lost.*Load the model again/);
      // Every later call says the same at once, without touching the device.
      expect((await pipeRejection(lostPipe.generate({ prompt: 'x', steps: 1, height: 64, width: 128 }))).code).toBe('device-lost');
    } finally {
      await lostPipe.dispose();
    }
    const fresh = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu' });
    try {
      const e = await runCase(fresh, c, false);
      expect(e.rgb).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await fresh.dispose();
    }
  }, CASE_TIMEOUT);

  for (const c of loadCases().cases) {
    it(`golden case ${c.name} (${c.scheduler}, ${c.num_inference_steps} steps, guidance ${c.guidance_scale}) within 2e-3`, async () => {
      const e = await runCase(pipe, c, false);
      console.log(`webgpu ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)}`);
      expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
    }, CASE_TIMEOUT);
  }
});
