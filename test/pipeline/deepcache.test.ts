/**
 * DeepCache (src/pipeline/deepcache.ts) without the exported goldens: the full/shallow schedule
 * against a line-by-line transliteration of the authors' DeepCacheSDHelper (PNDM's repeated
 * timestep included), the interval option, the feature cache's ownership, the manifest contract,
 * a model without DeepCache graphs refusing N > 1, and the pipeline's wiring on WASM with a
 * synthetic DeepCache export (deepcache-helpers.ts): which session runs at each step, which cached
 * features a shallow call gets (per call of a split step; the schedule there is the transliterated
 * helper's, not deepCacheSchedule), that they are freed however the run
 * ends, that split equals batched, that N = 1 is the plain path. Numerical parity with the
 * authors' code on the real export: deepcache.wasm.test.ts / deepcache.webgpu.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { preferLiftoff } from '../../src/node/webgpu';
import { cpuTensor, OrtSession, type RtTensor } from '../../src/runtime/ort';
import { deepCacheSchedule, DeepFeatureCache, MAX_DEEPCACHE_INTERVAL, resolveDeepCacheInterval } from '../../src/pipeline/deepcache';
import { isPipelineError, PipelineError } from '../../src/model/errors';
import type { Manifest } from '../../src/model/manifest';
import { checkManifest } from '../../src/pipeline/model-files';
import { folderSource } from '../../src/node/folder-source';
import { Ldm3dPipeline, type GenerateOptions, type GenerateResult } from '../../src/pipeline/pano/pipeline';
import { createScheduler, SCHEDULER_NAMES } from '../../src/pipeline/schedulers/index.ts';
import { maxAbsDiff } from './goldens';
import { expectDeepCacheCalls, PLAIN_MODEL, removeModel, spyOnDeepCache, syntheticDeepCacheModel } from './deepcache-helpers';
import { spyOnSessions } from './memory-helpers';
import { LDM3D_PANO_SCHEDULER } from './schedulers/helpers';

/**
 * The authors' rule, transliterated from DeepCacheSDHelper (wrap_unet_forward + is_skip_step with
 * skip_mode 'uniform'): state kept across the UNet calls of one run, first position via index().
 */
function authorsFullSteps(timesteps: readonly number[], cacheInterval: number): boolean[] {
  let startTimestep: number | null = null;
  return timesteps.map((t) => {
    const curTimestep = timesteps.indexOf(t); // list(self.pipe.scheduler.timesteps).index(args[1].item())
    startTimestep = startTimestep === null ? curTimestep : startTimestep;
    return (curTimestep - startTimestep) % cacheInterval === 0; // not a skip step: the full UNet runs
  });
}

async function rejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw new Error(`expected a PipelineError, got ${String(e)}`);
  }
  throw new Error('expected a rejection');
}

describe('deepCacheSchedule', () => {
  it("marks PNDM's repeated timestep by its first position, as the authors' list.index does", () => {
    const timesteps = createScheduler('pndm', LDM3D_PANO_SCHEDULER).plan(5).steps.map((s) => s.timestep);
    // PNDM's second and third calls share a timestep (diffusers: _timesteps[-2:-1] repeated).
    expect(timesteps[1]).toBe(timesteps[2]);
    expect(new Set(timesteps).size).toBe(timesteps.length - 1);
    // Positions by first occurrence: 0, 1, 1, 3, 4, 5 → with N = 2 only 0 and 4 are full; counting
    // calls instead (i % 2) would make call 2 full.
    expect(deepCacheSchedule(timesteps, 2)).toEqual([true, false, false, false, true, false]);
    expect(deepCacheSchedule(timesteps, 2)).not.toEqual(timesteps.map((_, i) => i % 2 === 0));
    expect(deepCacheSchedule(timesteps, 3)).toEqual([true, false, false, true, false, false]);
  });

  it('equals the transliterated helper for every scheduler, step count and interval', () => {
    let compared = 0;
    for (const name of SCHEDULER_NAMES) {
      for (const steps of [1, 2, 3, 5, 8, 20, 50]) {
        const timesteps = createScheduler(name, LDM3D_PANO_SCHEDULER).plan(steps).steps.map((s) => s.timestep);
        for (let n = 1; n <= MAX_DEEPCACHE_INTERVAL; n++) {
          const got = deepCacheSchedule(timesteps, n);
          expect(got, `${name} ${steps} steps N=${n}`).toEqual(authorsFullSteps(timesteps, n));
          expect(got[0]).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBe(SCHEDULER_NAMES.length * 7 * MAX_DEEPCACHE_INTERVAL);
  });

  it('N = 1 runs every step in full; an empty plan is empty; a bad interval throws', () => {
    const timesteps = createScheduler('ddim', LDM3D_PANO_SCHEDULER).plan(7).steps.map((s) => s.timestep);
    expect(deepCacheSchedule(timesteps, 1).every(Boolean)).toBe(true);
    expect(deepCacheSchedule(timesteps, 3)).toEqual([true, false, false, true, false, false, true]);
    expect(deepCacheSchedule([], 3)).toEqual([]);
    expect(() => deepCacheSchedule(timesteps, 0)).toThrow(RangeError);
    expect(() => deepCacheSchedule(timesteps, 1.5)).toThrow(RangeError);
  });
});

describe('resolveDeepCacheInterval', () => {
  it('accepts 1..10 (undefined = 1) and refuses anything else as bad-option', () => {
    expect(resolveDeepCacheInterval(undefined, false)).toBe(1);
    expect(resolveDeepCacheInterval(1, false)).toBe(1);
    expect(resolveDeepCacheInterval(3, true)).toBe(3);
    expect(resolveDeepCacheInterval(MAX_DEEPCACHE_INTERVAL, true)).toBe(MAX_DEEPCACHE_INTERVAL);
    for (const bad of [0, -1, 1.5, MAX_DEEPCACHE_INTERVAL + 1, Number.NaN]) {
      expect(() => resolveDeepCacheInterval(bad, true), String(bad)).toThrow(expect.objectContaining({ code: 'bad-option' }));
    }
  });

  it('refuses N > 1 on an export without the DeepCache graphs and says how to make them', () => {
    expect(() => resolveDeepCacheInterval(2, false)).toThrow(/lacks.*models\/export\.py --deepcache/);
  });
});

describe('DeepFeatureCache', () => {
  const tensor = (): RtTensor & { disposals: number } => {
    const t = cpuTensor('float32', new Float32Array(4), [1, 4]) as RtTensor & { disposals: number };
    t.disposals = 0;
    const dispose = t.dispose.bind(t);
    t.dispose = () => {
      t.disposals++;
      dispose();
    };
    return t;
  };

  it('keeps one tensor per call, frees a replaced one at once and the rest on dispose', () => {
    const cache = new DeepFeatureCache(2);
    expect(() => cache.get(0)).toThrow(/before any full step/);
    const [a, b, c] = [tensor(), tensor(), tensor()];
    cache.set(0, a);
    cache.set(1, b);
    expect(cache.get(0)).toBe(a);
    expect(cache.get(1)).toBe(b);
    cache.set(0, c);
    expect(a.disposals).toBe(1);
    expect(b.disposals).toBe(0);
    expect(cache.get(0)).toBe(c);
    cache.dispose();
    expect([a.disposals, b.disposals, c.disposals]).toEqual([1, 1, 1]);
    cache.dispose();
    expect([a.disposals, b.disposals, c.disposals]).toEqual([1, 1, 1]);
  });
});

describe('manifest.json "deepcache" contract', () => {
  let manifest: Manifest;
  let dir: string;
  beforeAll(async () => {
    dir = syntheticDeepCacheModel();
    manifest = (await folderSource(dir)).manifest;
  });
  afterAll(() => removeModel(dir));

  const check = (m: Manifest): string => {
    try {
      checkManifest(m);
    } catch (e) {
      if (isPipelineError(e, 'model-file')) return e.message;
      throw e;
    }
    return 'ok';
  };

  it('accepts a consistent export, and the plain one', async () => {
    expect(check(manifest)).toBe('ok');
    expect(check((await folderSource(PLAIN_MODEL)).manifest)).toBe('ok');
  });

  it('names each inconsistency', () => {
    const { unet_shallow: _shallow, ...noShallow } = manifest.sessions;
    expect(check({ ...manifest, sessions: noShallow })).toMatch(/shallow session "unet_shallow", but there is no such session.*--deepcache/);
    expect(check({ ...manifest, deepcache: undefined })).toMatch(/"unet_shallow" session but no "deepcache" entry/);
    const unet = manifest.sessions.unet!;
    expect(check({ ...manifest, sessions: { ...manifest.sessions, unet: { ...unet, outputs: unet.outputs.slice(0, 1) } } })).toMatch(/unet graph has no "deep_features" output/);
    const sh = manifest.sessions.unet_shallow!;
    expect(check({ ...manifest, sessions: { ...manifest.sessions, unet_shallow: { ...sh, inputs: sh.inputs.filter((i) => i.name !== 'deep_features') } } })).toMatch(
      /unet_shallow session has no "deep_features" input/,
    );
    expect(check({ ...manifest, sessions: { ...manifest.sessions, unet_shallow: { ...sh, outputs: [] } } })).toMatch(/no "out_sample" output/);
    expect(check({ ...manifest, deepcache: { ...manifest.deepcache!, shallow_flops_share: 0 } })).toMatch(/shallow_flops_share/);
    expect(check({ ...manifest, deepcache: { ...manifest.deepcache!, shallow_session: 'unet' } })).toMatch(/no such session/);
  });
});

const small = { prompt: 'a beach at sunset', negativePrompt: 'blurry', seed: 7, height: 64, width: 128, preview: false } as const;

describe('Ldm3dPipeline without DeepCache graphs (wasm)', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    pipe = await Ldm3dPipeline.load(await folderSource(PLAIN_MODEL), { backend: 'wasm' });
  });
  afterAll(() => pipe?.dispose());

  it('refuses N > 1 with the reason and the fix, before running anything; N = 1 is today\'s path', async () => {
    expect(pipe.supportsDeepCache).toBe(false);
    const err = await rejection(pipe.generate({ ...small, steps: 2, deepCacheInterval: 2 }));
    expect(err.code).toBe('bad-option');
    expect(err.message).toMatch(/deepCacheInterval 2 needs the DeepCache graphs.*export lacks.*models\/export\.py --deepcache/);
    for (const bad of [0, 11, 2.5]) expect((await rejection(pipe.generate({ ...small, steps: 2, deepCacheInterval: bad }))).code).toBe('bad-option');
    const a = await pipe.generate({ ...small, steps: 3, guidance: 7, deepCacheInterval: 1 });
    const b = await pipe.generate({ ...small, steps: 3, guidance: 7 });
    expect(a.settings.deepCacheInterval).toBe(1);
    expect(b.settings.deepCacheInterval).toBe(1);
    expect(maxAbsDiff(a.rgbFloat, b.rgbFloat)).toBe(0);
    expect([a.timings.unetFull, a.timings.unetShallow]).toEqual([3, 0]);
  });
});

describe('Ldm3dPipeline with a (synthetic) DeepCache export (wasm)', () => {
  let dir: string;
  let batched: Ldm3dPipeline;
  let split: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    dir = syntheticDeepCacheModel();
    batched = await Ldm3dPipeline.load(await folderSource(dir, { verify: true }), { backend: 'wasm', guidanceBatch: 'batched' });
    split = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'wasm', guidanceBatch: 'split' });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await batched?.dispose();
    await split?.dispose();
    removeModel(dir);
  });

  const latentsOf = async (p: Ldm3dPipeline, o: Partial<GenerateOptions>): Promise<{ out: GenerateResult; steps: Float32Array[] }> => {
    const steps: Float32Array[] = [];
    const out = await p.generate({ ...small, ...o, onStepLatents: (_i, x) => steps.push(x.slice()) });
    return { out, steps };
  };

  for (const scheduler of ['ddim', 'pndm', 'dpm'] as const) {
    it(`${scheduler}, N = 3, guidance batched: full / shallow as scheduled, shallow calls on the latest features, all freed`, async () => {
      const spy = spyOnDeepCache();
      const out = await batched.generate({ ...small, scheduler, steps: 7, guidance: 7, deepCacheInterval: 3 });
      const schedule = authorsFullSteps(out.settings.timesteps, 3);
      expect(schedule.filter((f) => !f).length).toBeGreaterThan(0);
      expectDeepCacheCalls(spy, schedule, 1);
      expect(spy.calls.every((c) => c.batch === 2)).toBe(true);
      expect(out.settings.deepCacheInterval).toBe(3);
      expect([out.timings.unetFull, out.timings.unetShallow]).toEqual([schedule.filter(Boolean).length, schedule.filter((f) => !f).length]);
    });
  }

  it('split guidance keeps one cache per call and equals batched, step by step', async () => {
    const o = { scheduler: 'pndm', steps: 6, guidance: 5, deepCacheInterval: 2 } as const;
    const spy = spyOnDeepCache();
    const s = await latentsOf(split, o);
    expectDeepCacheCalls(spy, authorsFullSteps(s.out.settings.timesteps, 2), 2);
    expect(spy.calls.every((c) => c.batch === 1)).toBe(true);
    // The two calls of a step cache different features (the negative's and the prompt's).
    expect(spy.calls[0].features).not.toBe(spy.calls[1].features);
    vi.restoreAllMocks();
    const b = await latentsOf(batched, o);
    expect(s.steps.length).toBe(b.steps.length);
    for (let i = 0; i < b.steps.length; i++) expect(maxAbsDiff(s.steps[i], b.steps[i]), `step ${i + 1}`).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(s.out.rgbFloat, b.out.rgbFloat)).toBeLessThanOrEqual(1e-5);
    expect([s.out.timings.unetFull, s.out.timings.unetShallow]).toEqual([2 * b.out.timings.unetFull, 2 * b.out.timings.unetShallow]);
  });

  it('the cache changes the result (a shallow step reuses stale deep features), and N = 1 is the plain path bit for bit', async () => {
    const o = { scheduler: 'ddim', steps: 5, guidance: 7 } as const;
    const off = await latentsOf(batched, o);
    const spy = spyOnDeepCache();
    const fetched: string[][] = [];
    const run = OrtSession.prototype.run;
    vi.spyOn(OrtSession.prototype, 'run').mockImplementation(async function (this: OrtSession, feeds, fetches) {
      const out = await run.call(this, feeds, fetches);
      if (this.label === 'unet' || this.label === 'unet_shallow') fetched.push([this.label, ...Object.keys(out)]);
      return out;
    });
    const one = await latentsOf(batched, { ...o, deepCacheInterval: 1 });
    // Plain calls only, and the unet's deep_features output neither fetched nor kept.
    expect(spy.calls.map((c) => c.kind)).toEqual(Array(5).fill('plain'));
    expect(fetched).toEqual(Array(5).fill(['unet', 'out_sample']));
    expect(maxAbsDiff(one.out.rgbFloat, off.out.rgbFloat)).toBe(0);
    expect([one.out.timings.unetFull, one.out.timings.unetShallow]).toEqual([5, 0]);
    vi.restoreAllMocks();
    const on = await latentsOf(batched, { ...o, deepCacheInterval: 2 });
    // Step 1 is full either way; step 2 is the first shallow one, on step 1's features.
    expect(maxAbsDiff(on.steps[0], off.steps[0])).toBe(0);
    expect(maxAbsDiff(on.steps[1], off.steps[1])).toBeGreaterThan(1e-4);
  });

  it('a cancel mid-run frees the cached features; the next run works', async () => {
    const controller = new AbortController();
    const spy = spyOnDeepCache((calls) => (calls.length === 4 ? controller.abort() : undefined));
    const err = await rejection(split.generate({ ...small, steps: 6, guidance: 7, deepCacheInterval: 3, signal: controller.signal }));
    expect(err.code).toBe('cancelled');
    expect(spy.calls.length).toBe(4);
    expect(spy.features.size).toBe(2);
    for (const [, r] of spy.features) expect(r.disposed).toBe(1);
    vi.restoreAllMocks();
    const out = await split.generate({ ...small, steps: 3, guidance: 7, deepCacheInterval: 3 });
    expect([out.timings.unetFull, out.timings.unetShallow]).toEqual([2, 4]);
  });

  it('staged: the shallow session is created and released with the UNet stage', async () => {
    const sessions = spyOnSessions();
    const staged = await Ldm3dPipeline.load(await folderSource(dir), { backend: 'wasm', memory: 'staged' });
    try {
      expect(staged.supportsDeepCache).toBe(true);
      // Load creates every graph once, to check it, and releases it.
      expect(sessions.created).toEqual(['text_encoder', 'unet', 'unet_shallow', 'vae_decoder']);
      expect(sessions.live()).toEqual([]);
      sessions.clear();
      await staged.generate({ ...small, steps: 3, guidance: 7, deepCacheInterval: 2 });
      expect(sessions.created).toEqual(['text_encoder', 'unet', 'unet_shallow', 'vae_decoder']);
      expect(sessions.live()).toEqual([]);
    } finally {
      await staged.dispose();
    }
  });
});
