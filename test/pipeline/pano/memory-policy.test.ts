/**
 * The pipeline's memory policy on WASM (fast): 'staged' gives bit-identical results to 'resident'
 * while creating each session only for its stage and releasing it after; the UNet's static shapes
 * (freeDimensionOverrides) follow the batch; warm-up; the default policy per platform. WebGPU,
 * with ORT's GPU buffers counted: memory-policy.webgpu.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { preferLiftoff } from '../../../src/node/webgpu';
import { isPipelineError } from '../../../src/model/errors';
import type { SessionSpec } from '../../../src/model/manifest';
import { folderSource } from '../../../src/node/folder-source';
import { Ldm3dPipeline } from '../../../src/pipeline/pano/pipeline';
import { chooseMemoryPolicy, lowMemoryAdvice, type MemoryEnvironment } from '../../../src/pipeline/pano/memory-policy';
import { readFileSync } from 'node:fs';
import type { Manifest } from '../../../src/model/manifest';
import { unetDimensionOverrides } from '../../../src/pipeline/stages/unet';
import { caseOptions, expectGolden, expectIdentical, runtimeOf, spyOnSessions, type SessionSpy } from '../memory-helpers';

const MODELS = 'models/tiny/ldm3d-pano';
const GiB = 2 ** 30;

describe('chooseMemoryPolicy', () => {
  const full = 3.9 * GiB;
  const env = (e: Partial<MemoryEnvironment>): MemoryEnvironment => ({ backend: 'webgpu', weightBytes: full, ...e });

  it('stages a full-size model on a headset, a mobile GPU or a small device; keeps it on a desktop', () => {
    expect(chooseMemoryPolicy(env({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 OculusBrowser/37.0' }))).toBe('staged');
    expect(chooseMemoryPolicy(env({ adapter: 'qualcomm adreno-7xx' }))).toBe('staged');
    expect(chooseMemoryPolicy(env({ adapter: 'arm valhall Mali-G710' }))).toBe('staged');
    expect(chooseMemoryPolicy(env({ deviceMemoryGiB: 4 }))).toBe('staged');
    // deviceMemory is capped at 8: a desktop reports 8 too.
    expect(chooseMemoryPolicy(env({ deviceMemoryGiB: 8, adapter: 'nvidia ada' }))).toBe('resident');
    expect(chooseMemoryPolicy(env({ adapter: 'nvidia hopper', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/140' }))).toBe('resident');
  });

  it('stages on WASM when the weights would crowd the 4 GiB heap; small models always stay resident', () => {
    expect(chooseMemoryPolicy(env({ backend: 'wasm' }))).toBe('staged');
    expect(chooseMemoryPolicy(env({ backend: 'wasm', weightBytes: 0.6 * GiB }))).toBe('resident');
    expect(chooseMemoryPolicy(env({ weightBytes: 3e6, userAgent: 'OculusBrowser', deviceMemoryGiB: 2 }))).toBe('resident');
  });
});

describe('lowMemoryAdvice', () => {
  /** A committed tiny manifest whose UNet files are scaled to the full-size export's byte count. */
  const manifest = (folder: string, unetBytes: number): Manifest => {
    const m = JSON.parse(readFileSync(`models/tiny/${folder}/manifest.json`, 'utf8')) as Manifest;
    const unetFiles = m.files.filter((f) => f.path.startsWith('unet/'));
    const total = unetFiles.reduce((a, f) => a + f.bytes, 0);
    return { ...m, files: m.files.map((f) => (f.path.startsWith('unet/') ? { ...f, bytes: Math.round((f.bytes / total) * unetBytes) } : f)) };
  };
  const quest = { backend: 'webgpu' as const, weightBytes: 0, userAgent: 'Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 OculusBrowser/37.0' };

  it('tells a headset that a float32 or float16 export is too large, and names the int8 export', () => {
    const fp32 = lowMemoryAdvice(quest, manifest('ldm3d-pano', 3.44e9));
    expect(fp32).toMatch(/UNet's weights in float32 \(3\.44 GB\).*int8 export \(models\/narrow_weights\.py --storage int8/);
    expect(lowMemoryAdvice({ ...quest, userAgent: '', adapter: 'qualcomm adreno-7xx' }, manifest('ldm3d-pano-f16', 1.72e9))).toMatch(/in float16 \(1\.72 GB\)/);
  });

  it('says nothing for the int8 export, on a desktop, on WASM, or for small models', () => {
    expect(lowMemoryAdvice(quest, manifest('ldm3d-pano-int8', 0.86e9))).toBeNull();
    expect(lowMemoryAdvice({ ...quest, userAgent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/140', adapter: 'nvidia ada' }, manifest('ldm3d-pano', 3.44e9))).toBeNull();
    expect(lowMemoryAdvice({ ...quest, backend: 'wasm' }, manifest('ldm3d-pano', 3.44e9))).toBeNull();
    expect(lowMemoryAdvice(quest, manifest('ldm3d-pano', 1.4e6))).toBeNull();
  });
});

describe('unetDimensionOverrides', () => {
  const spec = (sampleShape: Array<number | string>, hidden: Array<number | string>): SessionSpec => ({
    file: 'unet/model.onnx',
    external_data: [],
    inputs: [
      { name: 'sample', dtype: 'float32', shape: sampleShape },
      { name: 'timestep', dtype: 'float32', shape: [] },
      { name: 'encoder_hidden_states', dtype: 'float32', shape: hidden },
    ],
    outputs: [{ name: 'out_sample', dtype: 'float32', shape: sampleShape }],
  });
  const shape = { batch: 2, latentHeight: 64, latentWidth: 128 };

  it('reads the symbolic names from the manifest', () => {
    expect(unetDimensionOverrides(spec(['batch', 4, 'latent_height', 'latent_width'], ['batch', 77, 768]), shape)).toEqual({
      batch: 2,
      latent_height: 64,
      latent_width: 128,
    });
    expect(unetDimensionOverrides(spec(['N', 4, 'H', 'W'], ['N', 'seq', 768]), { ...shape, batch: 1 })).toEqual({ N: 1, H: 64, W: 128 });
  });

  it('fixes nothing when one name stands for two sizes, or when every dimension is fixed', () => {
    expect(unetDimensionOverrides(spec(['b', 4, 's', 's'], ['b', 77, 768]), shape)).toBeUndefined();
    expect(unetDimensionOverrides(spec([2, 4, 64, 128], [2, 77, 768]), shape)).toBeUndefined();
  });
});

describe('Ldm3dPipeline memory policies (wasm)', () => {
  let resident: Ldm3dPipeline;
  let staged: Ldm3dPipeline;
  let spy: SessionSpy;
  beforeAll(async () => {
    preferLiftoff();
    resident = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'resident' });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await resident?.dispose();
    await staged?.dispose();
  });

  it("'auto' keeps the tiny model resident", () => {
    expect(resident.memory).toBe('resident');
    expect(resident.loadedSessions).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    // What the app's model line says about it (worker 'loaded' message → GeneratePanel).
    expect(resident.runtimeSummary).toBe('WASM (CPU); all stages kept loaded');
  });

  it("'staged' loads (checking every graph) and keeps nothing; each generation creates and releases every session; results are bit-identical", async () => {
    spy = spyOnSessions();
    // Untiled: 'auto' tiles the VAE decode when staged (vae-tiling.wasm.test.ts), which changes the
    // image by design once the manifest's VAE tile is smaller than the latent; this is about sessions.
    staged = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged', vaeTiling: 'off' });
    expect(staged.memory).toBe('staged');
    // Staged splits guidance into two batch-1 UNet calls by default (guidance-split.wasm.test.ts).
    expect(staged.runtimeSummary).toBe('WASM (CPU); one stage at a time; guidance as two UNet calls');
    expect(spy.created).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    expect(spy.released).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    expect(staged.loadedSessions).toEqual([]);

    for (const name of ['ddim-20-cfg7', 'guidance-1', 'dpm-5']) {
      spy.clear();
      const liveDuringSteps: string[][] = [];
      const a = await resident.generate(caseOptions(name));
      // Resident: nothing for the default batch (2); the UNet again when the batch changes (guidance 1, then back).
      expect(spy.created, `${name}: resident`).toEqual(name === 'ddim-20-cfg7' ? [] : ['unet']);
      spy.clear();
      const b = await staged.generate(caseOptions(name, { onProgress: () => liveDuringSteps.push(spy.live(runtimeOf(staged))) }));
      expect(spy.created, name).toEqual(['text_encoder', 'unet', 'vae_decoder']);
      expect(spy.released, name).toEqual(['text_encoder', 'unet', 'vae_decoder']);
      // One stage at a time: only the UNet exists during the steps.
      for (const live of liveDuringSteps) expect(live).toEqual(['unet']);
      expect(staged.loadedSessions).toEqual([]);
      expect(b.timings.unetCreate).toBeGreaterThan(0);
      expectIdentical(a, b, name);
      expectGolden(name, b);
    }
  });

  it('a cancelled staged generation releases its session; the next one is unaffected', async () => {
    spy = spyOnSessions();
    const controller = new AbortController();
    const err = await staged
      .generate(caseOptions('ddim-20-cfg7', { signal: controller.signal, onProgress: (p) => (p.step === 2 ? controller.abort() : undefined) }))
      .catch((e: unknown) => e);
    expect(isPipelineError(err, 'cancelled')).toBe(true);
    expect(spy.live(runtimeOf(staged))).toEqual([]);
    expect(spy.released).toEqual(['text_encoder', 'unet']);
    expectGolden('ddim-1-step', await staged.generate(caseOptions('ddim-1-step')));
  });

  it("'staged' + keepUNet: the UNet session is created once and survives generations (also a cancelled one); the other stages still come and go; bit-identical", async () => {
    spy = spyOnSessions();
    const kept = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'staged', vaeTiling: 'off', keepUNet: true });
    try {
      expect(kept.keepUNet).toBe(true);
      expect(kept.runtimeSummary).toBe('WASM (CPU); one stage at a time, UNet kept loaded; guidance as two UNet calls');
      expect(spy.created).toEqual(['text_encoder', 'unet', 'vae_decoder']);
      expect(spy.released).toEqual(['text_encoder', 'vae_decoder']);
      expect(kept.loadedSessions).toEqual(['unet']);
      for (const name of ['ddim-20-cfg7', 'dpm-5']) {
        spy.clear();
        const liveDuringSteps: string[][] = [];
        const b = await kept.generate(caseOptions(name, { onProgress: () => liveDuringSteps.push(spy.live(runtimeOf(kept))) }));
        expect(spy.created, name).toEqual(['text_encoder', 'vae_decoder']);
        expect(spy.released, name).toEqual(['text_encoder', 'vae_decoder']);
        for (const live of liveDuringSteps) expect(live).toEqual(['unet']);
        expect(kept.loadedSessions).toEqual(['unet']);
        expect(b.timings.unetCreate).toBeUndefined();
        expectIdentical(await staged.generate(caseOptions(name)), b, name);
        expectGolden(name, b);
      }
      spy.clear();
      const controller = new AbortController();
      const err = await kept
        .generate(caseOptions('ddim-20-cfg7', { signal: controller.signal, onProgress: (p) => (p.step === 2 ? controller.abort() : undefined) }))
        .catch((e: unknown) => e);
      expect(isPipelineError(err, 'cancelled')).toBe(true);
      expect(spy.live(runtimeOf(kept))).toEqual(['unet']);
      expectGolden('ddim-1-step', await kept.generate(caseOptions('ddim-1-step')));
      // The resident policy keeps everything whatever keepUNet says.
      const residentKept = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'resident', keepUNet: true });
      expect(residentKept.keepUNet).toBe(false);
      await residentKept.dispose();
    } finally {
      await kept.dispose();
    }
  });

  it('static UNet shapes: resident re-creates the UNet when the batch changes (never two at once), bit-identical to dynamic shapes', async () => {
    spy = spyOnSessions();
    const dynamic = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm', memory: 'resident', staticShapes: false });
    try {
      spy.clear();
      for (const name of ['guidance-1', 'ddim-1-step', 'ddim-1-step']) {
        const s = await resident.generate(caseOptions(name));
        const d = await dynamic.generate(caseOptions(name));
        expectIdentical(d, s, `${name}: static vs dynamic shapes`);
        expect(spy.live(runtimeOf(resident)).length).toBeLessThanOrEqual(1); // the new UNet; the old one is gone
      }
      // guidance-1 (batch 1) then ddim-1-step (batch 2): two re-creations, then none; the dynamic pipeline none.
      expect(spy.created).toEqual(['unet', 'unet']);
    } finally {
      await dynamic.dispose();
    }
  });

  it('warmUp does nothing on WASM and says so with empty timings', async () => {
    spy = spyOnSessions();
    const w = await staged.warmUp();
    expect(w.timings).toEqual({});
    expect(w.batch).toBe(1); // guidance split (the staged default): batch-1 UNet calls
    expect(spy.created).toEqual([]);
  });
});
