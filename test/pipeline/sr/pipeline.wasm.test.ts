import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../src/model/errors';
import { Ldm3dSrPipeline } from '../../../src/pipeline/sr/pipeline';
import { folderSource } from '../../../src/node/folder-source';
import { preferLiftoff } from '../../../src/node/webgpu';
import { loadSrCases, loadSrNpy, runSrCase, SR_MODELS, TOLERANCE } from '../ldm3d-sr-parity';

describe('Ldm3dSrPipeline on wasm vs the community LDM3D-SR pipeline', () => {
  let pipe: Ldm3dSrPipeline;
  beforeAll(async () => {
    preferLiftoff();
    pipe = await Ldm3dSrPipeline.load(await folderSource(SR_MODELS, { verify: true }), { backend: 'wasm' });
  });
  afterAll(() => pipe?.dispose());

  it('reproduces every golden case within 2e-3 on RGB and depth', async () => {
    expect(pipe.backend).toBe('wasm');
    const cases = loadSrCases();
    expect(cases.length).toBeGreaterThanOrEqual(5);
    const errors = [];
    for (const c of cases) errors.push(await runSrCase(pipe, c));
    console.table(errors);
    for (const e of errors) {
      expect(e.lowRes, `${e.name} low-res latents`).toBeLessThan(1e-4);
      expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
    }
  });

  it('rejects bad input with a clear message, cancels between steps, and still runs after', async () => {
    const c = loadSrCases()[0];
    const base = { rgb: loadSrNpy(c.input_rgb).data, depth: loadSrNpy(c.input_depth).data, height: c.height, width: c.width };
    await expect(pipe.upscale({ ...base, noiseLevel: 351 })).rejects.toThrow(/noise level/);
    await expect(pipe.upscale({ ...base, depth: new Float32Array(3) })).rejects.toThrow(/depth must be/);
    await expect(pipe.upscale({ ...base, height: 100 })).rejects.toThrow(/multiple of 8/);
    const controller = new AbortController();
    const seen: number[] = [];
    const run = pipe.upscale({ ...base, steps: 4, seed: 3, signal: controller.signal, onProgress: (p) => {
      seen.push(p.step);
      if (p.step === 2) controller.abort();
    } });
    await expect(run).rejects.toSatisfy((e) => isPipelineError(e, 'cancelled'));
    expect(seen).toEqual([1, 2]);
    const seeded = await pipe.upscale({ ...base, steps: 2, seed: 7 });
    const again = await pipe.upscale({ ...base, steps: 2, seed: 7 });
    expect(seeded.settings.seed).toBe('7');
    expect(Array.from(again.depth)).toEqual(Array.from(seeded.depth));
  });
});
