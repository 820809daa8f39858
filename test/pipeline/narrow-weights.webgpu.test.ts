/**
 * The tiny model with narrowed weights (models/narrow_weights.py): float16 bit patterns that the
 * graph widens exactly to float32 on the GPU, and per-channel int8 weights dequantised on the GPU;
 * each against diffusers with the same weights rounded the same way (models/goldens_narrow.py), on
 * WebGPU (Dawn; SwiftShader without a GPU) and WASM; and what they are for: less GPU memory than the
 * float32 model for the same work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuBufferTracker } from '../../bench/lib/gpu-buffers';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { installNodeWebGPU } from '../../src/node/webgpu';
import { loadCases, loadNpy, type GoldenSet } from './goldens';
import { runCase, TOLERANCE } from './parity';

const F32 = 'models/tiny/ldm3d-pano';
const TIMEOUT = 600_000;

const VARIANTS: ReadonlyArray<{ set: GoldenSet; dir: string; storage: string; line: RegExp }> = [
  { set: 'ldm3d-pano-f16', dir: 'models/tiny/ldm3d-pano-f16', storage: 'float16-widened', line: /float16 weights widened on the GPU$/ },
  { set: 'ldm3d-pano-int8', dir: 'models/tiny/ldm3d-pano-int8', storage: 'int8-per-channel', line: /int8 weights \(per channel\) dequantised on the GPU$/ },
];

/** Peak bytes of GPU buffers alive during one staged generation (weights + activations + ORT's cache). */
async function stagedPeak(dir: string): Promise<number> {
  const c = loadCases().cases.find((k) => k.name === 'negative-prompt')!;
  const tracker = new GpuBufferTracker().install();
  try {
    const pipe = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'webgpu', memory: 'staged' });
    try {
      tracker.resetPeak();
      await pipe.generate({ prompt: c.prompt, negativePrompt: c.negative_prompt, steps: 2, guidance: 7, latents: loadNpy(c.latents).data, height: c.height, width: c.width });
      return tracker.stats().peakBytes;
    } finally {
      await pipe.dispose();
    }
  } finally {
    tracker.uninstall();
  }
}

beforeAll(() => {
  installNodeWebGPU();
});

for (const v of VARIANTS) {
  describe(`${v.storage} weights (${v.dir})`, () => {
    it('the manifest says so and the model line tells the user', async () => {
      const source = await folderSource(v.dir);
      expect(source.manifest.weight_storage).toBe(v.storage);
      expect(source.manifest.dtype).toBe('float32');
      const pipe = await Ldm3dPipeline.load(source, { backend: 'wasm' });
      try {
        expect(pipe.runtimeSummary).toMatch(v.line);
      } finally {
        await pipe.dispose();
      }
    }, TIMEOUT);

    for (const backend of ['wasm', 'webgpu'] as const) {
      describe(`on ${backend}`, () => {
        let pipe: Ldm3dPipeline;
        beforeAll(async () => {
          pipe = await Ldm3dPipeline.load(await folderSource(v.dir), { backend });
        }, TIMEOUT);
        afterAll(() => pipe?.dispose());

        for (const c of loadCases(v.set).cases) {
          it(`golden case ${c.name} (${c.num_inference_steps} steps, guidance ${c.guidance_scale}) within 2e-3 of diffusers with the same rounded weights`, async () => {
            expect(pipe.backend).toBe(backend);
            // Per-step latents on WASM only: a read-back per step is slow on SwiftShader.
            const e = await runCase(pipe, c, backend === 'wasm', v.set);
            console.log(`${backend} ${v.storage} ${e.name}: rgb ${e.rgb.toExponential(2)} depth ${e.depth.toExponential(2)} latents ${e.latents.toExponential(2)}`);
            expect(e.rgb, 'rgb').toBeLessThanOrEqual(TOLERANCE);
            expect(e.depth, 'depth').toBeLessThanOrEqual(TOLERANCE);
            if (backend === 'wasm') expect(e.latents, 'latents').toBeLessThanOrEqual(1e-4);
          }, TIMEOUT);
        }
      });
    }
  });
}

it('a staged generation holds fewer GPU bytes with narrowed weights than with float32 ones', async () => {
  const f32 = await stagedPeak(F32);
  for (const v of VARIANTS) {
    const narrow = await stagedPeak(v.dir);
    console.log(`staged peak GPU buffers: float32 ${(f32 / 2 ** 20).toFixed(2)} MiB, ${v.storage} ${(narrow / 2 ** 20).toFixed(2)} MiB`);
    expect(narrow, v.storage).toBeLessThan(f32);
  }
}, TIMEOUT);
