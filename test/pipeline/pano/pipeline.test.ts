/**
 * Ldm3dPipeline behaviour on WASM (fast): bad input, model file errors, cancellation, seeds,
 * previews and truncation. Numerical parity with diffusers is in pipeline.wasm/webgpu.test.ts.
 */
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferLiftoff } from '../../../src/node/webgpu';
import { isPipelineError, PipelineError } from '../../../src/model/errors';
import type { ModelSource } from '../../../src/model/manifest';
import { folderSource } from '../../../src/node/folder-source';
import { Ldm3dPipeline, type StepProgress } from '../../../src/pipeline/pano/pipeline';
import { toPanorama } from '../../../src/pipeline/postprocess';
import { loadCases, loadNpy } from '../goldens';

const MODELS = 'models/tiny/ldm3d-pano';

async function rejection(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw new Error(`expected a PipelineError, got ${String(e)}`);
  }
  throw new Error('expected a rejection');
}

describe('Ldm3dPipeline (wasm)', () => {
  let pipe: Ldm3dPipeline;
  beforeAll(async () => {
    preferLiftoff();
    pipe = await Ldm3dPipeline.load(await folderSource(MODELS), { backend: 'wasm' });
  });
  afterAll(() => pipe?.dispose());

  const small = { steps: 2, guidance: 7, height: 64, width: 128 } as const;

  it('reports progress per step with elapsed time, ETA and a 1/8-size preview', async () => {
    const events: StepProgress[] = [];
    const out = await pipe.generate({ prompt: 'a beach', seed: 1, ...small, steps: 3, onProgress: (p) => events.push(p) });
    expect(events.map((e) => [e.step, e.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(events.map((e) => e.timestep)).toEqual([667, 334, 1]);
    for (const e of events) {
      expect(e.elapsedMs).toBeGreaterThan(0);
      expect(e.etaMs).not.toBeNull();
      expect(e.preview).not.toBeNull();
      expect(e.preview!.width).toBe(16);
      expect(e.preview!.height).toBe(8);
      expect(e.preview!.rgba.length).toBe(16 * 8 * 4);
      expect(e.preview!.depth.length).toBe(16 * 8);
    }
    expect(events[0].etaMs!).toBeGreaterThan(0);
    for (const e of events) expect(e.etaMs!).toBeGreaterThanOrEqual(0);
    // The output: sizes, ranges and the 16-bit depth rule (truncation).
    expect(out.width).toBe(128);
    expect(out.height).toBe(64);
    expect(out.rgb.length).toBe(128 * 64 * 3);
    expect(out.depth16.length).toBe(128 * 64);
    for (let i = 0; i < out.depth.length; i++) {
      expect(out.depth[i]).toBeGreaterThanOrEqual(0);
      expect(out.depth[i]).toBeLessThanOrEqual(1);
      expect(out.depth16[i]).toBe(Math.trunc(Math.fround(out.depth[i] * 65535)));
    }
    for (let i = 0; i < out.rgb.length; i += 997) expect(Math.abs(out.rgb[i] - out.rgbFloat[i] * 255)).toBeLessThanOrEqual(0.5);
    const pano = toPanorama(out);
    expect(pano.rgba.length).toBe(128 * 64 * 4);
    expect(pano.rgba[3]).toBe(255);
    expect(pano.depth).toBe(out.depth);
    expect(Object.keys(out.timings)).toEqual(expect.arrayContaining(['tokenize', 'textEncoder', 'denoise', 'vaeDecode', 'postprocess', 'total']));
  });

  it('gives the same panorama for the same seed and a different one for another seed', async () => {
    const a = await pipe.generate({ prompt: 'a forest', seed: 123, ...small, preview: false });
    const b = await pipe.generate({ prompt: 'a forest', seed: 123, ...small, preview: false });
    const c = await pipe.generate({ prompt: 'a forest', seed: 124, ...small, preview: false });
    expect(b.rgb).toEqual(a.rgb);
    expect(b.depth16).toEqual(a.depth16);
    expect(c.rgb).not.toEqual(a.rgb);
    expect(a.settings.seed).toBe('123');
    expect(a.settings.latents).toBe('seed');
    // Seeds above 2^53 work as bigints and are recorded exactly.
    const big = await pipe.generate({ prompt: 'a forest', seed: 2n ** 63n + 5n, ...small, preview: false });
    expect(big.settings.seed).toBe((2n ** 63n + 5n).toString());
  });

  it('reports an over-long prompt as truncated (and still runs)', async () => {
    const long = loadCases().cases.find((c) => c.name === 'long-prompt')!;
    expect(pipe.tokenize(long.prompt)).toEqual({ count: long.prompt_untruncated_length, max: 77, truncated: true });
    expect(pipe.tokenize('a beach').truncated).toBe(false);
    const out = await pipe.generate({ prompt: long.prompt, seed: 5, ...small, steps: 1, preview: false });
    expect(out.tokens.prompt).toEqual({ count: long.prompt_untruncated_length, max: 77, truncated: true });
    expect(out.tokens.negative.truncated).toBe(false);
  });

  it('cancels between steps; the next run works and matches an uninterrupted run', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const err = await rejection(
      pipe.generate({
        prompt: 'a lake',
        seed: 9,
        ...small,
        steps: 5,
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 2) controller.abort();
        },
      }),
    );
    expect(err.code).toBe('cancelled');
    expect(seen).toEqual([1, 2]);
    const after = await pipe.generate({ prompt: 'a lake', seed: 9, ...small, preview: false });
    const again = await pipe.generate({ prompt: 'a lake', seed: 9, ...small, preview: false });
    expect(after.rgb).toEqual(again.rgb);
    // Already aborted before starting: cancelled at once.
    const pre = new AbortController();
    pre.abort();
    expect((await rejection(pipe.generate({ prompt: 'x', ...small, signal: pre.signal }))).code).toBe('cancelled');
  });

  it('refuses bad options with clear messages and loses nothing', async () => {
    const bad = async (opts: Parameters<Ldm3dPipeline['generate']>[0], code: string, message: RegExp) => {
      const e = await rejection(pipe.generate(opts));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    };
    await bad({ prompt: undefined as unknown as string }, 'empty-prompt', /prompt is required/);
    await bad({ prompt: 'a', steps: 0 }, 'bad-option', /steps must be a whole number/);
    await bad({ prompt: 'a', guidance: Number.NaN }, 'bad-option', /guidance/);
    await bad({ prompt: 'a', scheduler: 'lms' as 'ddim' }, 'bad-option', /scheduler must be one of ddim, pndm, euler, dpm/);
    await bad({ prompt: 'a', width: 100 }, 'bad-option', /width must be a positive multiple of 8/);
    await bad({ prompt: 'a', latents: new Float32Array(7), ...small }, 'bad-option', /latents have 7 values.*\[1, 4, 8, 16\] = 512/);
    await bad({ prompt: 'a', seed: -1, ...small }, 'bad-option', /seed/);
    // One run at a time per pipeline.
    const first = pipe.generate({ prompt: 'a', seed: 1, ...small, preview: false });
    await bad({ prompt: 'b', ...small }, 'busy', /already running/);
    await first;
    // '' is diffusers' unconditional prompt, allowed.
    const empty = await pipe.generate({ prompt: '', seed: 1, ...small, steps: 1, preview: false });
    expect(empty.tokens.prompt.count).toBe(2);
  });

  it('multiplies injected latents by init_noise_sigma (Euler: ≈ 14.6) like diffusers', async () => {
    const c = loadCases().cases.find((k) => k.scheduler === 'euler')!;
    const init = loadNpy(c.latents).data;
    let first: Float32Array | null = null;
    await pipe.generate({
      prompt: c.prompt,
      scheduler: 'euler',
      steps: c.num_inference_steps,
      guidance: c.guidance_scale,
      latents: init,
      height: c.height,
      width: c.width,
      preview: false,
      onStepLatents: (step, x) => {
        if (step === 1) first = x;
      },
    });
    const traj = loadNpy(c.latents_trajectory).data;
    expect(first).not.toBeNull();
    const want = traj.subarray(0, first!.length);
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(first![i] - want[i]));
    expect(maxErr).toBeLessThan(1e-3);
  });
});

describe('model file errors', () => {
  let dir: string;
  beforeAll(() => {
    preferLiftoff();
    dir = mkdtempSync(join(tmpdir(), 'ldm3d-models-'));
    cpSync(MODELS, dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names a missing file and the reason', async () => {
    unlinkSync(join(dir, 'unet/model.onnx_data_1'));
    const e = await rejection(Ldm3dPipeline.load(await folderSource(dir), { backend: 'wasm' }));
    expect(e.code).toBe('model-file');
    expect(e.file).toBe('unet/model.onnx_data_1');
    expect(e.message).toMatch(/^unet\/model\.onnx_data_1: missing \(.*model\.onnx_data_1 does not exist\)/);
    cpSync(join(MODELS, 'unet/model.onnx_data_1'), join(dir, 'unet/model.onnx_data_1'));
  });

  it('names a truncated file', async () => {
    const path = join(dir, 'vae_decoder/model.onnx');
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, 1000));
    const e = await rejection(Ldm3dPipeline.load(await folderSource(dir), { backend: 'wasm' }));
    expect(e.file).toBe('vae_decoder/model.onnx');
    expect(e.message).toMatch(/^vae_decoder\/model\.onnx: 1000 bytes, but manifest\.json says \d+ \(truncated/);
    writeFileSync(path, full);
  });

  it('names a corrupt graph (same size) and the reason from onnxruntime', async () => {
    const inner = await folderSource(dir);
    const source: ModelSource = {
      manifest: inner.manifest,
      async read(path) {
        const bytes = await inner.read(path);
        if (path !== 'text_encoder/model.onnx') return bytes;
        const bad = bytes.slice();
        bad.fill(0xff, 0, 64);
        return bad;
      },
    };
    const e = await rejection(Ldm3dPipeline.load(source, { backend: 'wasm' }));
    expect(e.code).toBe('model-file');
    expect(e.file).toBe('text_encoder/model.onnx');
    expect(e.message).toMatch(/^text_encoder\/model\.onnx: onnxruntime cannot load this text_encoder graph: .{10,}/);
  });

  it('names a file whose sha256 does not match the manifest (folder source with verify)', async () => {
    const path = join(dir, 'tokenizer/tokenizer_config.json');
    const orig = readFileSync(path);
    const changed = Buffer.from(orig);
    changed[changed.length - 2] ^= 0x20;
    writeFileSync(path, changed);
    try {
      const e = await rejection(Ldm3dPipeline.load(await folderSource(dir, { verify: true }), { backend: 'wasm' }));
      expect(e.file).toBe('tokenizer/tokenizer_config.json');
      expect(e.message).toMatch(/sha256 mismatch/);
    } finally {
      writeFileSync(path, orig);
    }
  });

  it('refuses a manifest for another pipeline, naming manifest.json', async () => {
    const inner = await folderSource(dir);
    const source: ModelSource = { manifest: { ...inner.manifest, pipeline: 'ldm3d-sr' }, read: (p) => inner.read(p) };
    const e = await rejection(Ldm3dPipeline.load(source, { backend: 'wasm' }));
    expect(e.message).toMatch(/^manifest\.json: pipeline is "ldm3d-sr"/);
    expect(isPipelineError(e, 'model-file')).toBe(true);
  });
});
