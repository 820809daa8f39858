/**
 * The CLI end to end on WASM: one real run (a diffusers golden case reproduced from its injected
 * latents), the files it writes, and a bad command line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCases, loadNpy } from '../pipeline/goldens';
import { imageSeamMetrics } from '../../src/panorama/seam';
import { writeNpy } from '../../src/node/npy';

const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', ...args], { encoding: 'utf8', timeout: 240_000 });

describe('npm run generate', () => {
  const out = mkdtempSync(join(tmpdir(), 'ldm3d-cli-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes rgb.png (8-bit RGB), depth16.png (16-bit grey) and metadata.json that reproduce a diffusers run', () => {
    const c = loadCases().cases.find((k) => k.name === 'ddim-1-step')!;
    const latents = new URL(`../fixtures/goldens/ldm3d-pano/${c.latents}`, import.meta.url).pathname;
    const r = run([
      '--prompt', c.prompt,
      '--steps', String(c.num_inference_steps),
      '--guidance', String(c.guidance_scale),
      '--scheduler', c.scheduler,
      '--latents', latents,
      '--backend', 'wasm',
      '--out', out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/RANDOM TEST WEIGHTS \(tiny-random\/ldm3d-pano\)/);
    expect(r.stderr).toMatch(/denoise .*1\/1/);

    const rgb = decode(readFileSync(join(out, 'rgb.png')));
    expect([rgb.width, rgb.height, rgb.channels, rgb.depth]).toEqual([128, 64, 3, 8]);
    const depth = decode(readFileSync(join(out, 'depth16.png')));
    expect([depth.width, depth.height, depth.channels, depth.depth]).toEqual([128, 64, 1, 16]);
    expect(depth.data).toBeInstanceOf(Uint16Array);

    // Same picture as diffusers from the same latents (8-bit rounding and 16-bit truncation apart).
    const goldenRgb = loadNpy(c.rgb).data;
    const goldenDepth = loadNpy(c.depth).data;
    let rgbErr = 0;
    for (let i = 0; i < goldenRgb.length; i++) rgbErr = Math.max(rgbErr, Math.abs(rgb.data[i] - goldenRgb[i] * 255));
    expect(rgbErr).toBeLessThanOrEqual(1);
    let depthErr = 0;
    for (let i = 0; i < goldenDepth.length; i++) depthErr = Math.max(depthErr, Math.abs((depth.data[i] as number) - goldenDepth[i] * 65535));
    expect(depthErr).toBeLessThanOrEqual(2);

    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'));
    expect(meta.model).toMatchObject({ id: 'tiny-random/ldm3d-pano', test_weights: true, license: 'apache-2.0', sha256_verified: true });
    expect(meta.settings).toMatchObject({
      prompt: c.prompt,
      negativePrompt: null,
      steps: 1,
      guidance: 7,
      scheduler: 'ddim',
      seed: null,
      latents: 'injected',
      height: 64,
      width: 128,
      timesteps: [1],
      // One DDIM step is not the model's 50: hand-made settings.
      preset: 'custom',
      deepCacheInterval: 1,
    });
    expect(meta.settings.latentsFile).toBe(latents);
    expect(meta.backend).toBe('wasm');
    expect(meta.tokens.prompt).toEqual({ count: c.prompt_untruncated_length, max: 77, truncated: false });
    for (const k of ['loadTotal', 'tokenize', 'textEncoder', 'denoise', 'vaeDecode', 'postprocess', 'total']) {
      expect(typeof meta.timings[k], k).toBe('number');
    }
    expect(meta.timings.load).toHaveProperty('unet');
    expect(meta.outputs.depth16).toMatchObject({ file: 'depth16.png', bitDepth: 16, channels: 1 });
    // Issue 12: the seam metric of this very picture (diffusers' float output from the same
    // latents; the CLI measures its own float output, equal up to the 2e-3 parity bound).
    const seam = imageSeamMetrics({ width: 128, height: 64, rgb: goldenRgb, depth: goldenDepth });
    expect(Object.keys(meta.seam).sort()).toEqual(['depth', 'rgb']);
    expect(Math.abs(meta.seam.rgb - seam.rgb)).toBeLessThan(0.02 * seam.rgb);
    expect(Math.abs(meta.seam.depth - seam.depth)).toBeLessThan(0.02 * seam.depth);
  }, 240_000);

  it('exits with 2 and the usage on a bad command line, before loading anything', () => {
    const r = run(['--prompt', 'x', '--scheduler', 'lms', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--scheduler must be one of ddim, pndm, euler, dpm/);
    expect(r.stderr).toMatch(/usage: npm run generate/);
    const missing = run(['--prompt', 'x']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--out DIR is required/);
    const preset = run(['--prompt', 'x', '--preset', 'fast', '--out', out]);
    expect(preset.status).toBe(2);
    expect(preset.stderr).toMatch(/--preset must be one of headset, reference, got "fast"/);
    for (const bad of ['0', '11', '2.5']) {
      const r2 = run(['--prompt', 'x', '--deepcache', bad, '--out', out]);
      expect(r2.status, bad).toBe(2);
      expect(r2.stderr).toMatch(/--deepcache must be a whole number/);
    }
    // Checked before the model loads: exit 2 with the usage, not a pipeline error seconds later.
    const steps = run(['--prompt', 'x', '--steps', '0', '--out', out]);
    expect(steps.status).toBe(2);
    expect(steps.stderr).toMatch(/--steps must be a whole number from 1 to 1000, got 0/);
    // 2^53: metadata.json would record a number JSON readers round to another seed (issue 14 item 14).
    for (const bad of ['9007199254740992', '18446744073709551615', '1e3']) {
      const seed = run(['--prompt', 'x', '--seed', bad, '--out', out]);
      expect(seed.status, bad).toBe(2);
      expect(seed.stderr).toMatch(/--seed must be a whole number from 0 to 9007199254740991 \(2\^53 − 1\)/);
    }
    const width = run(['--prompt', 'x', '--width', '100', '--out', out]);
    expect(width.status).toBe(2);
    expect(width.stderr).toMatch(/--width must be a positive multiple of 8, got 100/);
  }, 60_000);

  it('refuses latents that are not a 2:1 panorama (or do not match --width/--height), naming the expected shape', () => {
    const square = join(out, 'square.npy');
    writeFileSync(square, writeNpy(new Float32Array(4 * 4 * 4), [1, 4, 4, 4]));
    const r = run(['--prompt', 'x', '--latents', square, '--backend', 'wasm', '--out', join(out, 'square')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/shape \(1, 4, 4, 4\) is not a 2:1 panorama; expected \(1, 4, H\/8, 2·H\/8\)/);
    expect(existsSync(join(out, 'square', 'rgb.png'))).toBe(false);
    const mismatch = run(['--prompt', 'x', '--latents', square, '--width', '64', '--height', '32', '--backend', 'wasm', '--out', join(out, 'mismatch')]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/does not match --width 64 --height 32; expected \(1, 4, 4, 8\)/);
  }, 120_000);

  it('records the seed in metadata.json as a JSON number, exactly, up to the largest allowed (2^53 − 1)', () => {
    const dir = join(out, 'seed');
    const r = run(['--prompt', 'x', '--seed', '9007199254740991', '--steps', '1', '--backend', 'wasm', '--no-preview', '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'metadata.json'), 'utf8');
    // A number in the file, not a string: no quotes around it.
    expect(text).toMatch(/"seed": 9007199254740991,/);
    const meta = JSON.parse(text);
    expect(meta.settings.seed).toBe(Number.MAX_SAFE_INTEGER);
    expect(meta.settings.latents).toBe('seed');
  }, 240_000);

  it('--help documents --preset and --deepcache', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--preset NAME +headset \| reference: headset = DPM-Solver\+\+ 2M, 20 steps/);
    expect(r.stdout).toMatch(/--deepcache N +DeepCache: full UNet every Nth step.*1 = off/s);
  }, 60_000);

  it('--preset headset runs DPM-Solver++ 2M for 20 steps and records the preset; --deepcache needs the graphs', () => {
    const dir = join(out, 'headset');
    const r = run(['--prompt', 'a harbour', '--preset', 'headset', '--seed', '7', '--backend', 'wasm', '--no-preview', '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    // The preset's feature cache is off with a notice: the tiny export has no DeepCache graphs.
    expect(r.stderr).toMatch(/notice: the feature cache \(DeepCache\) is off: this export has no DeepCache graphs/);
    expect(r.stderr).toMatch(/preset: headset \(dpm, 20 steps, DeepCache off\)/);
    expect(r.stderr).toMatch(/denoise .*20\/20/);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    expect(meta.settings).toMatchObject({ preset: 'headset', scheduler: 'dpm', steps: 20, deepCacheInterval: 1, seed: 7 });
    expect(meta.settings.timesteps).toHaveLength(20);
    // The tiny export has no DeepCache graphs: the pipeline refuses, naming the fix.
    const cached = run(['--prompt', 'a harbour', '--preset', 'headset', '--deepcache', '2', '--backend', 'wasm', '--out', join(out, 'cached')]);
    expect(cached.status).toBe(1);
    expect(cached.stderr).toMatch(/\[bad-option\] deepCacheInterval 2 needs the DeepCache graphs/);
  }, 240_000);
});
