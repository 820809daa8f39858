/**
 * The tiled VAE decode on WebGPU (Dawn; SwiftShader here): the latents come back from the GPU
 * (GpuExecutor.vaeInputCpu) to be cut into tiles, which the WebGPU decoder session runs one by one;
 * the warm-up decodes the same tile shapes. Compared with diffusers' tiled decode
 * (models/goldens_tiled.py: vae.enable_tiling(), 4-cell tiles) of golden case ddim-20-cfg7.
 * Resident, so the shaders compiled by the warm-up serve the generation (SwiftShader compiles slowly).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { postprocess } from '../../src/pipeline/postprocess';
import { loadNpy, maxAbsDiff } from './goldens';
import { caseOptions } from './memory-helpers';
import { TOLERANCE } from './parity';

const MODELS = 'models/tiny/ldm3d-pano';
const TIMEOUT = 600_000;

describe('tiled VAE decode on WebGPU', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu', memory: 'resident', vaeTiling: { latentTile: 4 } });
  }, TIMEOUT);
  afterAll(() => pipe?.dispose());

  it('warm-up at the tile shapes, then ddim-20-cfg7 equals diffusers with vae.enable_tiling()', async () => {
    expect(pipe.backend).toBe('webgpu');
    expect(pipe.vaeTiling).toEqual({ latentTile: 4, sampleTile: 32, overlap: 0.25 });
    const warm = await pipe.warmUp();
    expect(warm.timings.vae_decoder).toBeGreaterThan(0);
    const out = await pipe.generate(caseOptions('ddim-20-cfg7'));
    const want = postprocess(loadNpy('vae-tiled.t4.npy').data, 64, 128);
    const rgb = maxAbsDiff(out.rgbFloat, want.rgbFloat);
    const depth = maxAbsDiff(out.depth, want.depth);
    console.log(`WebGPU tiled vs diffusers tiled: rgb ${rgb.toExponential(2)}, depth ${depth.toExponential(2)}; decode ${out.timings.vaeDecode.toFixed(0)} ms`);
    expect(rgb).toBeLessThanOrEqual(TOLERANCE);
    expect(depth).toBeLessThanOrEqual(TOLERANCE);
  }, TIMEOUT);
});
