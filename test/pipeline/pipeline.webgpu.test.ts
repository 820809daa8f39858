import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/runtime/node-webgpu';
import { folderSource } from '../../src/pipeline/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pipeline';
import { runAllCases, TOLERANCE } from './parity';

const MODELS = 'models/tiny/ldm3d-pano';

describe('Ldm3dPipeline on WebGPU (Dawn + SwiftShader) vs diffusers goldens', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    installNodeWebGPU();
    pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'webgpu' });
  });
  afterAll(() => pipe?.dispose());

  it('reproduces every golden case within 2e-3 on RGB and depth, latents kept on the GPU', async () => {
    expect(pipe.backend).toBe('webgpu');
    expect(pipe.notices).toEqual([]);
    const errors = await runAllCases(pipe);
    console.table(errors);
    for (const e of errors) {
      expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
    }
  });
});
