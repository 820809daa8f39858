import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferLiftoff } from '../../../src/node/webgpu';
import { folderSource } from '../../../src/node/folder-source';
import { Ldm3dPipeline } from '../../../src/pipeline/pano/pipeline';
import { runAllCases, TOLERANCE } from '../parity';

const MODELS = 'models/tiny/ldm3d-pano';

describe('Ldm3dPipeline on wasm vs diffusers goldens', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    pipe = await Ldm3dPipeline.load(await folderSource(MODELS, { verify: true }), { backend: 'wasm' });
  });
  afterAll(() => pipe?.dispose());

  it('reproduces every golden case within 2e-3 on RGB and depth', async () => {
    expect(pipe.backend).toBe('wasm');
    const errors = await runAllCases(pipe);
    console.table(errors);
    for (const e of errors) {
      expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
    }
  });
});
