/**
 * The tiled VAE decode with the real tiny decoder on WASM: the stage against diffusers' own tiled
 * decode (goldens written by models/goldens_tiled.py: vae.enable_tiling() with 4- and 8-cell tiles
 * on the 8×16 latent of golden case ddim-20-cfg7), and the pipeline option end to end.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferLiftoff } from '../../src/node/webgpu';
import { cpuTensor, OrtRuntime } from '../../src/runtime/ort';
import { isPipelineError } from '../../src/model/errors';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { defaultVaeTiling } from '../../src/pipeline/pano/memory-policy';
import { postprocess } from '../../src/pipeline/postprocess';
import { VaeDecoderStage } from '../../src/pipeline/stages/vae-decoder';
import { loadNpy, maxAbsDiff, parsePythonJson } from './goldens';
import { caseOptions, expectIdentical } from './memory-helpers';
import { TOLERANCE } from './parity';

const MODELS = 'models/tiny/ldm3d-pano';
const GOLDEN = new URL('../fixtures/goldens/ldm3d-pano/vae-tiled.json', import.meta.url);
/** The exported decoder (onnxruntime) vs torch on one decode of [−1, 1] values. */
const DECODE_TOLERANCE = 1e-3;

interface TiledGoldens {
  latent: string;
  untiled: string;
  vae_scaling_factor: number;
  cases: Array<{ name: string; tile_latent_min_size: number; tile_sample_min_size: number; tile_overlap_factor: number; output: string; tiled_vs_untiled_max_abs: number }>;
}

describe('tiled VAE decode on WASM (tiny decoder)', () => {
  let runtime: OrtRuntime;
  let stage: VaeDecoderStage;
  beforeAll(async () => {
    preferLiftoff();
    runtime = await OrtRuntime.create({ backend: 'wasm' });
    stage = await VaeDecoderStage.load(runtime, await folderSource(MODELS));
  });
  afterAll(async () => {
    await stage?.dispose();
    await runtime?.dispose();
  });

  const latent = (): Float32Array => {
    // Any smooth-ish latent will do here; the goldens below use the pipeline's.
    const z = new Float32Array(4 * 8 * 16);
    for (let i = 0; i < z.length; i++) z[i] = Math.sin(i * 0.37) * 1.5;
    return z;
  };

  it('a tile ≥ the latent decodes untiled, bit-identical; a smaller tile changes the seams', async () => {
    const z = latent();
    const untiled = await stage.decode(cpuTensor('float32', z, [1, 4, 8, 16]));
    expect(untiled.dims).toEqual([1, 4, 64, 128]);
    for (const latentTile of [16, 32]) {
      const t = await stage.decode(cpuTensor('float32', z, [1, 4, 8, 16]), { tiling: { latentTile } });
      expect(maxAbsDiff(t.data, untiled.data), `tile ${latentTile}`).toBe(0);
    }
    const tiled = await stage.decode(cpuTensor('float32', z, [1, 4, 8, 16]), { tiling: { latentTile: 4 } });
    expect(tiled.dims).toEqual([1, 4, 64, 128]);
    expect(maxAbsDiff(tiled.data, untiled.data)).toBeGreaterThan(1e-3);
  });

  it('a bad tile is a bad-option error', async () => {
    const err = await stage.decode(cpuTensor('float32', latent(), [1, 4, 8, 16]), { tiling: { latentTile: 6 } }).catch((e: unknown) => e);
    expect(isPipelineError(err, 'bad-option')).toBe(true);
  });

  // The fixtures come from diffusers (torch): models/goldens_tiled.py, also run by models/goldens.py.
  describe("vs diffusers' tiled decode", () => {
    const doc = (): TiledGoldens => parsePythonJson<TiledGoldens>(readFileSync(GOLDEN, 'utf8'));

    it('every tiled case (several tiles, both blends, short edge tiles) and the untiled decode', async () => {
      const g = doc();
      const z = loadNpy(g.latent);
      expect(z.shape).toEqual([1, 4, 8, 16]);
      const untiled = await stage.decode(cpuTensor('float32', z.data, z.shape));
      expect(maxAbsDiff(untiled.data, loadNpy(g.untiled).data), 'untiled').toBeLessThanOrEqual(DECODE_TOLERANCE);
      expect(g.cases.length).toBeGreaterThanOrEqual(2);
      for (const c of g.cases) {
        expect(c.tile_sample_min_size, `${c.name}: our sample tile is latentTile × 8`).toBe(c.tile_latent_min_size * 8);
        const want = loadNpy(c.output);
        const got = await stage.decode(cpuTensor('float32', z.data, z.shape), { tiling: { latentTile: c.tile_latent_min_size, overlap: c.tile_overlap_factor } });
        expect(got.dims, c.name).toEqual(want.shape);
        const err = maxAbsDiff(got.data, want.data);
        console.log(`vae tiled ${c.name}: max |ours − diffusers| ${err.toExponential(2)} (tiled vs untiled ${c.tiled_vs_untiled_max_abs.toFixed(3)})`);
        expect(err, `${c.name} vs diffusers' tiled decode`).toBeLessThanOrEqual(DECODE_TOLERANCE);
        // The comparison can tell tiled from untiled: tiling moves the output far more than the tolerance.
        expect(c.tiled_vs_untiled_max_abs, c.name).toBeGreaterThan(20 * DECODE_TOLERANCE);
        expect(maxAbsDiff(got.data, untiled.data), `${c.name}: tiled ≠ untiled`).toBeGreaterThan(20 * DECODE_TOLERANCE);
      }
    });

    it('the pipeline with vaeTiling gives diffusers-with-enable_tiling output for golden case ddim-20-cfg7', async () => {
      const g = doc();
      const c = g.cases.find((k) => k.tile_latent_min_size === 4 && k.tile_overlap_factor === 0.25)!;
      const pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', vaeTiling: { latentTile: 4 } });
      // A 4-cell tile is 32 px of this VAE (scale 8); resident, as the tiny model always is.
      expect(pipe.runtimeSummary).toBe('WASM (CPU); all stages kept loaded, image decoded in 32 px tiles');
      try {
        const out = await pipe.generate(caseOptions('ddim-20-cfg7'));
        const want = postprocess(loadNpy(c.output).data, 64, 128);
        expect(maxAbsDiff(out.rgbFloat, want.rgbFloat), 'rgb').toBeLessThanOrEqual(TOLERANCE);
        expect(maxAbsDiff(out.depth, want.depth), 'depth').toBeLessThanOrEqual(TOLERANCE);
      } finally {
        await pipe.dispose();
      }
    });
  });
});

describe('Ldm3dPipeline vaeTiling option (wasm)', () => {
  let off: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    off = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', vaeTiling: 'off' });
  });
  afterAll(() => off?.dispose());

  it("'auto' is off when resident and diffusers' default tile when staged", async () => {
    expect(off.vaeTiling).toBeNull();
    const auto = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm' });
    const staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged' });
    try {
      expect(auto.memory).toBe('resident');
      expect(auto.vaeTiling).toBeNull();
      expect(staged.vaeTiling).toEqual(defaultVaeTiling(staged.manifest));
      expect(staged.vaeTiling?.overlap).toBe(0.25);
    } finally {
      await auto.dispose();
      await staged.dispose();
    }
    // vae.config.sample_size / vae_scale_factor; manifests without it: Intel/ldm3d-pano's 256.
    expect(defaultVaeTiling({ ...off.manifest, vae_sample_size: 512 }).latentTile).toBe(64);
    expect(defaultVaeTiling({ ...off.manifest, vae_sample_size: undefined }).latentTile).toBe(32);
  });

  it('a tile covering the latent is bit-identical to no tiling; a small tile decodes in tiles; a bad tile fails the load', async () => {
    const big = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', vaeTiling: { latentTile: 16 } });
    const small = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', vaeTiling: { latentTile: 4 } });
    try {
      const ref = await off.generate(caseOptions('ddim-1-step'));
      expectIdentical(ref, await big.generate(caseOptions('ddim-1-step')), 'tile 16 vs off');
      const tiled = await small.generate(caseOptions('ddim-1-step'));
      expect(maxAbsDiff(tiled.rgbFloat, ref.rgbFloat)).toBeGreaterThan(1e-3);
      expect([tiled.width, tiled.height]).toEqual([128, 64]);
    } finally {
      await big.dispose();
      await small.dispose();
    }
    const err = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', vaeTiling: { latentTile: 6 } }).catch((e: unknown) => e);
    expect(isPipelineError(err, 'bad-option')).toBe(true);
  });
});
