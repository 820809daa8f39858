/** Ldm3dSrPipeline with the UNet and VAEs on WebGPU in Node (Dawn / SwiftShader): every golden case. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ldm3dSrPipeline } from '../../../src/pipeline/sr/pipeline';
import { folderSource } from '../../../src/node/folder-source';
import { installNodeWebGPU } from '../../../src/node/webgpu';
import { loadSrCases, runSrCase, SR_MODELS, TOLERANCE } from '../ldm3d-sr-parity';

const CASE_TIMEOUT = 600_000;

describe('Ldm3dSrPipeline on WebGPU (Dawn) vs the community LDM3D-SR pipeline', () => {
  let pipe: Ldm3dSrPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    pipe = await Ldm3dSrPipeline.load(await folderSource(SR_MODELS), { backend: 'webgpu' });
  }, CASE_TIMEOUT);
  afterAll(() => pipe?.dispose());

  for (const c of loadSrCases()) {
    it(`golden case ${c.name} (${c.num_inference_steps} steps, guidance ${c.guidance_scale}, noise ${c.noise_level}) within 2e-3`, async () => {
      expect(pipe.backend).toBe('webgpu');
      const e = await runSrCase(pipe, c);
      console.log(`webgpu SR ${e.name}: low-res ${e.lowRes.toExponential(2)} rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)} latents ${e.latents.toExponential(2)}`);
      expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, 'latents').toBeLessThan(1e-3);
    }, CASE_TIMEOUT);
  }
});
