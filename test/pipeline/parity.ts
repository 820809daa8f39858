/**
 * Runs every diffusers golden case through Ldm3dPipeline and checks RGB and depth (max abs ≤ 2e-3 on
 * [0, 1], the bar), the latents after every step, and the token counts. Shared by the
 * WASM and the WebGPU test files.
 */
import { expect } from 'vitest';
import { Ldm3dPipeline } from '../../src/pipeline/pipeline';
import { loadCases, loadNpy, maxAbsDiff, type GoldenCase, type GoldenSet } from './goldens';

export const TOLERANCE = 2e-3;

export interface CaseErrors {
  name: string;
  rgb: number;
  depth: number;
  latents: number;
}

/**
 * `trajectory`: also compare the latents after every step (a read-back per step; on by default,
 * off for the slow WebGPU-on-SwiftShader runs, where latents-gpu.test.ts covers the step maths).
 */
export async function runCase(pipe: Ldm3dPipeline, c: GoldenCase, trajectoryCheck = true, set: GoldenSet = 'ldm3d-pano'): Promise<CaseErrors> {
  const latents = loadNpy(c.latents, set).data;
  const trajectory = loadNpy(c.latents_trajectory, set);
  const stepSize = trajectory.shape.slice(1).reduce((a, b) => a * b, 1);
  let latentErr = trajectoryCheck ? 0 : Number.NaN;
  const out = await pipe.generate({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.num_inference_steps,
    guidance: c.guidance_scale,
    scheduler: c.scheduler,
    latents,
    height: c.height,
    width: c.width,
    onStepLatents: !trajectoryCheck ? undefined : (step, x) => {
      const want = trajectory.data.subarray((step - 1) * stepSize, step * stepSize);
      // Relative to the trajectory's scale: Euler's latents start at σ_max ≈ 14.6.
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      latentErr = Math.max(latentErr, maxAbsDiff(x, want) / scale);
    },
  });
  expect(out.settings.timesteps, `${c.name} timesteps`).toEqual(c.timesteps.map(Math.fround));
  expect(out.tokens.prompt.count, `${c.name} prompt tokens`).toBe(c.prompt_untruncated_length);
  expect(out.tokens.prompt.truncated).toBe(c.prompt_untruncated_length > 77);
  return {
    name: c.name,
    rgb: maxAbsDiff(out.rgbFloat, loadNpy(c.rgb, set).data),
    depth: maxAbsDiff(out.depth, loadNpy(c.depth, set).data),
    latents: latentErr,
  };
}

export async function runAllCases(pipe: Ldm3dPipeline): Promise<CaseErrors[]> {
  const results: CaseErrors[] = [];
  for (const c of loadCases().cases) results.push(await runCase(pipe, c));
  return results;
}
