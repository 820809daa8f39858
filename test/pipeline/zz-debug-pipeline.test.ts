import { it } from 'vitest';
import { installNodeWebGPU } from '../../src/runtime/node-webgpu';
import { folderSource } from '../../src/pipeline/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pipeline';
import { loadCases, loadNpy } from './goldens';

it('debug', async () => {
  installNodeWebGPU();
  const t0 = performance.now();
  const pipe = await Ldm3dPipeline.load(await folderSource('models/tiny/ldm3d-pano'), { backend: process.env.BK as 'webgpu' ?? 'webgpu' });
  console.log('load', performance.now() - t0, pipe.loadTimings);
  const c = loadCases().cases[0];
  for (let rep = 0; rep < 2; rep++) {
    let last = performance.now();
    const out = await pipe.generate({ prompt: c.prompt, steps: 5, guidance: 7, latents: loadNpy(c.latents).data, height: 64, width: 128, preview: process.env.PV !== '0',
      onProgress: (p) => { const t = performance.now(); console.log('step', p.step, (t - last).toFixed(0)); last = t; } });
    console.log(out.timings);
  }
  await pipe.dispose();
}, 600_000);
