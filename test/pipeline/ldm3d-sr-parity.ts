/**
 * The LDM3D-SR goldens (models/goldens_sr.py: diffusers' community upscaler on the tiny weights, with
 * injected latents and injected VAE-encoder noise) and one run of a case through Ldm3dSrPipeline.
 * Shared by the WASM and WebGPU test files.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { Ldm3dSrPipeline } from '../../src/pipeline/ldm3d-sr';
import { readNpy } from '../../src/pipeline/npy';
import { maxAbsDiff, parsePythonJson } from './goldens';

export const SR_MODELS = 'models/tiny/ldm3d-sr';
export const TOLERANCE = 2e-3;
const root = new URL('../fixtures/goldens/ldm3d-sr/', import.meta.url);

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

export function loadSrCases(): SrGoldenCase[] {
  return parsePythonJson<{ cases: SrGoldenCase[] }>(readFileSync(new URL('cases.json', root), 'utf8')).cases;
}

export function loadSrNpy(file: string): { data: Float32Array; shape: number[] } {
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

export async function runSrCase(pipe: Ldm3dSrPipeline, c: SrGoldenCase): Promise<SrCaseErrors> {
  const trajectory = loadSrNpy(c.latents_trajectory);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let latentErr = 0;
  let lowErr = Infinity;
  const wantLow = loadSrNpy(c.low_res_latents).data;
  const out = await pipe.upscale({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    noiseLevel: c.noise_level,
    rgb: loadSrNpy(c.input_rgb).data,
    depth: loadSrNpy(c.input_depth).data,
    height: c.height,
    width: c.width,
    latents: loadSrNpy(c.latents).data,
    encoderNoise: loadSrNpy(c.encoder_noise).data,
    onLowResLatents: (x) => {
      lowErr = maxAbsDiff(x, wantLow);
    },
    onStepLatents: (step, x) => {
      const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
      latentErr = Math.max(latentErr, maxAbsDiff(x, want));
    },
  });
  expect(out.settings.timesteps, `${c.name} timesteps`).toEqual(c.timesteps.map(Math.fround));
  return {
    name: c.name,
    lowRes: lowErr,
    latents: latentErr,
    rgb: maxAbsDiff(out.rgbFloat, loadSrNpy(c.rgb).data),
    depth: maxAbsDiff(out.depth, loadSrNpy(c.depth).data),
  };
}
