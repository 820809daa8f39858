/**
 * Wrap padding on WASM against diffusers with circularly padded convolutions (wrap-goldens.ts):
 * every golden case within 2e-3 on RGB and depth (the parity bar of every back end), the latents
 * after every step, batched and split guidance. Skipped until test/fixtures/goldens/ldm3d-pano-wrap
 * exists. The wiring without goldens: wrap.wasm.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferLiftoff } from '../../src/node/webgpu';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { TOLERANCE } from './parity';
import { haveWrapGoldens, loadWrapCases, runWrapCase, WRAP_MODEL } from './wrap-goldens';

describe.skipIf(!haveWrapGoldens())('wrap padding on WASM vs patched diffusers (test/fixtures/goldens/ldm3d-pano-wrap)', () => {
  const pipes: Partial<Record<'batched' | 'split', Ldm3dPipeline>> = {};
  beforeAll(async () => {
    preferLiftoff();
    pipes.batched = await Ldm3dPipeline.load(await folderSource(WRAP_MODEL, { verify: true }), { backend: 'wasm', guidanceBatch: 'batched' });
    pipes.split = await Ldm3dPipeline.load(await folderSource(WRAP_MODEL), { backend: 'wasm', guidanceBatch: 'split' });
  });
  afterAll(async () => {
    await pipes.batched?.dispose();
    await pipes.split?.dispose();
  });

  for (const mode of ['batched', 'split'] as const) {
    it(`every golden case within 2e-3 on RGB and depth, latents after every step (${mode} guidance)`, async () => {
      const cases = loadWrapCases().cases;
      // The goldens must exercise the wrap, not only its off switch.
      expect(cases.some((c) => c.wrap ?? true)).toBe(true);
      const errors = [];
      for (const c of cases) errors.push(await runWrapCase(pipes[mode]!, c));
      console.table(errors);
      for (const e of errors) {
        expect(e.timestepsMatch, `${e.name} timesteps`).toBe(true);
        expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
        expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
        expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
      }
    });
  }
});
