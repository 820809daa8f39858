/**
 * The LDM3D-SR goldens (models/goldens_sr.py: diffusers' community upscaler on the tiny weights, with
 * injected latents and injected VAE-encoder noise) and one run of a case through Ldm3dSrPipeline,
 * without vitest: ldm3d-sr-parity.ts adds the test assertions; bench/parity-webgpu.ts runs the same
 * cases on the GPU machine.
 */
import { readFileSync } from 'node:fs';
import type { Ldm3dSrPipeline } from '../../src/pipeline/sr/pipeline';
import { readNpy } from '../../src/node/npy';
import { GOLDENS_ROOT, maxAbsDiff, parsePythonJson } from './goldens';

/** The SR goldens next to this file; a bundled copy passes another root (see GOLDENS_ROOT). */
export const SR_GOLDENS_ROOT = new URL('ldm3d-sr/', GOLDENS_ROOT);

export interface SrGoldenCase {
  name: string;
  prompt: string;
  negative_prompt: string | null;
  num_inference_steps: number;
  guidance_scale: number;
  noise_level: number;
  timesteps: number[];
  height: number;
  width: number;
  input_rgb: string;
  input_depth: string;
  latents: string;
  encoder_noise: string;
  low_res_latents: string;
  latents_trajectory: string;
  rgb: string;
  depth: string;
}

export function loadSrCases(root: URL = SR_GOLDENS_ROOT): SrGoldenCase[] {
  return parsePythonJson<{ cases: SrGoldenCase[] }>(readFileSync(new URL('cases.json', root), 'utf8')).cases;
}

export function loadSrNpy(file: string, root: URL = SR_GOLDENS_ROOT): { data: Float32Array; shape: number[] } {
  const a = readNpy(new Uint8Array(readFileSync(new URL(file, root))));
  if (!(a.data instanceof Float32Array)) throw new Error(`${file}: expected float32, got ${a.descr}`);
  return { data: a.data, shape: a.shape };
}

export interface SrCaseErrors {
  name: string;
  lowRes: number;
  latents: number;
  rgb: number;
  depth: number;
}

export interface SrGoldenCaseRun {
  readonly errors: SrCaseErrors;
  readonly timesteps: readonly number[];
  readonly expectedTimesteps: readonly number[];
}

export async function runSrGoldenCase(pipe: Ldm3dSrPipeline, c: SrGoldenCase, root: URL = SR_GOLDENS_ROOT): Promise<SrGoldenCaseRun> {
  const load = (file: string): { data: Float32Array; shape: number[] } => loadSrNpy(file, root);
  const trajectory = load(c.latents_trajectory);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let latentErr = 0;
  let lowErr = Infinity;
  const wantLow = load(c.low_res_latents).data;
  const out = await pipe.upscale({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    noiseLevel: c.noise_level,
    rgb: load(c.input_rgb).data,
    depth: load(c.input_depth).data,
    height: c.height,
    width: c.width,
    latents: load(c.latents).data,
    encoderNoise: load(c.encoder_noise).data,
    onLowResLatents: (x) => {
      lowErr = maxAbsDiff(x, wantLow);
    },
    onStepLatents: (step, x) => {
      const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
      latentErr = Math.max(latentErr, maxAbsDiff(x, want));
    },
  });
  return {
    errors: {
      name: c.name,
      lowRes: lowErr,
      latents: latentErr,
      rgb: maxAbsDiff(out.rgbFloat, load(c.rgb).data),
      depth: maxAbsDiff(out.depth, load(c.depth).data),
    },
    timesteps: out.settings.timesteps,
    expectedTimesteps: c.timesteps.map(Math.fround),
  };
}
