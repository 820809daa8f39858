/**
 * DeepCache on WASM against the authors' DeepCacheSDHelper on diffusers (models/goldens_deepcache.py:
 * test/fixtures/goldens/ldm3d-pano-deepcache, exported model models/tiny/ldm3d-pano-deepcache):
 * every golden case with its deepcache_interval, RGB and depth ≤ 2e-3 and the latents after every
 * step; split guidance equals batched with DeepCache on; N = 1 on the DeepCache export gives the
 * plain goldens (diffusers without DeepCache). The wiring without goldens: deepcache.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferLiftoff } from '../../src/node/webgpu';
import { deepCacheSchedule } from '../../src/pipeline/deepcache';
import type { Manifest } from '../../src/model/manifest';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline } from '../../src/pipeline/pano/pipeline';
import { loadCases, maxAbsDiff } from './goldens';
import { DEEPCACHE_MODEL, deepCacheCaseOptions, loadDeepCacheCases, PLAIN_MODEL, runDeepCacheCase } from './deepcache-helpers';
import { runCase, TOLERANCE } from './parity';

describe('DeepCache on wasm vs the authors\' DeepCacheSDHelper goldens', () => {
  let batched: Ldm3dPipeline;
  let split: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    batched = await Ldm3dPipeline.load(await folderSource(DEEPCACHE_MODEL, { verify: true }), { backend: 'wasm', guidanceBatch: 'batched' });
    split = await Ldm3dPipeline.load(await folderSource(DEEPCACHE_MODEL), { backend: 'wasm', guidanceBatch: 'split' });
  });
  afterAll(async () => {
    await batched?.dispose();
    await split?.dispose();
  });

  it('reproduces every golden case within 2e-3 on RGB and depth, latents after every step, with the scheduled UNet calls', async () => {
    expect(batched.supportsDeepCache).toBe(true);
    const cases = loadDeepCacheCases().cases;
    // The goldens must exercise DeepCache, not only its off switch.
    expect(cases.some((c) => c.deepcache_interval > 1)).toBe(true);
    const errors = [];
    for (const c of cases) {
      const e = await runDeepCacheCase(batched, c);
      const schedule = deepCacheSchedule(c.timesteps.map(Math.fround), c.deepcache_interval);
      expect([e.unetFull, e.unetShallow], `${c.name} UNet calls`).toEqual([schedule.filter(Boolean).length, schedule.filter((f) => !f).length]);
      errors.push(e);
    }
    console.table(errors);
    for (const e of errors) {
      expect(e.rgb, `${e.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${e.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${e.name} latents`).toBeLessThan(1e-3);
    }
  });

  it('split guidance equals batched with DeepCache on (≤ 1e-5, latents after every step)', async () => {
    const cases = loadDeepCacheCases().cases.filter((c) => c.deepcache_interval > 1 && c.guidance_scale > 1);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const options = deepCacheCaseOptions(c);
      const steps: Float32Array[] = [];
      const b = await batched.generate({ ...options, onStepLatents: (_k, x) => steps.push(x.slice()) });
      let latents = 0;
      const s = await split.generate({ ...options, onStepLatents: (k, x) => (latents = Math.max(latents, maxAbsDiff(x, steps[k - 1]))) });
      expect(latents, `${c.name} latents`).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(s.rgbFloat, b.rgbFloat), `${c.name} rgb`).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(s.depth, b.depth), `${c.name} depth`).toBeLessThanOrEqual(1e-5);
      expect(s.timings.unetShallow).toBe(2 * b.timings.unetShallow);
    }
  });

  it('N = 1 on the DeepCache export gives the plain goldens (diffusers without DeepCache)', async () => {
    // Only meaningful for the same tiny checkpoint: its text encoder and VAE are the same files.
    const read = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const sha = (m: Manifest, prefix: string): string[] => m.files.filter((f) => f.path.startsWith(prefix)).map((f) => f.sha256).sort();
    const [dc, plain] = [read(DEEPCACHE_MODEL), read(PLAIN_MODEL)];
    for (const prefix of ['text_encoder/', 'vae_decoder/']) expect(sha(dc, prefix), `${prefix} of the two tiny exports`).toEqual(sha(plain, prefix));
    for (const c of loadCases().cases) {
      const e = await runCase(batched, c);
      expect(e.rgb, `${c.name} rgb`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.depth, `${c.name} depth`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.latents, `${c.name} latents`).toBeLessThan(1e-3);
    }
  });
});
